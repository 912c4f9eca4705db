"""The steps of the systolic model (:func:`sod.models.sparse_on_dense.evaluate`).

Each step is a pure function of the :class:`~sod.models.systolic_options.Layer`, the
:class:`~sod.models.systolic_options.SystolicOptions` and earlier steps' results:

1. :func:`~sod.models.systolic_streams.weight_streams` — what each fold reads;
2. :func:`fold_schedule` — which folds run and for how long (skipping);
3. :func:`mac_counts` — dense, issued, effectual and gated MACs;
4. :func:`stored_operands` — bits of each operand as stored (DRAM, GLB);
5. :func:`decompressor_stall` — cycles the units after the GLB freeze the array;
6. :func:`memory_schedule` — GLB tiling, DRAM traffic and memory stalls;
7. :func:`actions` and :func:`details` — what the energy model prices, and extras.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sod.arch.spec import Dataflow
from sod.errors import ArchitectureError
from sod.models.dense import evaluate_dense, tpu_fold_costs
from sod.models.fibers import packed_col_counts, packed_row_counts
from sod.models.memo import memo_by_content
from sod.models.memory import Footprint, TilingPlan, block_schedule, pipeline_cycles, schedules
from sod.models.operands import OperandMasks, operand_masks
from sod.models.systolic_options import Layer, SystolicOptions, distinct_groups
from sod.models.systolic_streams import WeightStreams, stream_tiles, tiles_is
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask, TiledMask

# --- folds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Folds:
    """The array's folds (SCALE-Sim's order, group-major) after skipping."""

    live: np.ndarray  # (F,) the fold runs
    streamed: np.ndarray  # (F,) T: cycles the fold streams, after skipping empty vectors
    cycles: np.ndarray  # (F,) cycles the fold adds (timing: scalesim or tpu); 0 if skipped
    boundary: np.ndarray  # (F,) tpu: the live fold carrying its run's load, fill and drain
    run: int  # live folds
    compute_cycles: int  # one execution of every distinct group
    row_folds: int  # of the dense array, per group
    col_folds: int
    dense_folds: int


def fold_schedule(layer: Layer, ws: WeightStreams, opts: SystolicOptions) -> Folds:
    """Per fold: the stream it reads and its streamed length T after skipping. WS skips a
    fold whose tile is empty; OS/IS skip empty vectors of the stream (and the matching
    activation vectors), so T shrinks.

    Timing ``scalesim``: every live fold pays its own load, fill and drain. Timing ``tpu``:
    the live folds of one group form one run (:func:`sod.models.dense.tpu_fold_costs`):
    each occupies ``max(T, R)``, and the run's boundary fold carries the one load, fill
    and drain; a skipped fold costs nothing and does not break the run."""
    R, C, df, m = opts.rows, opts.cols, opts.dataflow, layer.m
    base = evaluate_dense(m, layer.k, layer.n, R, C, df)
    fs = ws.fold_stream
    if df is Dataflow.WS:
        live = ws.nnz[fs] > 0 if opts.skip_zero_tiles else np.ones(fs.size, bool)
        streamed = np.full(fs.size, m)
    else:
        streamed = ws.nonempty[fs] if opts.skip_zero_tiles else ws.vectors[fs]
        live = streamed > 0
    boundary = _run_boundary(live, ws.fold_group, df)
    if opts.timing == "tpu":
        costs = tpu_fold_costs(R, C, streamed, boundary, df)
    else:
        overhead = R + C - 2 if df is Dataflow.OS else 2 * R + C - 2
        costs = overhead + streamed
    cycles = np.where(live, costs, 0)
    # SCALE-Sim's "− 1" (it reports the last cycle's index) applies to each GEMM execution.
    per_group = np.bincount(ws.fold_group, weights=live, minlength=layer.groups)
    groups_run = int(np.count_nonzero(per_group))
    return Folds(
        live,
        streamed,
        cycles,
        boundary,
        int(np.count_nonzero(live)),
        int(cycles.sum()) - groups_run,
        int(base.row_folds[0]),
        int(base.col_folds[0]),
        int(base.folds[0]),
    )


def _run_boundary(live: np.ndarray, group: np.ndarray, df: Dataflow) -> np.ndarray:
    """The fold of each group's run that carries the run's load, fill and drain: the last
    live fold of the group (WS, IS) or the first (OS)."""
    idx = np.flatnonzero(live)
    out = np.zeros(live.size, bool)
    if idx.size:
        g = group[idx]
        if df is Dataflow.OS:
            edge = np.r_[True, g[1:] != g[:-1]]
        else:
            edge = np.r_[g[1:] != g[:-1], True]
        out[idx[edge]] = True
    return out


# --- MACs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Macs:
    """MACs of every repeat."""

    dense: int  # m·k·n·repeat
    issued: int  # every PE of a live fold, each streamed step
    effectual: int  # both operands non-zero
    gated: int  # issued but gated off (zero-gating), priced as mac_gated


def mac_counts(layer: Layer, ws: WeightStreams, folds: Folds, opts: SystolicOptions) -> Macs:
    """Effectual MACs from the masks (a dense array, which pulls no masks, from densities
    or from a mask product memoized by content); issued MACs from the live folds."""
    gemm, masks, mult = layer.gemm, layer.masks, layer.mult
    m, k, n, g = layer.m, layer.k, layer.n, layer.groups
    if masks is not None:
        effectual = layer.effectual * mult  # counted once per layer
    elif gemm.weight_mask is None and gemm.act_mask is None:
        effectual = round(m * k * n * g * gemm.weight_density * gemm.act_density) * mult
    else:
        effectual = _effectual_of_gemm(gemm) * mult
    issued = _issued(layer, ws, folds, opts)
    effectual = min(effectual, issued)
    gated = issued - effectual if opts.zero_gating else 0
    return Macs(m * k * n * gemm.repeat, issued, effectual, gated)


def _issued(layer: Layer, ws: WeightStreams, folds: Folds, opts: SystolicOptions) -> int:
    """Every PE of a live fold multiplies for each streamed step."""
    fs, m, mult = ws.fold_stream, layer.m, layer.mult
    if opts.dataflow is Dataflow.WS:
        return int((ws.elements[fs] * folds.live).sum()) * m * mult
    per_stream = np.bincount(fs, weights=folds.live * folds.streamed, minlength=ws.lanes.size)
    # OS/IS folds of one stream cover all m rows between them (reuse folds).
    reuse = folds.row_folds if opts.dataflow is Dataflow.OS else folds.col_folds
    return round((per_stream / reuse * ws.lanes).sum()) * m * mult


def _effectual(weight: np.ndarray, act: np.ndarray | None, m: int) -> int:
    """Σ over groups and k of nnz(A[:, k]) · nnz(W[k, :]) for (G, k, n) / (G, m, k) masks
    (all m rows of A; :meth:`OperandMasks.effectual` also takes a tiled A)."""
    w_rows = weight.sum(axis=2, dtype=np.int64)  # (G, k) non-zeros per W row
    if act is None:
        return int(w_rows.sum()) * m
    a_cols = act.sum(axis=1, dtype=np.int64)  # (G, k) non-zeros per A column
    return int((a_cols * w_rows).sum())


@memo_by_content(max_bytes=1 << 20)
def _effectual_packed(w_packed: np.ndarray, a_packed: np.ndarray, dims: tuple) -> int:
    name, m, k, n, repeat, groups, w_density, a_density, a_period = dims
    w_mask = BitMask(w_packed, (w_packed.shape[0], n)) if w_packed.size else None
    a_mask: BitMask | None = None
    if a_packed.size and a_period:  # an A repeating every a_period rows (TiledMask)
        a_groups = a_packed.shape[0] // a_period
        a_mask = TiledMask(a_packed, (a_groups * m, k), a_period, a_groups)
    elif a_packed.size:
        a_mask = BitMask(a_packed, (a_packed.shape[0], k))
    gemm = Gemm(
        name,
        m,
        k,
        n,
        repeat=repeat,
        weight_density=w_density,
        act_density=a_density,
        weight_mask=w_mask,
        act_mask=a_mask,
    )
    return operand_masks(gemm, groups=groups, tiled=True).effectual(m)


def _effectual_of_gemm(gemm: Gemm) -> int:
    """Effectual MACs of one copy of every distinct group: counted on the packed masks, or
    (a pattern drawn from a density) memoized by mask content (a sweep evaluates the same
    pruned layer at several array sizes)."""
    w_mask, a_mask = gemm.weight_mask, gemm.act_mask
    empty = np.zeros(0, np.uint8)
    w = w_mask.packed if w_mask is not None else empty
    a = a_mask.packed if a_mask is not None else empty
    groups = distinct_groups(gemm)
    m, k = gemm.m, gemm.k
    tiled = isinstance(a_mask, TiledMask)
    if w.size and (a.size or gemm.act_density >= 1.0) and not tiled:
        # Both operands from masks (or A dense): counted on the packed bits, no bool copy
        # of the masks (as :func:`_effectual` on operand_masks' arrays), and cheaper than
        # hashing them for the memo.
        w_rows = packed_row_counts(w, k, groups)
        a_cols = packed_col_counts(a, m, k, groups) if a.size else None
        if w_rows is not None and (a_cols is not None or not a.size):
            return int(w_rows.sum()) * m if a_cols is None else int((a_cols * w_rows).sum())
    dims = (gemm.name, m, k, gemm.n, gemm.repeat, groups)
    period = a_mask.period_rows if isinstance(a_mask, TiledMask) else 0
    return _effectual_packed(w, a, (*dims, gemm.weight_density, gemm.act_density, period))


# --- storage -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """Bits of each operand (one execution of every distinct group) as stored."""

    w_stored: int  # as laid out in the GLB (and DRAM), word-aligned
    w_dense: int
    a_stored: int
    a_dense: int
    o_bits: int  # outputs leave as value_bits after requantization
    w_glb: int  # what the GLB holds: stored after the units' placement
    a_glb: int
    a_decode: np.ndarray | None  # decode cycles of each A stream tile; None: A is dense


def stored_operands(layer: Layer, ws: WeightStreams, opts: SystolicOptions) -> Stored:
    g, m, k, n, vb = layer.groups, layer.m, layer.k, layer.n, opts.value_bits
    w_stored, w_dense = int(ws.size_bits.sum()), int(ws.dense_bits.sum())
    a_dense = g * m * k * vb
    masks = layer.masks
    if layer.a_format != "dense" and masks is not None and masks.act is not None:
        a_stored, a_decode = _act_streams(masks, layer.a_format, opts)
    else:
        a_stored, a_decode = a_dense, None
    # Units before the GLB (ablation) leave dense tiles in the GLB.
    w_glb = w_stored if opts.after_glb else w_dense
    a_glb = a_stored if opts.after_glb else a_dense
    return Stored(w_stored, w_dense, a_stored, a_dense, g * m * n * vb, w_glb, a_glb, a_decode)


# Bytes of A's period encoded at once when A repeats a period (batch as a repeat): bounds
# the scratch of a large period (sizes and decode cycles add up over vectors).
ACT_STREAM_BYTES = 128 << 20


def _act_streams(masks: OperandMasks, fmt: str, opts: SystolicOptions) -> tuple[int, np.ndarray]:
    """Stored bits and decode cycles of A's stream tiles (R lanes of k, V = m vectors).
    An A repeating every p rows (batch as a repeat) is encoded in parts of its period's
    vectors with the widths of the full tile, each part counted as often as its rows
    occur (docs/large-batch.md: exact where a format's size and decode time add up over
    vectors, as CSC, bitmap and dense do; a tile's word alignment is counted per part)."""
    act = masks.act
    assert act is not None
    if masks.act_tiling is None:
        tiles = stream_tiles(tiles_is(act.transpose(0, 2, 1), opts.rows), fmt, opts)
        return int(tiles.size_bits.sum()), tiles.decode_cycles
    m, p = masks.act_tiling
    q, rem = divmod(m, p)
    step = max(1, ACT_STREAM_BYTES // max(1, act.shape[0] * act.shape[2]))
    size, cycles = 0, np.zeros(0, np.int64)
    for start, stop, times in ((0, rem, q + 1), (rem, p, q)):
        for lo in range(start, stop if times else start, step):
            part = act[:, lo : min(stop, lo + step)].transpose(0, 2, 1)
            tiles = stream_tiles(tiles_is(part, opts.rows), fmt, opts, width_vectors=m)
            size += int(tiles.size_bits.sum()) * times
            add = tiles.decode_cycles * times
            cycles = add if cycles.size == 0 else cycles + add
    return size, cycles


# --- decompressor --------------------------------------------------------------------


def decompressor_stall(
    ws: WeightStreams, folds: Folds, stored: Stored, opts: SystolicOptions
) -> int:
    """Cycles the units after the GLB freeze the array (per execution): the slower of the
    weight and the activation units. Units before the GLB stall the DRAM transfers
    instead (:func:`memory_schedule`)."""
    if not opts.decompress_after_glb:
        return 0
    if not folds.live.any():
        stall = 0
    elif opts.timing == "tpu":
        stall = _weight_decode_stall_tpu(ws, folds, opts)
    else:
        stall = _weight_decode_stall(ws, folds, opts)
    if stored.a_decode is not None:
        # Activation decompression must keep up with the stream of each fold (A is
        # streamed once per column fold in WS, once per row fold in IS... modelled as a
        # pipeline).
        per_fold = np.resize(stored.a_decode, max(folds.run, 1))
        fc = folds.cycles[folds.cycles > 0]
        if fc.size:
            total = pipeline_cycles(per_fold[: fc.size], fc, double_buffered=True)
            stall = max(stall, total - int(fc.sum()))
    return stall


def _weight_decode_stall(ws: WeightStreams, folds: Folds, opts: SystolicOptions) -> int:
    fc = folds.cycles[folds.live]
    if opts.tile_buffer:
        # A unit decompresses fold i+1's stream while fold i computes.
        decode = ws.decode_cycles[ws.fold_stream][folds.live]
        return pipeline_cycles(decode, fc, double_buffered=True) - int(fc.sum())
    # The unit starts when the fold starts consuming; each late vector freezes the array
    # one cycle (equal to sod.models.decompressor.layer_timing).
    return int(ws.stall_cycles[ws.fold_stream][folds.live].sum())


def _weight_decode_stall_tpu(ws: WeightStreams, folds: Folds, opts: SystolicOptions) -> int:
    """Decompressor stalls under the TPU timing (per execution).

    Without a tile buffer the unit decodes a stream while the array takes it in, one
    vector per cycle at best, ``s`` cycles late in all (``stall_cycles``): WS takes the
    tile in during the double-buffered load, so fold f's load lasts ``R + s_{f+1}``
    behind fold f−1's stream (occupancy ``max(T, R + s_next)``, the run's first load
    ``R + s_0``); OS and IS stream W, so a fold streams ``T + s`` (occupancy
    ``max(T + s, R)``). With a tile buffer the unit decodes fold f+1's stream while fold
    f computes (``d₀ + Σ max(c_f, d_{f+1})``), or writes straight to the edge as without
    a buffer, whichever finishes first."""
    live = folds.live
    fs = ws.fold_stream[live]
    cost, t, s = folds.cycles[live], folds.streamed[live], ws.stall_cycles[fs]
    boundary, group = folds.boundary[live], ws.fold_group[live]
    R = opts.rows
    if opts.dataflow is Dataflow.WS:
        same_next = np.r_[group[1:] == group[:-1], False]
        s_next = np.where(same_next, np.r_[s[1:], 0], 0)
        first = np.r_[True, group[1:] != group[:-1]]
        occupancy = np.where(boundary, cost, np.maximum(t, R + s_next))
        direct = int((occupancy - cost).sum() + s[first].sum())
    else:
        occupancy = np.where(boundary, cost + s, np.maximum(t + s, R))
        direct = int((occupancy - cost).sum())
    if not opts.tile_buffer:
        return direct
    decode = ws.decode_cycles[fs]
    return min(direct, pipeline_cycles(decode, cost, double_buffered=True) - int(cost.sum()))


# --- memory --------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """DRAM traffic (bits, one execution of every distinct group) and memory stalls."""

    tiling: str  # the schedule (sod.models.memory), or "ideal"
    stall_cycles: int
    dram_a: float
    dram_w: float
    dram_o: float


def memory_schedule(
    layer: Layer, stored: Stored, folds: Folds, busy: int, ws: WeightStreams, opts: SystolicOptions
) -> Memory:
    """The schedule that finishes first (then: fewest DRAM bits), as the compiler picks
    it; ``busy`` is the array's cycles without memory stalls (compute + decompression)."""
    # DRAM and the GLB hold the input feature map; the im2col'd A exists only at the
    # array edge (the feeder's reuse), so A's stored bits scale by the storage ratio.
    fmap = layer.gemm.act_storage_ratio
    if opts.ideal_memory:
        a, w, o = float(stored.a_stored) * fmap, float(stored.w_stored), float(stored.o_bits)
        return Memory("ideal", 0, a, w, o)
    fp = Footprint(
        layer.groups * layer.m,
        layer.k,
        layer.n,
        round(stored.a_glb * fmap),
        stored.w_glb,
        stored.o_bits,
        opts.glb_bits,
        True,
        opts.stage_rows,
    )
    try:
        plans = schedules(fp)
    except ArchitectureError as err:
        raise ArchitectureError(f"layer {layer.gemm.name!r}: {err}") from None
    # Units before the GLB: a slot's transfer also waits for its share of decompression.
    decode = ws.decode_cycles.sum() if opts.decompress_before_glb else None
    costed = []
    for p in plans:
        plan = _as_transferred(p, stored, opts)
        streamed = layer.m if opts.dataflow is Dataflow.WS else layer.n
        costed.append((plan, _memory_stall(plan, busy, folds.run, decode, streamed, opts)))
    plan, stall = min(costed, key=lambda o: (o[1], o[0].dram_bits))
    return Memory(
        plan.schedule, stall, plan.dram_read_bits_a, plan.dram_read_bits_w, plan.dram_write_bits_o
    )


def _as_transferred(plan: TilingPlan, stored: Stored, opts: SystolicOptions) -> TilingPlan:
    """DRAM always holds the compressed form; a GLB before the decompressor (ablation)
    holds dense tiles, so the plan was sized dense and its traffic shrinks by the ratio."""
    if opts.after_glb:
        return plan
    return replace(
        plan,
        dram_read_bits_a=plan.dram_read_bits_a * _ratio(stored.a_stored, stored.a_dense),
        dram_read_bits_w=plan.dram_read_bits_w * _ratio(stored.w_stored, stored.w_dense),
    )


def _ratio(stored: int, dense: int) -> float:
    return stored / dense if dense else 1.0


def _memory_stall(
    plan: TilingPlan,
    busy: int,
    folds_run: int,
    decode: np.integer | None,
    streamed: int,
    opts: SystolicOptions,
) -> int:
    """Memory stall cycles of one plan; ``decode``: total decode cycles of units before
    the GLB (None when they are not there); ``streamed``: T of the stationary folds."""
    R, C, df = opts.rows, opts.cols, opts.dataflow
    # When the GLB cannot hold the streamed operand whole (WS: A in row blocks; IS: W in
    # column blocks), every block re-runs the stationary folds: each pays the fold
    # overhead (preload + skew) again; the streamed cycles are only split. These cycles
    # are charged as memory stalls (the GLB's capacity causes them), so compute cycles
    # stay SCALE-Sim's.
    repass = (df is Dataflow.WS and plan.schedule == "a_blocks") or (
        df is Dataflow.IS and plan.schedule == "w_blocks"
    )
    extra = 0
    if repass and opts.timing == "tpu":
        # The run of folds goes on across blocks (no extra fill or drain); each block
        # re-runs the stationary folds, each occupying max(T_b, R) for T_b = T / blocks.
        tb = -(-streamed // plan.blocks)
        extra = max(0, folds_run * (plan.blocks * max(tb, R) - max(streamed, R)))
    elif repass:
        extra = (plan.blocks - 1) * folds_run * (2 * R + C - 2)
    loads, comps = block_schedule(
        plan, busy + extra, opts.dram_bandwidth_bytes_per_cycle, max(folds_run, 1)
    )
    if decode is not None:
        # A slot's transfer takes the longer of the DRAM transfer and the decompression of
        # its share of the tiles.
        per_slot = int(np.ceil(decode / max(len(loads) - 1, 1)))
        loads = np.maximum(loads, np.r_[np.full(len(loads) - 1, per_slot), 0])
    return pipeline_cycles(loads, comps, True) - busy


# --- actions and details -------------------------------------------------------------


def actions(
    layer: Layer,
    ws: WeightStreams,
    folds: Folds,
    macs: Macs,
    stored: Stored,
    memory: Memory,
    opts: SystolicOptions,
) -> dict[str, float]:
    """Action counts of every repeat (names: :mod:`sod.models.common`)."""
    g, m, n, mult = layer.groups, layer.m, layer.n, layer.mult
    vb, ab, df = opts.value_bits, opts.acc_bits, opts.dataflow
    # A is read once per column fold (WS, OS) or once (IS); partial sums make one GLB
    # round trip per row fold except in OS, where they stay in the PEs.
    a_reads = folds.col_folds if df is not Dataflow.IS else 1
    psum_passes = folds.row_folds if df is not Dataflow.OS else 1
    stream_glb_bits = ws.size_bits if opts.after_glb else ws.dense_bits
    glb_w_reads = int(stream_glb_bits[ws.fold_stream][folds.live].sum())
    dram_w = memory.dram_w
    w_written = dram_w if opts.after_glb else stored.w_dense  # units before the GLB: dense
    out = {
        "mac": float(macs.issued - macs.gated),
        "mac_gated": float(macs.gated),
        "pe_reg_bits.act": float(macs.issued * vb),
        # Every MAC accumulates: one acc_bits accumulator update (its add is in mac).
        "accumulator_access": float(macs.issued),
        "pe_reg_bits.weight": float(folds.run * opts.rows * opts.cols * vb * mult),
        "glb_read_bits.weight": float(glb_w_reads * mult),
        "glb_read_bits.act": float(stored.a_glb * a_reads * mult),
        "glb_write_bits.out": float(g * m * n * ab * psum_passes * mult),
        "glb_read_bits.out": float(g * m * n * ab * (psum_passes - 1) * mult),
        "glb_write_bits.weight": float(w_written * mult),
        "glb_write_bits.act": float(memory.dram_a * mult),
        "dram_read_bits.weight": float(dram_w * mult),
        "dram_read_bits.act": float(memory.dram_a * mult),
        "dram_write_bits.out": float(memory.dram_o * mult),
    }
    if opts.decompressors and layer.w_format != "dense":
        fs = ws.fold_stream
        emitted = float((folds.live * ws.vectors[fs] * ws.lanes[fs]).sum() * mult)
        out["decompress_elements"] = emitted
        out["decompress_words"] = float(glb_w_reads / opts.read_bits * mult)
    return out


def details(
    layer: Layer,
    folds: Folds,
    stored: Stored,
    memory: Memory,
    decomp_stall: int,
    opts: SystolicOptions,
) -> dict[str, object]:
    """Model-specific extras of :class:`~sod.models.common.Counts` (every repeat)."""
    mult, masks = layer.mult, layer.masks
    stored_w = stored.w_stored * mult if layer.gemm.w_is_weight else stored.w_stored
    return {
        "dataflow": opts.dataflow.value,
        "timing": opts.timing,
        "folds": folds.run * mult,
        "folds_dense": folds.dense_folds * layer.groups * mult,
        "weight_format": layer.w_format,
        "weight_bits_stored": stored_w,
        "weight_bits_dense": stored.w_dense,
        "decompressor_stall_cycles": decomp_stall * mult,
        "memory_stall_cycles": memory.stall_cycles * mult,
        "tiling": memory.tiling,
        "iid_pattern": bool(masks is not None and masks.iid_pattern),
        "weight_reorder": layer.reorder,
    }
