"""Vectorized statistics of bit-packed masks: the hot path of every downstream model.

All functions take a :class:`~sod.workload.mask.BitMask` (or a 2-D boolean array) and
never unpack more than ``_CHUNK_BITS`` bits at a time, so a 103 M-element VGG-16 ``fc6``
mask costs tens of MB of scratch, not a GB.

Conventions (sod's GEMM convention, ``W`` is k × n, ``A`` is m × k):

* :func:`row_counts` / :func:`col_counts` count non-zeros per row / column of the 2-D
  mask as stored (for a weight mask a *column* is one output channel).
* :func:`tile_counts` counts non-zeros of every ``tile_rows × tile_cols`` tile, edge tiles
  included (they are smaller), returned as a ``ceil(rows/tr) × ceil(cols/tc)`` int64 array.
* :func:`pattern_stats` reports the statistics of REFERENCES.md §7 for a weight mask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sod.errors import SodError
from sod.workload.mask import BitMask, TiledMask

# Unpack at most this many bits at once (64 M bits = 64 MB of uint8 scratch).
_CHUNK_BITS = 1 << 26
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def as_bitmask(mask: BitMask | np.ndarray) -> BitMask:
    """Accept a BitMask or a 2-D boolean/numeric array (non-zero = True); a mask that
    repeats a period (TiledMask, batch as a repeat) is expanded to every row."""
    if isinstance(mask, TiledMask):
        return mask.expanded()
    if isinstance(mask, BitMask):
        return mask
    return BitMask.from_array(np.asarray(mask))


def _row_chunks(mask: BitMask, align: int = 1) -> range:
    """Row starts of chunks of about ``_CHUNK_BITS`` bits, multiples of ``align`` rows."""
    rows, cols = mask.shape
    per = max(1, _CHUNK_BITS // max(cols, 1))
    per = max(align, per // align * align)
    return range(0, rows, per)


def row_counts(mask: BitMask | np.ndarray) -> np.ndarray:
    """Non-zeros per row (int64, length rows). Works on the packed bytes directly."""
    mask = as_bitmask(mask)
    return _POPCOUNT[mask.packed].sum(axis=1, dtype=np.int64)


def col_counts(mask: BitMask | np.ndarray) -> np.ndarray:
    """Non-zeros per column (int64, length cols)."""
    mask = as_bitmask(mask)
    rows, cols = mask.shape
    out = np.zeros(cols, dtype=np.int64)
    step = _row_chunks(mask).step
    for r0 in range(0, rows, step):
        bits = np.unpackbits(mask.packed[r0 : r0 + step], axis=1, count=cols)
        out += bits.sum(axis=0, dtype=np.int64)
    return out


def tile_counts(mask: BitMask | np.ndarray, tile_rows: int, tile_cols: int) -> np.ndarray:
    """Non-zeros of every ``tile_rows × tile_cols`` tile (edge tiles are partial).

    When ``tile_cols`` is a multiple of 8 the count runs on packed bytes (popcount table),
    otherwise on unpacked chunks; both are exact.
    """
    mask = as_bitmask(mask)
    if tile_rows <= 0 or tile_cols <= 0:
        raise SodError(f"tile shape must be positive, got {tile_rows}x{tile_cols}")
    rows, cols = mask.shape
    n_tr, n_tc = -(-rows // tile_rows), -(-cols // tile_cols)
    out = np.empty((n_tr, n_tc), dtype=np.int64)
    chunks = _row_chunks(mask, align=tile_rows)
    for r0 in chunks:
        block = mask.packed[r0 : r0 + chunks.step]
        if tile_cols % 8 == 0:
            per_row = _POPCOUNT[block]  # counts per byte; padding bits are zero
            width = tile_cols // 8
        else:
            per_row = np.unpackbits(block, axis=1, count=cols)
            width = tile_cols
        nr, nc = per_row.shape
        pad_r, pad_c = (-nr) % tile_rows, (-nc) % width
        if pad_r or pad_c:
            per_row = np.pad(per_row, ((0, pad_r), (0, pad_c)))
        t = per_row.reshape(-1, tile_rows, per_row.shape[1] // width, width)
        sums = t.sum(axis=(1, 3), dtype=np.int64)
        t0 = r0 // tile_rows
        out[t0 : t0 + sums.shape[0]] = sums[:, :n_tc]
    return out


def zero_runs(mask: BitMask | np.ndarray, axis: int = 0) -> np.ndarray:
    """Lengths of every maximal run of zeros along ``axis`` (runs never cross lines).

    ``axis=0`` walks down each column: for a weight mask that is along the reduction
    dimension of one output channel (torch's flattened (in_channel, kh, kw) order).
    """
    mask = as_bitmask(mask)
    rows, cols = mask.shape
    runs: list[np.ndarray] = []
    lines_per_chunk = max(1, _CHUNK_BITS // max(rows if axis == 0 else cols, 1))
    n_lines = cols if axis == 0 else rows
    for l0 in range(0, n_lines, lines_per_chunk):
        if axis == 0:
            bits = mask_slice_cols(mask, l0, min(n_lines, l0 + lines_per_chunk)).T
        else:
            bits = np.unpackbits(mask.packed[l0 : l0 + lines_per_chunk], axis=1, count=cols)
        # A non-zero sentinel at both ends of every line: zero runs are the gaps between
        # consecutive non-zeros; the (end, next start) sentinel pair has gap 0 and drops.
        padded = np.ones((bits.shape[0], bits.shape[1] + 2), dtype=bool)
        padded[:, 1:-1] = bits
        gaps = np.diff(np.flatnonzero(padded)) - 1
        runs.append(gaps[gaps > 0])
    return np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)


def mask_slice_cols(mask: BitMask, c0: int, c1: int) -> np.ndarray:
    """Unpacked uint8 columns ``c0:c1`` of a mask (all rows)."""
    b0, b1 = c0 // 8, -(-c1 // 8)
    bits = np.unpackbits(mask.packed[:, b0:b1], axis=1)
    return bits[:, c0 - 8 * b0 : c1 - 8 * b0]


@dataclass(frozen=True)
class PatternStats:
    """Pattern statistics of one weight mask (k × n, one group or repeat).

    ``out_cv``: coefficient of variation (std / mean) of non-zeros per output channel
    (a column of W, a row of torch's weight) — the issue's "row CV".
    ``in_cv``: CV of non-zeros per reduction index (a row of W) — the "column CV".
    ``empty_kernel_frac``: fraction of (output, input-channel) kernels with no non-zero
    (NaN when the kernel area is 1).
    ``zero_run_p99``: 99th percentile length of zero runs along the reduction dimension.
    """

    density: float
    out_cv: float
    in_cv: float
    empty_kernel_frac: float
    zero_run_p99: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _cv(counts: np.ndarray) -> float:
    mean = counts.mean() if counts.size else 0.0
    return float(counts.std() / mean) if mean > 0 else float("nan")


def empty_kernel_fraction(mask: BitMask | np.ndarray, kernel_area: int) -> float:
    """Fraction of kernels (``kernel_area`` consecutive reduction indices of one output
    channel, i.e. one (out, in) kh×kw kernel under im2col order) that are all zero."""
    mask = as_bitmask(mask)
    k = mask.shape[0]
    if kernel_area <= 1 or k % kernel_area:
        return float("nan")
    counts = tile_counts(mask, kernel_area, 1)
    return float(np.mean(counts == 0))


def pattern_stats(mask: BitMask | np.ndarray, kernel_area: int = 1) -> PatternStats:
    """Statistics of REFERENCES.md §7 for a k × n weight mask.

    ``kernel_area`` is kh × kw for a convolution (its k is in_channels × kh × kw in
    (in_channel, kh, kw) order), 1 for a linear layer.
    """
    mask = as_bitmask(mask)
    out_c = col_counts(mask)
    in_c = row_counts(mask)
    runs = zero_runs(mask, axis=0)
    return PatternStats(
        density=mask.density,
        out_cv=_cv(out_c),
        in_cv=_cv(in_c),
        empty_kernel_frac=empty_kernel_fraction(mask, kernel_area),
        zero_run_p99=float(np.percentile(runs, 99)) if runs.size else 0.0,
    )
