"""Analytic model of SparTen (Gondimalla et al., MICRO 2019), from real non-zero masks.

Machine: ``clusters`` clusters of ``units_per_cluster`` compute units (CUs), one MAC each.
A CU computes whole dot products ``O[r, f] = A[r, :] · W[:, f]`` by a bitmask inner join
over ``chunk_bits``-position chunks: per chunk it ANDs the two masks and, one match per
cycle, finds each operand's value with a prefix popcount; a chunk with q matches holds the
CU for ``max(q, 1)`` cycles (as :class:`sod.rtl.bitmask_pe.BitmaskJoinPE`).

Mapping (documented choice, see docs/sparse-accelerators.md; it lives in
:mod:`sod.mapping.sparten`, which the reference shares):

* Filters (columns of W) are assigned once to *slots*: ``filter_groups × units`` CUs.
  ``load_balance="gb-s"`` sorts filters by non-zero count (descending) and deals them
  boustrophedon over the slots, so dense and sparse filters share a CU (SparTen's GB-S);
  ``"none"`` deals them round-robin in natural order.
* Clusters form ``row_groups × filter_groups``: ``filter_groups = max(1, clusters // m)``
  (only when there are fewer rows than clusters, e.g. batch-1 FC layers), ``row_groups =
  min(m, clusters // filter_groups)``. Row r goes to row group ``r mod row_groups``.
* A cluster broadcasts one row of A at a time to its CUs and moves to the next row when
  its slowest CU is done (no slack between CUs: the broadcast couples them).

So ``cycles = max over clusters Σ_rows max_CU Σ_(filters of CU) Σ_chunks max(q, 1)``,
computed exactly: ``Σ_chunks max(q, 1) = matches + (chunks with no match)`` from per-chunk
mask products (float32 BLAS, exact for counts < 2²⁴). Repeats run one after another.
"""

from __future__ import annotations

import math

import numpy as np

from sod.arch.sparse import SparTenArch
from sod.mapping.sparten import cluster_split, sparten_mapping
from sod.models.common import Counts
from sod.models.fibers import (
    col_fibers,
    packed_empty_chunks,
    packed_pair_popcounts,
    row_fibers,
)
from sod.models.memo import memo_by_content
from sod.models.sparse_masks import distinct_repeats, mask_arrays
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def pair_cycles(act: np.ndarray, weight: np.ndarray, chunk_bits: int) -> np.ndarray:
    """CU cycles of every dot product (m × n, int64): ``cycles[r, f] = Σ_chunks
    max(|A[r, chunk] ∧ W[chunk, f]|, 1)`` = matches + chunks with no match. ``act`` (m,
    k) and ``weight`` (k, n) are bool (either may be a transposed view).

    The model never builds this matrix (it needs only per-CU sums, :func:`_one_repeat`);
    it is the definition the kernels are checked against.
    """
    fa, fw = row_fibers(act), col_fibers(weight)
    k = int(act.shape[1])
    matches = np.asarray(act, np.int64) @ np.asarray(weight, np.int64)
    return matches + empty_chunks(fa, fw, k, chunk_bits)


@memo_by_content(max_bytes=64 << 20, swapped=np.transpose)
def empty_chunks(fa: np.ndarray, fw: np.ndarray, k: int, chunk_bits: int) -> np.ndarray:
    """Chunks with no match of every dot product (m × n, int32) from the bit-packed
    fibers of A's rows and W's columns (:func:`sod.models.fibers.packed_empty_chunks`).
    Symmetric in the two operands: the memo serves the transposed GEMM too."""
    return packed_empty_chunks(fa, fw, k, chunk_bits)


pair_cycles.cache_clear = empty_chunks.cache_clear  # type: ignore[attr-defined]


def _slot_sums(values: np.ndarray, slot_of: np.ndarray, slots: int) -> np.ndarray:
    """``out[r, s] = Σ_{j: slot(j) = s} values[r, j]`` (int64), as a product with the
    0/1 slot matrix: float32 when every sum is below 2²⁴ (exact), else float64."""
    rows, cols = values.shape
    if values.size == 0:
        return np.zeros((rows, slots), np.int64)
    bound = int(values.max(initial=0)) * int(np.bincount(slot_of, minlength=1).max())
    dtype = np.float32 if bound < 2**24 else np.float64
    onehot = np.zeros((cols, slots), dtype)
    onehot[np.arange(cols), slot_of] = 1
    out = np.empty((rows, slots), np.int64)
    step = max(1, (1 << 20) // max(cols, 1))
    for lo in range(0, rows, step):
        out[lo : lo + step] = values[lo : lo + step].astype(dtype) @ onehot
    return out


def _slot_matches(
    fr: np.ndarray, ff: np.ndarray, k: int, slot_of: np.ndarray, slots: int
) -> np.ndarray:
    """Matches of every row fiber ``fr`` (r, ·) summed over the filter fibers ``ff``
    (f, ·) dealt to each slot, (r, slots) int64: linear in the filters, so one product
    with each slot's summed filter bits (``A · W·S``, S the 0/1 slot matrix) instead of
    every pair. Few fibers on a side: pair popcounts, then slot sums."""
    nr, nf = fr.shape[0], ff.shape[0]
    if min(nr, nf) <= 8:
        return _slot_sums(packed_pair_popcounts(fr, ff), slot_of, slots)
    per_slot = np.bincount(slot_of, minlength=slots)
    # Exact in float32 when every product sum stays below 2**24.
    dtype = np.float32 if k * int(per_slot.max()) < 2**24 else np.float64
    summed = np.zeros((slots, k), dtype)  # Σ of each slot's filters, position by position
    step = max(1, (1 << 20) // max(k, 1))
    for lo in range(0, nf, step):
        bits = np.unpackbits(ff[lo : lo + step], axis=1, count=k).astype(dtype)
        onehot = np.zeros((slots, bits.shape[0]), dtype)
        onehot[slot_of[lo : lo + step], np.arange(bits.shape[0])] = 1
        summed += onehot @ bits
    out = np.empty((nr, slots), np.int64)
    summed_t = np.ascontiguousarray(summed.T)
    for lo in range(0, nr, step):
        bits = np.unpackbits(fr[lo : lo + step], axis=1, count=k).astype(dtype)
        out[lo : lo + step] = bits @ summed_t
    return out


def _one_repeat(
    act: np.ndarray, weight: np.ndarray, arch: SparTenArch
) -> tuple[int, dict[str, float], tuple[int, int, int]]:
    """Cycles, balance stats and (effectual MACs, nnz(A), nnz(W)) of one repeat."""
    m, k = act.shape
    fa, fw = row_fibers(act), col_fibers(weight)
    filter_nnz = np.bitwise_count(fw).sum(axis=1, dtype=np.int64)
    mp = sparten_mapping(m, weight, arch, filter_nnz=filter_nnz)
    slots = mp.filter_groups * arch.units_per_cluster
    # Work of every CU slot for every row: Σ over its filters of matches + empty chunks,
    # both summed per slot (never the m × n matrix of pair cycles).
    matches = _slot_matches(fa, fw, k, mp.slot_of_filter, slots)
    empties = _slot_sums(empty_chunks(fa, fw, k, arch.chunk_bits), mp.slot_of_filter, slots)
    per_slot = matches + empties
    row_time = per_slot.reshape(m, mp.filter_groups, arch.units_per_cluster).max(axis=2)
    rows_padded = -(-m // mp.row_groups) * mp.row_groups
    padded = np.zeros((rows_padded, mp.filter_groups), np.int64)
    padded[:m] = row_time
    cluster_time = padded.reshape(-1, mp.row_groups, mp.filter_groups).sum(axis=0)
    cycles = int(cluster_time.max())
    stats = {
        "busy_cu_cycles": float(per_slot.sum()),
        "cluster_cycles_sum": float(cluster_time.sum()),
        "cu_row_slots": float(row_time.sum() * arch.units_per_cluster),
    }
    # Σ of all pair matches = the effectual MACs; non-zeros from the packed fibers.
    nnz = (int(matches.sum()), int(np.bitwise_count(fa).sum(dtype=np.int64)), int(filter_nnz.sum()))
    return cycles, stats, nnz


def evaluate_sparten(
    gemm: Gemm, arch: SparTenArch, weight_mask: np.ndarray | BitMask, act_mask: np.ndarray | BitMask
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on SparTen, from its masks.

    ``weight_mask`` is bool (k, n) or (repeat, k, n); ``act_mask`` is bool (m, k) or
    (repeat, m, k). Compute cycles only: DRAM stalls are the memory model's.
    """
    weight, act = mask_arrays(gemm, weight_mask, act_mask)
    m = gemm.m
    cycles: float = 0
    busy = cluster_sum = cu_row_slots = 0.0
    effectual = nnz_a = nnz_w = 0
    reps, scale = distinct_repeats(gemm, weight_mask, act_mask)
    for rep in range(reps):
        c, st, (eff, na, nw) = _one_repeat(act[rep], weight[rep], arch)
        effectual, nnz_a, nnz_w = effectual + eff, nnz_a + na, nnz_w + nw
        cycles += c
        busy += st["busy_cu_cycles"]
        cluster_sum += st["cluster_cycles_sum"]
        cu_row_slots += st["cu_row_slots"]
    cycles, busy, cluster_sum, cu_row_slots = (
        x * scale for x in (cycles, busy, cluster_sum, cu_row_slots)
    )
    effectual, nnz_a, nnz_w = effectual * scale, nnz_a * scale, nnz_w * scale
    actions = _actions(gemm, arch, nnz_a, nnz_w, effectual)
    details = {
        "model": "sparten",
        "cu_busy_fraction": busy / (cycles * arch.pe_count) if cycles else 0.0,
        # Barrier loss inside clusters (slowest CU per row) and across clusters.
        "intra_cluster_balance": busy / cu_row_slots if cu_row_slots else 0.0,
        "inter_cluster_balance": (
            cluster_sum / (cycles * max(1, gemm.repeat) * math.prod(cluster_split(m, arch)))
        )
        if cycles
        else 0.0,
        # Units of work DRAM transfers overlap with (sod.models.accelerators): a row step
        # of the clusters with one round of filters in the CUs (like a systolic fold, it
        # needs only its rows and its filters).
        "work_units": gemm.repeat * _work_units(m, gemm.n, arch),
    }
    return Counts(
        compute_cycles=int(cycles),
        stall_cycles=0,
        macs_dense=gemm.macs,
        macs_issued=effectual,
        macs_effectual=effectual,
        pe_count=arch.pe_count,
        actions=actions,
        details=details,
    )


def _work_units(m: int, n: int, arch: SparTenArch) -> int:
    """Row steps × filter rounds of one repeat."""
    row_groups, filter_groups = cluster_split(m, arch)
    return -(-m // row_groups) * -(-n // (filter_groups * arch.units_per_cluster))


def _actions(
    gemm: Gemm, arch: SparTenArch, nnz_a: int, nnz_w: int, effectual: int
) -> dict[str, float]:
    """Actions priced by the energy model (all repeats)."""
    m, n = gemm.m, gemm.n
    chunks = -(-gemm.k // arch.chunk_bits)
    filter_groups = cluster_split(m, arch)[1]
    vb = arch.value_bits
    mask_bits_a = gemm.repeat * m * chunks * arch.chunk_bits
    pairs = gemm.repeat * m * n
    return {
        "mac": float(effectual),
        # Every MAC accumulates into the CU's accumulator (one update each).
        "accumulator_access": float(effectual),
        "prefix_sum_bits": float(pairs * chunks * 2 * arch.chunk_bits),
        # A row is broadcast once per filter group; each CU re-reads its filters' chunks
        # for every row (a CU holds one chunk, not whole filters).
        "glb_read_bits.act": float(filter_groups * nnz_a * vb),
        "glb_read_bits.weight": float(m * nnz_w * vb),
        "glb_read_bits.meta": float(
            filter_groups * mask_bits_a + m * gemm.repeat * n * chunks * arch.chunk_bits
        ),
        "glb_write_bits.out": float(pairs * vb),
        # A CU latches both operands' chunk (mask and packed values) for every dot
        # product it computes.
        "pe_reg_bits.act": float(n * nnz_a * vb + pairs * chunks * arch.chunk_bits),
        "pe_reg_bits.weight": float(m * nnz_w * vb + pairs * chunks * arch.chunk_bits),
    }
