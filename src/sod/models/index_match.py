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
``tc = pe_count_PEs // tr`` (so batch-1 FC layers still use every PE;
:func:`sod.mapping.index_match.tile_shape`); A fibers are
broadcast along tile rows, W fibers along tile columns, and a tile ends when its slowest
PE does. Tiles run one after another, repeats too.
"""

from __future__ import annotations

import numpy as np

from sod.arch.sparse import IndexMatchArch
from sod.mapping.index_match import tile_shape
from sod.models.common import Counts
from sod.models.memo import memo_by_content
from sod.models.sparse_masks import distinct_repeats, effectual_macs, mask_arrays
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def _transpose(mask: np.ndarray, block: int = 256) -> np.ndarray:
    """C-contiguous transpose, copied in cache-sized blocks (2x faster than numpy's own on
    a 10⁸-entry FC weight mask)."""
    k, n = mask.shape
    out = np.empty((n, k), mask.dtype)
    for i in range(0, k, block):
        for j in range(0, n, block):
            out[j : j + block, i : i + block] = mask[i : i + block, j : j + block].T
    return out


def _fiber_stats(fibers: np.ndarray, p: int) -> tuple[np.ndarray, ...]:
    """Per fiber (row of the C-contiguous bool ``fibers``): length, last index (−1 if
    empty) and the block-end mask (entries p, 2p, … and each fiber's last entry)."""
    k = fibers.shape[1]
    length = np.count_nonzero(fibers, axis=1).astype(np.int64)
    last = np.where(length > 0, k - 1 - np.argmax(fibers[:, ::-1], axis=1), -1)
    # Ranks modulo p are all a block end needs: a uint8 running count wraps modulo 256,
    # which is exact modulo p when p divides 256 (and 4x cheaper than int32).
    dtype: type[np.integer] = np.uint8 if 256 % p == 0 else (np.int16 if k < 2**15 else np.int32)
    cum = np.cumsum(fibers.view(np.uint8), axis=1, dtype=dtype)
    ends = fibers & (cum % dtype(p) == 0)
    del cum
    has = length > 0
    ends[np.flatnonzero(has), last[has]] = True
    return length, last, ends


def _running_at(ends: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``ends[:, : x + 1].sum(axis=1)`` for every x in ``cols``: (rows, len(cols)).

    A few columns are counted directly; many take one running sum."""
    if len(cols) <= 4:
        return np.stack([np.count_nonzero(ends[:, : x + 1], axis=1) for x in cols], axis=1).astype(
            np.int64
        )
    dtype = np.int16 if ends.shape[1] < 2**15 else np.int32
    return np.cumsum(ends, axis=1, dtype=dtype)[:, cols].astype(np.int64)


def _block_end_products(
    ends_a: np.ndarray, ends_wt: np.ndarray, block_elems: int = 1 << 22
) -> np.ndarray:
    """Common block ends of every fiber pair, ``ends_a @ ends_wt.T`` in float32 BLAS over
    blocks of W fibers (exact: counts < 2²⁴; bounded scratch memory)."""
    n, k = ends_wt.shape
    out = np.empty((ends_a.shape[0], n), np.int64)
    ends_af = ends_a.astype(np.float32)
    rows = max(1, block_elems // max(k, 1))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        out[:, lo:hi] = np.rint(ends_af @ ends_wt[lo:hi].T.astype(np.float32))
    return out


@memo_by_content()
def pair_steps(
    act: np.ndarray, weight: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge steps of every dot product (m × n) and the A/W entries each loaded.

    ``act`` is (m, k) bool, ``weight`` (k, n) bool. With ``T = min(last_a, last_w)``, the
    A block ends ≤ T are all of A's blocks unless W ends first, in which case they are
    A's running count at ``last_w`` (and symmetrically), so the running counts are only
    gathered at the other operand's last indices.
    """
    len_a, last_a, ends_a = _fiber_stats(np.ascontiguousarray(act), p)
    len_w, last_w, ends_w = _fiber_stats(_transpose(weight), p)
    blocks_a, blocks_w = -(-len_a // p), -(-len_w // p)
    t = np.minimum(last_a[:, None], last_w[None, :])
    valid = t >= 0  # both fibers non-empty (an empty fiber has last = −1)
    cols, col_of = np.unique(np.maximum(last_w, 0), return_inverse=True)
    cnt_a = np.where(
        last_w[None, :] < last_a[:, None], _running_at(ends_a, cols)[:, col_of], blocks_a[:, None]
    )
    rows, row_of = np.unique(np.maximum(last_a, 0), return_inverse=True)
    cnt_w = np.where(
        last_a[:, None] < last_w[None, :], _running_at(ends_w, rows).T[row_of], blocks_w[None, :]
    )
    ties = _block_end_products(ends_a, ends_w)
    steps = np.where(valid, cnt_a + cnt_w - ties, 0)
    # Windows loaded: the retired ones plus the one still resident when the other fiber
    # ended.
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


def evaluate_index_match(
    gemm: Gemm,
    arch: IndexMatchArch,
    weight_mask: np.ndarray | BitMask,
    act_mask: np.ndarray | BitMask,
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on the index-matching array.

    ``weight_mask`` is bool (k, n) or (repeat, k, n); ``act_mask`` bool (m, k) or
    (repeat, m, k). Compute cycles only (DRAM stalls belong to the memory model).
    """
    weight, act = mask_arrays(gemm, weight_mask, act_mask)
    m, n, p = gemm.m, gemm.n, arch.window
    tr, tc = tile_shape(m, arch)
    mt, nt = -(-m // tr), -(-n // tc)
    cycles = 0
    steps_sum = loads = busy = 0
    reps, scale = distinct_repeats(gemm, weight_mask, act_mask)
    for rep in range(reps):
        steps, load_a, load_w = pair_steps(act[rep], weight[rep], p)
        pc = pair_cycles(steps, arch)
        cycles += int(tile_times(pc, tr, tc).sum())
        steps_sum += int(steps.sum())
        loads += int(load_a.sum() + load_w.sum())
        busy += int(pc.sum())
    cycles, steps_sum, loads, busy = (x * scale for x in (cycles, steps_sum, loads, busy))
    effectual = effectual_macs(weight, act)
    entry_bits = arch.value_bits + arch.index_bits
    nnz_a = int(act.sum(dtype=np.int64))
    nnz_w = int(weight.sum(dtype=np.int64))
    # Each A fiber is read once per column tile, each W fiber once per row tile.
    reads_a, reads_w = nt * nnz_a, mt * nnz_w
    actions = {
        "mac": float(effectual),
        # Every match accumulates into the PE's accumulator (one update each).
        "accumulator_access": float(effectual),
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
        # Units of work DRAM transfers overlap with (sod.models.accelerators): one output
        # tile, which needs only its tr A fibers and tc W fibers.
        "work_units": gemm.repeat * mt * nt,
    }
    return Counts(
        compute_cycles=cycles,
        stall_cycles=0,
        macs_dense=gemm.macs,
        macs_issued=effectual,
        macs_effectual=effectual,
        pe_count=arch.pe_count,
        actions=actions,
        details=details,
    )
