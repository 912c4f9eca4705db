"""Bit-packed fibers of bool masks: the rows of A and the columns of W (k, n) as
``(fibers, ceil(k / 8))`` uint8, one fiber per row, padded with zero bits (``np.packbits``
order). The pair kernels of the sparse models (:func:`sod.models.sparten.pair_cycles`,
:func:`sod.models.index_match.pair_steps`) work on these: a GEMM and its transpose
(:func:`sod.models.accelerators.transposed`) give the same two fiber sets swapped, so the
kernels' memos serve both orientations, and a transposed operand passed as a view is
packed without a transposed bool copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sod.models.sparse_masks import col_counts


def _flip_anti_diagonal(x: np.ndarray) -> np.ndarray:
    """Transpose every 8 × 8 bit block held in a little-endian uint64 (byte r = row r,
    packbits order: bit 7 = column 0) so that byte c holds column c: three delta swaps
    about the anti-diagonal (the chess-programming ``flipAntiDiag``)."""
    u = np.uint64
    t = x ^ (x << u(36))
    x = x ^ (u(0xF0F0F0F00F0F0F0F) & (t ^ (x >> u(36))))
    t = u(0xCCCC0000CCCC0000) & (x ^ (x << u(18)))
    x = x ^ t ^ (t >> u(18))
    t = u(0xAA00AA00AA00AA00) & (x ^ (x << u(9)))
    return x ^ t ^ (t >> u(9))


def _packed_columns(mask: np.ndarray, block_bytes: int = 64) -> np.ndarray:
    """The columns of a (k, n) bool mask as bit-packed fibers (n, ceil(k / 8)): the rows
    are packed (cheap), then transposed in the packed domain, 8 × 8 bit blocks at a time,
    ``8 · block_bytes`` columns per step (never a transposed bool copy of a large FC
    weight; bounded scratch)."""
    k, n = mask.shape
    kb = (k + 7) // 8
    out = np.empty((n, kb), np.uint8)
    for lo in range(0, n, 8 * block_bytes):
        packed = np.packbits(mask[:, lo : lo + 8 * block_bytes], axis=1)  # (k, nb)
        nb = packed.shape[1]
        if k % 8:
            packed = np.concatenate([packed, np.zeros((kb * 8 - k, nb), np.uint8)])
        # Block (i, j) = bytes packed[8i : 8i + 8, j] as one little-endian word.
        blocks = packed.reshape(kb, 8, nb).transpose(0, 2, 1).copy().view("<u8")[..., 0]
        flipped = np.ascontiguousarray(_flip_anti_diagonal(blocks).astype("<u8", copy=False).T)
        cols = flipped.view(np.uint8).reshape(nb, kb, 8).transpose(0, 2, 1).reshape(nb * 8, kb)
        out[lo : lo + 8 * block_bytes] = cols[: min(n - lo, 8 * nb)]
    return out


def row_fibers(x: np.ndarray) -> np.ndarray:
    """The rows of a 2-D bool mask, bit-packed: ``np.packbits(x, axis=1)``, computed in the
    packed domain when ``x`` is the transposed view of a C-contiguous array (no bool
    copy)."""
    if not x.flags.c_contiguous and x.T.flags.c_contiguous:
        return _packed_columns(x.T)
    return np.packbits(x, axis=1)


def col_fibers(w: np.ndarray) -> np.ndarray:
    """The columns of a 2-D bool mask, bit-packed: ``row_fibers(w.T)``."""
    return row_fibers(w.T)


def _unpacked_span(fibers: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Positions ``lo … hi − 1`` of every bit-packed fiber, as 0/1 bytes (fibers, hi − lo)."""
    bits = np.unpackbits(fibers[:, lo // 8 : -(-hi // 8)], axis=1)
    return bits[:, lo % 8 : lo % 8 + hi - lo]


def packed_chunk_products(
    fa: np.ndarray, fw: np.ndarray, k: int, chunk: int, budget_bytes: int = 1 << 22
) -> Iterator[np.ndarray]:
    """Yield ``(b, m, n)`` float32 blocks of per-chunk match counts, ``b`` chunks at a
    time: ``|A[r, chunk] ∧ W[chunk, f]|`` from the bit-packed fibers ``fa`` (m, ·) of A's
    rows and ``fw`` (n, ·) of W's columns, ``k`` positions each (as
    :func:`sod.models.sparse_masks.iter_chunk_products` on bool masks, unpacking only one
    block of chunks at a time). float32 matmul (BLAS) is exact: counts never exceed
    ``chunk`` < 2**24."""
    m, n = fa.shape[0], fw.shape[0]
    nch = -(-k // chunk)
    per = max(1, budget_bytes // max(1, 4 * (m * n + (m + n) * chunk)))
    for start in range(0, nch, per):
        stop = min(nch, start + per)
        lo, hi = start * chunk, min(k, stop * chunk)
        span = (stop - start) * chunk
        ab = np.zeros((m, span), np.float32)
        ab[:, : hi - lo] = _unpacked_span(fa, lo, hi)
        wb = np.zeros((span, n), np.float32)
        wb[: hi - lo] = _unpacked_span(fw, lo, hi).T
        yield np.matmul(
            ab.reshape(m, stop - start, chunk).transpose(1, 0, 2),
            wb.reshape(stop - start, chunk, n),
        )


def packed_row_counts(packed: np.ndarray, rows: int, groups: int) -> np.ndarray | None:
    """(G, rows) non-zeros of every row of a bit-packed shared (rows × ·) or stacked
    ((G·rows) × ·) mask, as :func:`sod.workload.mask.stack_mask` reads it; None for
    another shape."""
    counts = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    if counts.size == groups * rows:
        return counts.reshape(groups, rows)
    return np.broadcast_to(counts, (groups, rows)) if counts.size == rows else None


def packed_col_counts(
    packed: np.ndarray, rows: int, cols: int, groups: int, block: int = 1 << 22
) -> np.ndarray | None:
    """(G, cols) non-zeros of every column of each group's ``rows × cols`` block of a
    bit-packed shared or stacked mask (as :func:`packed_row_counts`), unpacked a block
    of rows at a time."""
    total = packed.shape[0]
    if total not in (rows, groups * rows):
        return None
    out = np.zeros((total // rows, cols), np.int64)
    step = max(1, block // max(cols, 1))
    for lo in range(0, total, step):
        hi = min(total, lo + step)
        bits = np.unpackbits(packed[lo:hi], axis=1, count=cols)
        if lo // rows == (hi - 1) // rows:  # one group's rows: byte sums (no int64 cast)
            out[lo // rows] += col_counts(bits.view(bool))
            continue
        # Rows of one group are contiguous: sum each group's segment of this block.
        first = np.arange(lo // rows, -(-hi // rows)) * rows
        starts = np.maximum(first, lo) - lo
        out[first // rows] += np.add.reduceat(bits, starts, axis=0, dtype=np.int64)
    return np.broadcast_to(out, (groups, cols)) if total == rows else out
