"""Operand masks for the sparse-accelerator models (:mod:`sod.models.scnn`,
:mod:`sod.models.sparten`, :mod:`sod.models.index_match`).

The models take explicit non-zero masks in sod's GEMM convention (normally the arrays of
:func:`sod.models.operands.operand_masks`): ``weight_mask`` is (k, n) or (repeat, k, n),
``act_mask`` is (m, k) or (repeat, m, k), bool arrays (or a
:class:`~sod.workload.mask.BitMask`). They follow the one rule of
:mod:`sod.workload.mask`: a (k, n) mask is shared by every repeat, a stacked one gives
each repeat its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sod.errors import WorkloadError
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask, stack_mask


def mask_arrays(
    gemm: Gemm, weight_mask: np.ndarray | BitMask, act_mask: np.ndarray | BitMask
) -> tuple[np.ndarray, np.ndarray]:
    """``(W, A)`` as bool arrays of shapes (repeat, k, n) and (repeat, m, k).

    A shared mask is broadcast over repeats (a read-only view, no copy).
    """
    out = []
    for what, mask, rows, cols in (
        ("weight_mask", weight_mask, gemm.k, gemm.n),
        ("act_mask", act_mask, gemm.m, gemm.k),
    ):
        if mask is None:
            raise WorkloadError(f"layer {gemm.name!r}: {what} is required by this model")
        out.append(stack_mask(mask, gemm.repeat, rows, cols, f"layer {gemm.name!r}: {what}"))
    return out[0], out[1]


def _shared(mask: np.ndarray | BitMask, rows: int) -> bool:
    shape = mask.shape if isinstance(mask, BitMask) else np.shape(mask)
    return len(shape) == 2 and shape[0] == rows


def distinct_repeats(
    gemm: Gemm, weight_mask: np.ndarray | BitMask, act_mask: np.ndarray | BitMask
) -> tuple[int, int]:
    """(repeats to evaluate, factor to scale them by).

    When both masks are shared (one pattern for every repeat, e.g. attention heads
    carrying one representative mask) every repeat costs the same: evaluate one.
    """
    shared = _shared(weight_mask, gemm.k) and _shared(act_mask, gemm.m)
    return (1, gemm.repeat) if shared else (gemm.repeat, 1)


def row_counts(mask: np.ndarray) -> np.ndarray:
    """Non-zeros of every row (last axis) of a bool array, int64: a popcount of the rows
    bit-packed (8x fewer elements than summing bools)."""
    mask = mask if mask.dtype == bool else mask != 0
    if mask.ndim >= 2 and _transposed(mask):  # a transposed view: its rows are columns
        return col_counts(np.swapaxes(mask, -1, -2))
    return np.bitwise_count(np.packbits(mask, axis=-1)).sum(axis=-1, dtype=np.int64)


def _transposed(mask: np.ndarray) -> bool:
    """A view whose last two axes swapped are C-contiguous (and it is not)."""
    return not mask.flags.c_contiguous and np.swapaxes(mask, -1, -2).flags.c_contiguous


def col_counts(mask: np.ndarray, rows: int = 255) -> np.ndarray:
    """Non-zeros of every column (second-to-last axis) of a bool array, int64: byte sums
    over blocks of at most 255 rows (no overflow, no per-element cast to int64)."""
    mask = mask if mask.dtype == bool else mask != 0
    if _transposed(mask):  # a transposed view: its columns are rows
        return row_counts(np.swapaxes(mask, -1, -2))
    m = mask.shape[-2]
    out = np.zeros(mask.shape[:-2] + mask.shape[-1:], np.int64)
    u8 = mask.view(np.uint8)
    for lo in range(0, m, rows):
        out += u8[..., lo : lo + rows, :].sum(axis=-2, dtype=np.uint8)
    return out


def effectual_macs(weight: np.ndarray, act: np.ndarray) -> int:
    """MACs with both operands non-zero, all repeats: Σ_(m,n) |A_row ∧ W_col|.

    Equal to Σ_k (non-zeros of A's column k) × (non-zeros of W's row k), which costs
    O(mk + kn) instead of a product.
    """
    a_cols = _per_repeat(col_counts, act)  # (repeat or 1, k)
    w_rows = _per_repeat(row_counts, weight)  # (repeat or 1, k)
    if a_cols.shape[0] == w_rows.shape[0] == 1:  # both shared: every repeat is the same
        return int((a_cols * w_rows).sum()) * max(act.shape[0], weight.shape[0])
    return int((a_cols * w_rows).sum())


def _broadcast(stacked: np.ndarray) -> bool:
    """A (repeat, ...) stack that is one shared mask broadcast over its repeats."""
    return stacked.ndim == 3 and stacked.shape[0] > 1 and stacked.strides[0] == 0


def _per_repeat(count: Any, stacked: np.ndarray) -> np.ndarray:
    """``count`` of a stack, counted once when it is one mask broadcast over repeats."""
    return count(stacked[:1]) if _broadcast(stacked) else count(stacked)


def total_nnz(stacked: np.ndarray) -> int:
    """Non-zeros of a (repeat, ...) stack of bool masks, counting a broadcast mask once
    per repeat without scanning every (identical) repeat."""
    if _broadcast(stacked):
        return int(np.count_nonzero(stacked[0])) * stacked.shape[0]
    return int(np.count_nonzero(stacked))


def iter_chunk_products(a: np.ndarray, w: np.ndarray, chunk: int, budget_bytes: int = 1 << 24):
    """Yield ``(b, m, n)`` float32 blocks of per-chunk match counts, ``b`` chunks at a time.

    float32 matmul (BLAS) is exact here: counts never exceed ``chunk`` < 2**24.
    """
    m, k = a.shape
    n = w.shape[1]
    nch = -(-k // chunk)
    per = max(1, budget_bytes // max(1, 4 * (m * n + (m + n) * chunk)))
    for start in range(0, nch, per):
        stop = min(nch, start + per)
        lo, hi = start * chunk, min(k, stop * chunk)
        span = (stop - start) * chunk
        ab = np.zeros((m, span), np.float32)
        ab[:, : hi - lo] = a[:, lo:hi]
        wb = np.zeros((span, n), np.float32)
        wb[: hi - lo] = w[lo:hi]
        yield np.matmul(
            ab.reshape(m, stop - start, chunk).transpose(1, 0, 2),
            wb.reshape(stop - start, chunk, n),
        )
