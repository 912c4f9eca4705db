"""Bit-packed non-zero masks of 2-D operands, and the one rule for masks of repeats.

A :class:`BitMask` stores a boolean matrix with ``numpy.packbits`` along its last axis
(8x smaller than ``bool``), plus its shape. It is the only form a
:class:`~sod.workload.gemm.Gemm` carries for its weight (k × n) and activation (m × k)
operands. Statistics helpers that work on it (row/column/tile counts) live in
:mod:`sod.sparsity.stats`.

**Masks of a GEMM repeated ``repeat`` times** (one rule, used everywhere): an operand
mask of ``rows × cols`` is either *shared* by every repeat (``rows`` rows: stacked
transformer blocks, attention heads carry one representative pattern) or *stacked*, one
per repeat (``repeat · rows`` rows, repeat r = rows ``r·rows … (r+1)·rows − 1``: the
groups of a grouped convolution). :func:`as_operand_mask` checks and packs a mask against
that rule; :func:`stack_mask` unpacks it to ``(groups, rows, cols)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sod.errors import SodError, WorkloadError

if TYPE_CHECKING:
    from sod.workload.gemm import ConvShape


@dataclass(frozen=True, eq=False)
class BitMask:
    """A 2-D boolean non-zero mask, bit-packed along axis 1."""

    packed: np.ndarray  # uint8, shape (rows, ceil(cols / 8))
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        rows, cols = self.shape
        if self.packed.dtype != np.uint8 or self.packed.shape != (rows, (cols + 7) // 8):
            raise SodError(
                f"bit mask of shape {self.shape} needs packed uint8 of shape "
                f"{(rows, (cols + 7) // 8)}, got {self.packed.dtype} {self.packed.shape}"
            )

    @classmethod
    def from_bool(cls, mask: np.ndarray) -> BitMask:
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise SodError(f"a mask must be 2-D, got shape {mask.shape}")
        return cls(np.packbits(mask.astype(bool), axis=1), (int(mask.shape[0]), int(mask.shape[1])))

    @classmethod
    def from_array(cls, values: np.ndarray) -> BitMask:
        """The mask of non-zero entries of a 2-D array."""
        return cls.from_bool(np.asarray(values) != 0)

    def to_bool(self) -> np.ndarray:
        # unpackbits yields 0/1 bytes: viewing them as bool is exact and saves a copy.
        return np.unpackbits(self.packed, axis=1, count=self.shape[1]).view(bool)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nnz(self) -> int:
        # Padding bits are zero, so counting packed bytes is exact; whole 64-bit words
        # are counted as words (about 3x faster than byte by byte).
        flat = np.ascontiguousarray(self.packed).reshape(-1)
        whole = flat.size // 8 * 8
        words = flat[:whole].view(np.uint64)
        total = int(np.bitwise_count(words).sum(dtype=np.int64))
        return total + int(np.bitwise_count(flat[whole:]).sum(dtype=np.int64))

    @property
    def density(self) -> float:
        return self.nnz / self.size if self.size else 0.0

    @property
    def T(self) -> BitMask:
        return BitMask.from_bool(self.to_bool().T)


@dataclass(frozen=True, eq=False)
class TiledMask(BitMask):
    """A mask whose rows repeat with a period: ``batch as a repeat`` (docs/large-batch.md).

    ``packed`` holds only the period: ``groups · period_rows`` rows (group g's period =
    rows ``g·period_rows … (g+1)·period_rows − 1``); ``shape`` is the full mask's,
    ``groups · rows`` rows, where row ``t`` of group g is period row ``t mod period_rows``
    of group g (the last period may be cut short: ``rows`` need not be a multiple of
    ``period_rows``). Activation masks of a batch of B images drawn for S < B distinct
    images are such masks (image i uses image i mod S's pattern). It is a
    :class:`BitMask` everywhere (shape, nnz and density are the full mask's; ``to_bool``
    expands it, a correct but memory-hungry fallback); the models that know it
    (:func:`sod.models.operands.operand_masks` with ``tiled=True``) work on the period.
    """

    period_rows: int = 0
    groups: int = 1

    def __post_init__(self) -> None:
        rows, cols = self.shape
        g, p = self.groups, self.period_rows
        if g <= 0 or rows % g or not 0 < p < rows // g:
            raise SodError(
                f"tiled mask of shape {self.shape}: period of {p} rows in {g} group(s) must "
                "divide into the rows and be shorter than a group"
            )
        want = (g * p, (cols + 7) // 8)
        if self.packed.dtype != np.uint8 or self.packed.shape != want:
            raise SodError(
                f"tiled mask needs packed uint8 of shape {want}, got "
                f"{self.packed.dtype} {self.packed.shape}"
            )

    @property
    def rows_per_group(self) -> int:
        return self.shape[0] // self.groups

    @property
    def period(self) -> BitMask:
        """The period alone: a ``(groups · period_rows) × cols`` BitMask."""
        return BitMask(self.packed, (self.groups * self.period_rows, self.shape[1]))

    @property
    def tiles(self) -> tuple[int, int]:
        """(whole periods, rows of the last partial period) per group."""
        q, r = divmod(self.rows_per_group, self.period_rows)
        return q, r

    def row_weights(self) -> np.ndarray:
        """How many full-mask rows every period row stands for (int64, ``period_rows``)."""
        q, r = self.tiles
        return q + (np.arange(self.period_rows) < r).astype(np.int64)

    def expanded(self) -> BitMask:
        """The full mask as a plain BitMask (``rows`` packed rows per group)."""
        g, p, m = self.groups, self.period_rows, self.rows_per_group
        idx = np.arange(m) % p
        full = self.packed.reshape(g, p, -1)[:, idx]
        return BitMask(full.reshape(g * m, -1), self.shape)

    def to_bool(self) -> np.ndarray:
        return self.expanded().to_bool()

    @property
    def nnz(self) -> int:
        per_row = np.bitwise_count(self.packed).sum(axis=1, dtype=np.int64)
        return int((per_row.reshape(self.groups, -1) * self.row_weights()).sum())

    @property
    def T(self) -> BitMask:
        return self.expanded().T


def tile_rows(period: BitMask, rows: int, groups: int = 1) -> BitMask:
    """``period`` (``groups · p`` rows) repeated down to ``rows`` rows per group: a
    :class:`TiledMask`, or ``period`` itself when ``rows == p``."""
    p = period.shape[0] // groups
    if p * groups != period.shape[0] or rows < p:
        raise SodError(f"cannot tile a period of {period.shape[0]} rows to {rows} per group")
    if rows == p:
        return period
    return TiledMask(period.packed, (groups * rows, period.shape[1]), p, groups)


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "a scalar"


def _expected(rows: int, cols: int, repeat: int) -> str:
    shared = _dims((rows, cols))
    if repeat == 1:
        return shared
    return f"{shared} (shared) or {_dims((repeat * rows, cols))} (one per repeat)"


def as_operand_mask(
    mask: BitMask | np.ndarray, rows: int, cols: int, repeat: int = 1, what: str = "mask"
) -> BitMask:
    """``mask`` as a :class:`BitMask` of a ``rows × cols`` operand, shared by all repeats or
    stacked one per repeat (module docstring); raises a one-line
    :class:`~sod.errors.WorkloadError` naming ``what`` otherwise.

    A numpy array is packed: 2-D ``(rows or repeat·rows) × cols`` or 3-D
    ``(repeat, rows, cols)``, boolean or values (non-zero = kept). A BitMask is returned
    as is (no copy).
    """
    if not isinstance(mask, BitMask):
        arr = np.asarray(mask)
        if arr.ndim == 3:
            arr = arr.reshape(-1, arr.shape[-1])
        if arr.ndim != 2:
            raise WorkloadError(
                f"{what} has shape {_dims(arr.shape)}, expected {_expected(rows, cols, repeat)}"
            )
        mask = BitMask.from_bool(arr if arr.dtype == bool else arr != 0)
    if mask.shape != (rows, cols) and mask.shape != (repeat * rows, cols):
        raise WorkloadError(
            f"{what} has shape {_dims(mask.shape)}, expected {_expected(rows, cols, repeat)}"
        )
    return mask


def stack_mask(
    mask: BitMask | np.ndarray, groups: int, rows: int, cols: int, what: str = "mask"
) -> np.ndarray:
    """A shared or stacked mask (module docstring) as a ``(groups, rows, cols)`` bool array.

    A shared mask is broadcast over the groups (a read-only view, no copy); a stacked one
    (``(groups·rows) × cols`` or a ``(groups, rows, cols)`` array) is reshaped. A BitMask
    is unpacked once; a non-boolean array counts its non-zeros.
    """
    dense = mask.to_bool() if isinstance(mask, BitMask) else np.asarray(mask)
    if dense.dtype != bool:
        dense = dense != 0
    if dense.shape == (groups * rows, cols) or dense.shape == (groups, rows, cols):
        return dense.reshape(groups, rows, cols)
    if dense.shape == (rows, cols):
        return np.broadcast_to(dense, (groups, rows, cols)) if groups > 1 else dense[None]
    raise WorkloadError(
        f"{what} has shape {_dims(dense.shape)}, expected {_expected(rows, cols, groups)}"
    )


def im2col_mask(fmap: np.ndarray, conv: ConvShape) -> BitMask:
    """The A operand's non-zero mask of a convolution, bit-packed.

    ``fmap`` is a boolean (batch, in_channels, in_h, in_w) input mask. Returns a
    ``(groups · m) × k`` BitMask, m = batch × out_h × out_w, k = (in_channels / groups) ×
    kh × kw in (channel, kh, kw) order; group g's rows are ``g·m … (g+1)·m − 1``.
    Processed one image at a time to bound memory.
    """
    fmap = np.asarray(fmap, dtype=bool)
    if fmap.ndim != 4 or fmap.shape[1:] != (conv.in_channels, conv.in_h, conv.in_w):
        raise SodError(
            f"feature-map mask of shape {fmap.shape} does not match the convolution's "
            f"input (batch, {conv.in_channels}, {conv.in_h}, {conv.in_w})"
        )
    b, c = fmap.shape[:2]
    g = conv.groups
    cg = c // g
    oh, ow = conv.out_h, conv.out_w
    kh, kw = conv.kernel_h, conv.kernel_w
    k = cg * kh * kw
    m_img = oh * ow
    packed = np.empty((g, b * m_img, (k + 7) // 8), dtype=np.uint8)
    span_h, span_w = conv.dilation_h * (kh - 1) + 1, conv.dilation_w * (kw - 1) + 1
    for i in range(b):
        img = np.pad(fmap[i], ((0, 0), (conv.pad_h, conv.pad_h), (conv.pad_w, conv.pad_w)))
        win = sliding_window_view(img, (span_h, span_w), axis=(1, 2))
        win = win[
            :,
            : (oh - 1) * conv.stride_h + 1 : conv.stride_h,
            : (ow - 1) * conv.stride_w + 1 : conv.stride_w,
            :: conv.dilation_h,
            :: conv.dilation_w,
        ]
        # (c, oh, ow, kh, kw) -> (g, oh, ow, cg, kh, kw) -> (g, m_img, k)
        cols = win.reshape(g, cg, oh, ow, kh, kw).transpose(0, 2, 3, 1, 4, 5)
        cols = cols.reshape(g, m_img, k)
        packed[:, i * m_img : (i + 1) * m_img] = np.packbits(cols, axis=2)
    return BitMask(packed.reshape(g * b * m_img, -1), (g * b * m_img, k))
