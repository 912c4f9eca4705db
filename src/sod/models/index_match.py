"""Analytic model of a comparator index-matching PE array (SNAP/SPRITE-like), exact from
real non-zero masks.

PE: intersects one activation row fiber ``A[r, :]`` with one weight column fiber
``W[:, f]``, both sorted CSR index lists. Each cycle it holds a window of ``p = window``
consecutive A entries and a window of ``p`` W entries, compares all ``p²`` index pairs,
multiplies every match (at most p: ``p`` multipliers) and advances the window whose last
index is smaller (both on a tie). It stops when either fiber's last window has been
advanced past (no later match is possible). A PE that cannot prefetch the next fibers
(``fifo_depth < 2p``) loses one bubble cycle per dot product.

Exact step count (no simulation): call *block ends* the last index of each window
(entries p, 2p, … and the fiber's last entry). Every step retires the smallest current
block end(s), so the steps are the distinct block ends of both fibers up to
``T = min(last A index, last W index)``:

    steps = #A-block-ends ≤ T + #W-block-ends ≤ T − #common block ends

(every common block end is ≤ T). The first two terms are cumulative counts gathered at T;
the third is a product of block-end masks (float32 BLAS, exact below 2²⁴).

Array: output-stationary tiles of ``tr × tc`` dot products, ``tr = min(m, pe_rows)``,
``tc = pe_count_PEs // tr`` (so batch-1 FC layers still use every PE); A fibers are
broadcast along tile rows, W fibers along tile columns, and a tile ends when its slowest
PE does. Tiles run one after another, repeats too.
"""

from __future__ import annotations

import numpy as np

from sod.arch.sparse import IndexMatchArch
from sod.models.common import Counts
from sod.models.sparse_masks import effectual_macs, operand_masks
from sod.workload.gemm import Gemm


def tile_shape(m: int, arch: IndexMatchArch) -> tuple[int, int]:
    """(rows, cols) of dot products one array pass computes."""
    pes = arch.pe_rows * arch.pe_cols
    tr = min(m, arch.pe_rows)
    return tr, pes // tr


def _fiber_stats(mask: np.ndarray, p: int) -> tuple[np.ndarray, ...]:
    """Per fiber (rows of ``mask``): length, last index (−1 if empty), block-end mask and
    its running count along the fiber."""
    k = mask.shape[1]
    dtype = np.int16 if k < 2**15 else np.int32
    cum = np.cumsum(mask, axis=1, dtype=dtype)
    length = cum[:, -1].astype(np.int64)
    last = np.where(length > 0, k - 1 - np.argmax(mask[:, ::-1], axis=1), -1)
    ends = mask & ((cum % p == 0) | (cum == length[:, None].astype(dtype)))
    cum_ends = np.cumsum(ends, axis=1, dtype=dtype)
    return length, last, ends, cum_ends


def pair_steps(act: np.ndarray, weight: np.ndarray, p: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge steps of every dot product (m × n) and the A/W entries each loaded.

    ``act`` is (m, k) bool, ``weight`` (k, n) bool.
    """
    n = weight.shape[1]
    len_a, last_a, ends_a, cum_a = _fiber_stats(act, p)
    len_w, last_w, ends_w, cum_w = _fiber_stats(np.ascontiguousarray(weight.T), p)
    t = np.minimum(last_a[:, None], last_w[None, :])
    valid = t >= 0  # both fibers non-empty (an empty fiber has last = −1)
    tc = np.maximum(t, 0)
    cnt_a = np.take_along_axis(cum_a, tc, axis=1).astype(np.int64)
    cnt_w = cum_w[np.arange(n)[None, :], tc].astype(np.int64)
    ties = np.rint(ends_a.astype(np.float32) @ ends_w.T.astype(np.float32)).astype(np.int64)
    steps = np.where(valid, cnt_a + cnt_w - ties, 0)
    # Windows loaded: the retired ones plus the one still resident when the other ended.
    vis_a = cnt_a + (last_a[:, None] > t)
    vis_w = cnt_w + (last_w[None, :] > t)
    load_a = np.where(valid, np.minimum(vis_a * p, len_a[:, None]), 0)
    load_w = np.where(valid, np.minimum(vis_w * p, len_w[None, :]), 0)
    return steps, load_a, load_w


def pair_cycles(steps: np.ndarray, arch: IndexMatchArch) -> np.ndarray:
    """PE cycles of each dot product: at least one, plus a bubble without prefetch."""
    bubble = 1 if arch.fifo_depth < 2 * arch.window else 0
    return np.maximum(steps, 1) + bubble


def tile_times(cycles: np.ndarray, tr: int, tc: int) -> np.ndarray:
    """Slowest PE of every ``tr × tc`` tile of a (m, n) per-dot-product cycle matrix."""
    m, n = cycles.shape
    mt, nt = -(-m // tr), -(-n // tc)
    padded = np.zeros((mt * tr, nt * tc), cycles.dtype)
    padded[:m, :n] = cycles
    return padded.reshape(mt, tr, nt, tc).max(axis=(1, 3))


def evaluate_index_match(gemm: Gemm, arch: IndexMatchArch, weight_mask: object,
                         act_mask: object) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on the index-matching array.

    ``weight_mask`` is bool (k, n) or (repeat, k, n); ``act_mask`` bool (m, k) or
    (repeat, m, k). Compute cycles only (DRAM stalls belong to the memory model).
    """
    weight, act = operand_masks(gemm, weight_mask, act_mask)
    m, n, p = gemm.m, gemm.n, arch.window
    tr, tc = tile_shape(m, arch)
    mt, nt = -(-m // tr), -(-n // tc)
    cycles = 0
    steps_sum = loads = busy = 0
    for rep in range(gemm.repeat):
        steps, load_a, load_w = pair_steps(act[rep], weight[rep], p)
        pc = pair_cycles(steps, arch)
        cycles += int(tile_times(pc, tr, tc).sum())
        steps_sum += int(steps.sum())
        loads += int(load_a.sum() + load_w.sum())
        busy += int(pc.sum())
    effectual = effectual_macs(weight, act)
    entry_bits = arch.value_bits + arch.index_bits
    nnz_a = int(act.sum(dtype=np.int64))
    nnz_w = int(weight.sum(dtype=np.int64))
    # Each A fiber is read once per column tile, each W fiber once per row tile.
    reads_a, reads_w = nt * nnz_a, mt * nnz_w
    actions = {
        "mac": float(effectual),
        "index_compare": float(steps_sum * p * p),
        "fifo_access": float(2 * loads),  # one push and one pop per loaded entry
        "glb_read_bits.act": float(reads_a * arch.value_bits),
        "glb_read_bits.weight": float(reads_w * arch.value_bits),
        "glb_read_bits.meta": float((reads_a + reads_w) * arch.index_bits),
        "glb_write_bits.out": float(gemm.repeat * m * n * arch.value_bits),
    }
    pes = arch.pe_rows * arch.pe_cols
    details = {
        "model": "index_match",
        "tile_shape": [tr, tc],
        "merge_steps": steps_sum,
        "matches_per_step": effectual / steps_sum if steps_sum else 0.0,
        # Fraction of PE-cycles spent on a dot product (the rest waits for a tile's
        # slowest PE or has no dot product mapped).
        "pe_busy_fraction": busy / (pes * cycles) if cycles else 0.0,
        # Cycles a glb_read_width_bits port would need to deliver every fiber (not
        # charged as stalls: the other models do not bound GLB port bandwidth either).
        "glb_supply_cycles": -(-(reads_a + reads_w) * entry_bits // arch.glb_read_width_bits),
    }
    return Counts(compute_cycles=cycles, stall_cycles=0, macs_dense=gemm.macs,
                  macs_issued=effectual, macs_effectual=effectual, pe_count=arch.pe_count,
                  actions=actions, details=details)
