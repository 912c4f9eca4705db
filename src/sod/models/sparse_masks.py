"""Operand masks for the sparse-accelerator models (:mod:`sod.models.scnn`,
:mod:`sod.models.sparten`, :mod:`sod.models.index_match`).

The models take explicit boolean non-zero masks in sod's GEMM convention:
``weight_mask`` is (k, n) or (repeat, k, n), ``act_mask`` is (m, k) or (repeat, m, k).
A 2-D mask is shared by every repeat. :class:`~sod.workload.mask.BitMask` is accepted too.
"""

from __future__ import annotations

import numpy as np

from sod.errors import WorkloadError
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def _as_bool(mask: object) -> np.ndarray:
    if isinstance(mask, BitMask):
        return mask.to_bool()
    return np.asarray(mask) != 0 if np.asarray(mask).dtype != bool else np.asarray(mask)


def operand_masks(
    gemm: Gemm, weight_mask: object, act_mask: object
) -> tuple[np.ndarray, np.ndarray]:
    """``(W, A)`` as bool arrays of shapes (repeat, k, n) and (repeat, m, k).

    A 2-D mask is broadcast over repeats (a read-only view, no copy).
    """
    out = []
    for what, mask, rows, cols in (
        ("weight_mask", weight_mask, gemm.k, gemm.n),
        ("act_mask", act_mask, gemm.m, gemm.k),
    ):
        if mask is None:
            raise WorkloadError(f"layer {gemm.name!r}: {what} is required by this model")
        arr = _as_bool(mask)
        if arr.shape == (rows, cols):
            arr = np.broadcast_to(arr, (gemm.repeat, rows, cols))
        elif arr.shape != (gemm.repeat, rows, cols):
            raise WorkloadError(
                f"layer {gemm.name!r}: {what} has shape {arr.shape}, expected "
                f"{(rows, cols)} or {(gemm.repeat, rows, cols)}"
            )
        out.append(arr)
    return out[0], out[1]


def distinct_repeats(gemm: Gemm, weight_mask: object, act_mask: object) -> tuple[int, int]:
    """(repeats to evaluate, factor to scale them by).

    When both masks are 2-D (one pattern shared by every repeat, e.g. attention heads
    carrying one representative mask) every repeat costs the same: evaluate one.
    """
    shared = all(isinstance(x, BitMask) or np.ndim(x) == 2 for x in (weight_mask, act_mask))
    return (1, gemm.repeat) if shared else (gemm.repeat, 1)


def effectual_macs(weight: np.ndarray, act: np.ndarray) -> int:
    """MACs with both operands non-zero, all repeats: Σ_(m,n) |A_row ∧ W_col|.

    Equal to Σ_k (non-zeros of A's column k) × (non-zeros of W's row k), which costs
    O(mk + kn) instead of a product.
    """
    a_cols = act.sum(axis=1, dtype=np.int64)  # (repeat, k)
    w_rows = weight.sum(axis=2, dtype=np.int64)  # (repeat, k)
    return int((a_cols * w_rows).sum())


def iter_chunk_products(a: np.ndarray, w: np.ndarray, chunk: int, budget_bytes: int = 1 << 26):
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
