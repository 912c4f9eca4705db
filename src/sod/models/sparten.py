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
computed exactly: ``Σ_chunks max(q, 1) = matches + (chunks with no match)``, both only
summed per CU slot (never the m × n matrix of pair cycles): matches are linear, one
product ``A · (W · S)`` with S the 0/1 slot matrix (float32 BLAS, exact below 2²⁴), and
the chunks with no match come from byte tables of bitsets, no m × k × n product
(:func:`sod.models.fibers.packed_empty_chunks`). Repeats run one after another.

When the optional compiled kernels are built (:mod:`sod._native`, src/sod/csrc/sparten.c)
the same sums come exactly from them: the empty chunks summed per slot of the GEMM and of
its transpose in one byte-table pass (:func:`slot_empties`, memoized: the second
orientation is free), ``A · (W · S)`` by nibble tables of small integers, each slot's rows
of A by column counts, and a few rows of A by a direct join (no memo, so an FC weight is
never hashed). The numpy code stays as their twin (used without the extension; the tests
check the two agree bit for bit).
"""

from __future__ import annotations

import math

import numpy as np

from sod.arch.sparse import SparTenArch
from sod.mapping.sparten import SparTenMapping, cluster_split, sparten_mapping
from sod.models.common import Counts
from sod.models.fibers import (
    DIRECT_ROWS,
    canonical_operands,
    packed_col_counts,
    packed_empty_chunks,
    packed_repeats,
)
from sod.models.memo import memo_by_content
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

try:  # the compiled kernels (optional: numpy twins below when not built)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - the extension is optional
    _NATIVE = None  # type: ignore[assignment]


def pair_cycles(act: np.ndarray, weight: np.ndarray, chunk_bits: int) -> np.ndarray:
    """CU cycles of every dot product (m × n, int64): ``cycles[r, f] = Σ_chunks
    max(|A[r, chunk] ∧ W[chunk, f]|, 1)`` = matches + chunks with no match. ``act`` (m,
    k) and ``weight`` (k, n) are bool (either may be a transposed view).

    The model never builds this matrix (it needs only per-CU sums, :func:`_one_repeat`);
    it is the definition the kernels are checked against.
    """
    a, w, flipped = canonical_operands(act, weight)
    empty, _ = pair_kernel(np.packbits(a, axis=1), np.packbits(w, axis=1), w.shape[1], chunk_bits)
    cycles = a.astype(np.int64) @ w.astype(np.int64) + empty
    return cycles.T if flipped else cycles


@memo_by_content(max_bytes=64 << 20)
def pair_kernel(
    fa: np.ndarray, wp: np.ndarray, n: int, chunk_bits: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Chunks with no match of every dot product (m × n int32), and the matches when A
    has few rows (:func:`sod.models.fibers.packed_empty_chunks`), from A's rows packed
    along k and W's rows packed along n. Memoized by content."""
    return empty_chunks(fa, wp, n, chunk_bits)


def empty_chunks(
    fa: np.ndarray, wp: np.ndarray, n: int, chunk_bits: int, native: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`sod.models.fibers.packed_empty_chunks` (its numpy tables and direct join are
    the twin), by the compiled kernels (:mod:`sod._native`) when built and ``native``:
    byte tables for chunks of whole bytes, or for at most
    :data:`~sod.models.fibers.DIRECT_ROWS` rows of A the direct join, which also gives
    the matches; the same (m, n) int32 counts."""
    m, k = fa.shape[0], wp.shape[0]
    if not native or _NATIVE is None or (m > DIRECT_ROWS and chunk_bits % 8):
        return packed_empty_chunks(fa, wp, n, chunk_bits)
    fa, wp = np.ascontiguousarray(fa), np.ascontiguousarray(wp)
    out = np.empty((m, n), np.int32)
    if m > DIRECT_ROWS:
        _NATIVE.sparten_empty_chunks(fa, wp, m, k, n, chunk_bits, out)
        return out, None
    matches = np.empty((m, n), np.int32)
    _NATIVE.sparten_direct(fa, wp, m, k, n, chunk_bits, out, matches)
    return out, matches


def _group_col_counts(packed: np.ndarray, cols: int, group: np.ndarray, groups: int) -> np.ndarray:
    """(groups, cols) int64: ``out[g, c]`` = set bits in column ``c`` of the bit-packed
    rows ``packed`` with ``group[row] = g`` (compiled: :mod:`sod._native`)."""
    assert _NATIVE is not None
    packed = np.ascontiguousarray(packed)
    out = np.empty((groups, packed.shape[1] * 8), np.int64)
    rows, nb = packed.shape
    _NATIVE.sparten_col_counts(packed, rows, nb, np.ascontiguousarray(group, np.int64), groups, out)
    return out[:, :cols]


def _col_nnz(wp: np.ndarray, k: int, n: int) -> np.ndarray:
    """Non-zeros of each of W's ``n`` columns from its rows bit-packed (``wp``, k rows)."""
    if _NATIVE is not None:
        return _group_col_counts(wp, n, np.zeros(k, np.int64), 1)[0]
    counts = packed_col_counts(wp, k, n, 1)
    assert counts is not None  # wp has k rows: one group
    return counts[0]


def _mapping(m: int, filter_nnz: np.ndarray, arch: SparTenArch) -> SparTenMapping:
    """:func:`sod.mapping.sparten.sparten_mapping` of a GEMM with ``m`` rows and filters of
    these non-zeros, memoized (each orientation of a GEMM also deals the other's filters:
    :func:`slot_empties`)."""
    # Keyed without the orientation (the mapping does not read it; the per-layer search
    # evaluates each orientation with its own copy of the architecture).
    return SparTenMapping(*_dealt(m, filter_nnz, arch.model_copy(update={"orientation": "gemm"})))


@memo_by_content(max_bytes=16 << 20)
def _dealt(m: int, filter_nnz: np.ndarray, arch: SparTenArch) -> tuple[int, int, np.ndarray]:
    """The fields of :func:`_mapping` (a tuple: the memo counts its array's bytes)."""
    mp = sparten_mapping(m, None, arch, filter_nnz=filter_nnz)
    return mp.row_groups, mp.filter_groups, mp.slot_of_filter


def _slots(mp: SparTenMapping, arch: SparTenArch) -> int:
    """CU slots of a mapping: filter groups × units."""
    return mp.filter_groups * arch.units_per_cluster


@memo_by_content(max_bytes=64 << 20)
def slot_empties(
    fa: np.ndarray,
    wp: np.ndarray,
    n: int,
    chunk_bits: int,
    col_slot: np.ndarray,
    col_slots: int,
    row_slot: np.ndarray,
    row_slots: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunks with no match of ``A · W`` summed per CU slot, int32: (m, ``col_slots``) over
    the filters of each slot of the GEMM (W's columns dealt by ``col_slot``) and (n,
    ``row_slots``) over those of its transpose (A's rows dealt by ``row_slot``), both in
    one compiled pass (:mod:`sod._native`; chunks of whole bytes). The same as
    :func:`_slot_sums` of :func:`pair_kernel`'s empty chunks (its numpy twin), without
    the m × n matrix. Memoized by content: the first orientation evaluated computes the
    other's."""
    assert _NATIVE is not None
    m, k = fa.shape[0], wp.shape[0]
    by_col = np.empty((m, col_slots), np.int32)
    by_row = np.empty((n, row_slots), np.int32)
    _NATIVE.sparten_slot_empty(
        np.ascontiguousarray(fa),
        np.ascontiguousarray(wp),
        m,
        k,
        n,
        chunk_bits,
        np.ascontiguousarray(col_slot, np.int64),
        col_slots,
        by_col,
        np.ascontiguousarray(row_slot, np.int64),
        row_slots,
        by_row,
    )
    return by_col, by_row


def _popcounts(packed: np.ndarray) -> np.ndarray:
    """Set bits of each row of bit-packed ``packed`` (int64), 8 bytes per count when the
    rows are whole words (``np.bitwise_count`` on uint64: a third of the byte count's
    time)."""
    if packed.shape[1] % 8 == 0 and packed.flags.c_contiguous:
        packed = packed.view(np.uint64)
    return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)


pair_cycles.cache_clear = pair_kernel.cache_clear  # type: ignore[attr-defined]


def _slot_sums(
    values: np.ndarray, slot_of: np.ndarray, slots: int, transposed: bool = False
) -> np.ndarray:
    """``out[r, s] = Σ_{j: slot(j) = s} x[r, j]`` (int64) for ``x`` = ``values`` (or
    ``values.T``, read without a transposed copy), non-negative. Mostly zeros (the empty
    chunks of a dense-ish layer): added per non-zero; else a product with the 0/1 slot
    matrix, float32 when every sum is below 2²⁴ (exact), else float64, a block of
    ``values``' rows at a time. A few rows: one bincount (float64 weights, exact below
    2⁵³)."""
    rows, cols = values.shape
    if rows <= DIRECT_ROWS:  # a few rows (FC layers): one weighted bincount, exact
        lines = np.arange(cols if transposed else rows)
        at = (
            lines[None, :] * slots + slot_of[:, None]
            if transposed
            else lines[:, None] * slots + slot_of
        )
        sums = np.bincount(at.ravel(), values.ravel(), minlength=lines.size * slots)
        return sums.reshape(lines.size, slots).astype(np.int64)
    out = np.zeros((cols, slots) if transposed else (rows, slots), np.int64)
    nnz = np.count_nonzero(values)
    if nnz == 0:
        return out
    if nnz * 16 < values.size:
        r, c = np.divmod(np.flatnonzero(values), cols)
        vals = values[r, c]
        if transposed:
            r, c = c, r
        np.add.at(out, (r, slot_of[c]), vals)
        return out
    bound = int(values.max()) * int(np.bincount(slot_of).max())
    dtype = np.float32 if bound < 2**24 else np.float64
    step = max(1, (1 << 20) // max(cols, 1))
    if transposed:  # slots over the rows of ``values``: Sᵀ · values, then transposed
        acc = np.zeros((slots, cols), dtype)
        for lo in range(0, rows, step):
            blk = values[lo : lo + step]
            onehot_t = np.zeros((slots, blk.shape[0]), dtype)
            onehot_t[slot_of[lo : lo + step], np.arange(blk.shape[0])] = 1
            acc += onehot_t @ blk.astype(dtype)
        out[:] = acc.T
        return out
    onehot = np.zeros((cols, slots), dtype)
    onehot[np.arange(cols), slot_of] = 1
    for lo in range(0, rows, step):
        out[lo : lo + step] = values[lo : lo + step].astype(dtype) @ onehot
    return out


#: The 8 bits of every byte value (packbits order) as 0/1 floats: a row of bit-packed
#: bytes becomes floats in one gather (half the time of unpackbits, then a cast).
_BIT_FLOATS: dict[type, np.ndarray] = {
    dt: np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(dt)
    for dt in (np.float32, np.float64)
}


def _float_bits(packed: np.ndarray, dtype: type) -> np.ndarray:
    """Bit-packed rows (rows, kb) as 0/1 ``dtype`` (rows, 8·kb), padding bits included
    (zero: callers pad the other operand of a product with zero rows to match)."""
    return np.take(_BIT_FLOATS[dtype], packed, axis=0).reshape(packed.shape[0], -1)


def _slot_matches(
    fa: np.ndarray,
    wp: np.ndarray,
    k: int,
    n: int,
    slot_of: np.ndarray,
    slots: int,
    filters_are_rows: bool,
    native: bool = True,
) -> np.ndarray:
    """Matches of ``A · W`` summed over the filters dealt to each slot: filters are W's
    columns (out (m, slots)) or, for a transposed GEMM, A's rows (out (n, slots)), from
    A's rows packed along k (``fa``) and W's rows packed along n (``wp``). Linear in the
    filters, so one product with each slot's summed filters (``A · (W · S)`` or
    ``(Sᵀ · A) · W``, S the 0/1 slot matrix) instead of every pair. float32 when every
    sum is below 2²⁴ (exact), else float64; operands unpacked a block at a time, their
    padding bits met by zero rows of the other factor; int64 (int32 from the compiled
    kernel). When built and ``native`` (:mod:`sod._native`), a GEMM's rows of A times
    W · S come from compiled nibble tables, and for a transposed GEMM each slot's rows of
    A are summed by compiled column counts (not a product with S)."""
    m = fa.shape[0]
    per_slot = int(np.bincount(slot_of).max())
    dtype = np.float32 if k * per_slot < 2**24 else np.float64
    step = max(1, (1 << 20) // max(k, n, 1))
    if not filters_are_rows:
        onehot = np.zeros((wp.shape[1] * 8, slots), dtype)
        onehot[np.arange(n), slot_of] = 1
        # Each slot's filters, position by position; zero rows for A's padding bits.
        summed = np.zeros((fa.shape[1] * 8, slots), dtype)
        for lo in range(0, k, step):
            hi = min(k, lo + step)
            summed[lo:hi] = _float_bits(wp[lo:hi], dtype) @ onehot
        top = per_slot  # the largest entry of summed: within the compiled kernel's uint16
        if native and _NATIVE is not None and 4 * top <= 0xFFFF and top * k < 2**31:
            table = np.ascontiguousarray(summed[:k], np.int32)
            prod = np.empty((m, slots), np.int32)
            _NATIVE.sparten_products(np.ascontiguousarray(fa), m, k, table, slots, prod)
            return prod
        out = np.empty((m, slots), np.int64)
        for lo in range(0, m, step):
            out[lo : lo + step] = _float_bits(fa[lo : lo + step], dtype) @ summed
        return out
    summed_t: np.ndarray  # each slot's rows of A, position by position
    if native and _NATIVE is not None:  # column counts by slot (no product with S)
        counts = _group_col_counts(fa, fa.shape[1] * 8, slot_of, slots)
        dtype = np.float32 if int(counts.sum(axis=1).max()) < 2**24 else np.float64
        summed_t = counts.astype(dtype)
    else:
        summed_t = np.zeros((slots, fa.shape[1] * 8), dtype)
        for lo in range(0, m, step):
            bits = _float_bits(fa[lo : lo + step], dtype)
            onehot_t = np.zeros((slots, bits.shape[0]), dtype)
            onehot_t[slot_of[lo : lo + step], np.arange(bits.shape[0])] = 1
            summed_t += onehot_t @ bits
    acc = np.zeros((slots, wp.shape[1] * 8), dtype)
    for lo in range(0, k, step):
        hi = min(k, lo + step)
        acc += summed_t[:, lo:hi] @ _float_bits(wp[lo:hi], dtype)
    return acc[:, :n].T.astype(np.int64)


def _one_repeat(
    fa: np.ndarray, wp: np.ndarray, k: int, n: int, flipped: bool, arch: SparTenArch
) -> tuple[int, dict[str, float], tuple[int, int, int]]:
    """Cycles, balance stats and (effectual MACs, nnz(A), nnz(W)) of one repeat, from
    the canonical operands (:func:`sod.models.fibers.canonical_operands`) bit-packed:
    A's rows along k (``fa``), W's (k × ``n``) rows along n (``wp``)."""
    m = n if flipped else fa.shape[0]  # this GEMM's rows
    row_nnz = _popcounts(fa)  # of A's rows
    # The compiled kernels sum the empty chunks per slot of both orientations at once.
    both = _NATIVE is not None and fa.shape[0] > DIRECT_ROWS and arch.chunk_bits % 8 == 0
    col_nnz = _col_nnz(wp, k, n) if both or not flipped else None  # of W's columns
    # Filters: W's columns, or A's rows for a transposed GEMM.
    filter_nnz = row_nnz if flipped else col_nnz
    assert filter_nnz is not None
    mp = _mapping(m, filter_nnz, arch)
    slots = mp.filter_groups * arch.units_per_cluster
    slot_of = mp.slot_of_filter
    # Work of every CU slot for every row: Σ over its filters of matches + empty chunks,
    # both summed per slot (never the m × n matrix of pair cycles).
    if both:
        assert col_nnz is not None
        other = _mapping(fa.shape[0] if flipped else n, col_nnz if flipped else row_nnz, arch)
        gemm_mp, flipped_mp = (other, mp) if flipped else (mp, other)
        by_col, by_row = slot_empties(
            fa,
            wp,
            n,
            arch.chunk_bits,
            gemm_mp.slot_of_filter,
            _slots(gemm_mp, arch),
            flipped_mp.slot_of_filter,
            _slots(flipped_mp, arch),
        )
        empty_slots = by_row if flipped else by_col
        total_empty = int(empty_slots.sum(dtype=np.int64))
        matches_slots = _slot_matches(fa, wp, k, n, slot_of, slots, filters_are_rows=flipped)
        # Every per-slot sum is at most (k + chunks) × the filters of a slot: int32 when
        # that fits (half the memory traffic of the reductions below).
        bound = (k + -(-k // arch.chunk_bits)) * int(np.bincount(slot_of).max(initial=0))
        if bound < 2**31:
            per_slot = empty_slots + matches_slots.astype(np.int32, copy=False)
        else:
            per_slot = empty_slots.astype(np.int64) + matches_slots
    else:
        if _NATIVE is not None and fa.shape[0] <= DIRECT_ROWS:  # cheaper than hashing W
            empty, matches = empty_chunks(fa, wp, n, arch.chunk_bits)
        else:
            empty, matches = pair_kernel(fa, wp, n, arch.chunk_bits)
        total_empty = int(empty.sum(dtype=np.int64))
        per_slot = _slot_sums(empty, slot_of, slots, transposed=flipped)
        if matches is not None:  # few rows of A: the pair matches came with the kernel
            per_slot += _slot_sums(matches, slot_of, slots, transposed=flipped)
        else:
            per_slot += _slot_matches(fa, wp, k, n, slot_of, slots, filters_are_rows=flipped)
    row_time = per_slot.reshape(m, mp.filter_groups, arch.units_per_cluster).max(axis=2)
    rows_padded = -(-m // mp.row_groups) * mp.row_groups
    padded = np.zeros((rows_padded, mp.filter_groups), np.int64)
    padded[:m] = row_time
    cluster_time = padded.reshape(-1, mp.row_groups, mp.filter_groups).sum(axis=0)
    cycles = int(cluster_time.max())
    busy = int(per_slot.sum(dtype=np.int64))
    stats = {
        "busy_cu_cycles": float(busy),
        "cluster_cycles_sum": float(cluster_time.sum()),
        "cu_row_slots": float(row_time.sum(dtype=np.int64) * arch.units_per_cluster),
    }
    # Σ of all pair matches = the effectual MACs; non-zeros from the packed fibers.
    effectual = busy - total_empty
    nnz = (int(row_nnz.sum()), int(_popcounts(wp.reshape(1, -1)).sum()))  # A, W
    nnz_act, nnz_weight = nnz[::-1] if flipped else nnz  # this GEMM's operands
    return cycles, stats, (effectual, nnz_act, nnz_weight)


def evaluate_sparten(
    gemm: Gemm, arch: SparTenArch, weight_mask: np.ndarray | BitMask, act_mask: np.ndarray | BitMask
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on SparTen, from its masks.

    ``weight_mask`` is bool (k, n) or (repeat, k, n); ``act_mask`` is bool (m, k) or
    (repeat, m, k); or both 2-D BitMasks shared by every repeat (or
    :class:`~sod.models.fibers.TransposedBits` of them), used packed as they are.
    Compute cycles only: DRAM stalls are the memory model's.
    """
    m = gemm.m
    cycles: float = 0
    busy = cluster_sum = cu_row_slots = 0.0
    effectual = nnz_a = nnz_w = 0
    scale, repeats = packed_repeats(gemm, weight_mask, act_mask)
    for fa, wp, k, n, flipped in repeats:
        c, st, (eff, na, nw) = _one_repeat(fa, wp, k, n, flipped, arch)
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
