"""Sparse-on-Dense (and the plain dense array) with its memory system.

The array is the dense systolic array of :mod:`sod.models.dense`: every MAC of a fold runs,
zeros included. What Sparse-on-Dense changes, and this model counts from the real masks:

* **Storage.** Weights (and optionally activations) are kept compressed in DRAM and in the
  GLB, as the stream tiles the array consumes (:mod:`sod.formats`, exact sizes from the
  masks; a per-tile dense fallback when compression does not pay). Smaller operands move
  fewer DRAM bits and let the GLB hold more, which changes the tiling
  (:mod:`sod.models.memory`).
* **Decompression.** Units between the GLB and the array edge expand each tile into one
  dense vector per cycle, at most one GLB word (``decompressor_read_bits``) per cycle; the
  emission cycle of every vector comes from :mod:`sod.models.decompressor` (equal to the
  cycle-level unit). With a tile buffer a unit decompresses fold i+1's tile while fold i
  computes (a two-stage pipeline); without one, a fold waits for its vectors. Placement
  ``before_glb`` (ablation) puts the units between DRAM and the GLB instead: the GLB then
  holds dense tiles and decompression only competes with the DRAM transfer.
* **Skipping and gating.** Weight tiles that are entirely zero are skipped (WS: the whole
  fold; OS/IS: the all-zero vectors of the streamed weight tile, together with the
  matching activation vectors). Zero-gating makes MACs with a zero operand cheap in
  energy (``mac_gated``) but not in cycles.

Stream tiles per dataflow (``L`` lanes × ``V`` vectors, one vector per cycle):

======  =================================  ===================================
WS      W[kR:(k+1)R, nC:(n+1)C]ᵀ, L=C, V=R  loaded in the R-cycle preload
OS      W[:, nC:(n+1)C]ᵀ, L=C, V=k          streamed for T = k cycles
IS      W[kR:(k+1)R, :], L=R, V=n           streamed for T = n cycles
======  =================================  ===================================

A dense architecture (``kind: dense``) runs through the same code with dense storage, no
decompressors, no skipping and no gating, so the two differ only by what the paper adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.spec import Architecture, Dataflow, DecompressorPlacement, SparseOnDenseArch
from sod.compiler import CompileOptions, TileGrid, fast_tiles
from sod.errors import ArchitectureError
from sod.formats import FormatSpec, format_module, need_bits, resolve_widths
from sod.models.common import Counts
from sod.models.decompressor import emit_cycles, stream_needs
from sod.models.dense import evaluate_dense
from sod.models.memo import memo_by_content
from sod.models.memory import TilingPlan, block_schedule, candidate_plans, pipeline_cycles
from sod.models.operands import operand_masks
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

# Tiles are measured in batches of at most this many mask elements (bounds scratch memory).
_BATCH_ELEMENTS = 1 << 25


@dataclass(frozen=True)
class StreamTiles:
    """The W stream tiles of one GEMM for one dataflow, measured in a given format."""

    size_bits: np.ndarray  # (T,) stored bits per tile
    dense_bits: np.ndarray  # (T,) bits of the same tile stored dense
    nnz: np.ndarray  # (T,) non-zeros per tile
    nonempty_vectors: np.ndarray  # (T,) vectors with at least one non-zero
    decode_cycles: np.ndarray  # (T,) cycles for a unit to emit every vector of the tile
    vectors: int
    lanes: int


def _tiles_is(w: np.ndarray, rows: int) -> np.ndarray:
    g, k, n = w.shape
    kt = -(-k // rows)
    pad = np.zeros((g, kt * rows, n), dtype=bool)
    pad[:, :k, :] = w
    return pad.reshape(g * kt, rows, n)


def stream_tiles(
    masks: np.ndarray,
    fmt: str,
    spec: FormatSpec,
    read_bits: int,
    dense_fallback: bool,
    lanes_per_cycle: int | None = None,
) -> StreamTiles:
    """Sizes and decode cycles of a batch of stream tiles ``(T, L, V)``."""
    t, lanes, vectors = masks.shape
    widths = resolve_widths(spec, lanes, vectors)
    dense_w = resolve_widths(spec, lanes, vectors)
    per = max(1, _BATCH_ELEMENTS // max(lanes * vectors, 1))
    sizes, dense_sizes, cycles = [], [], []
    for s in range(0, t, per):
        batch = masks[s : s + per]
        need = need_bits(batch, fmt, widths)
        size = need[:, -1] if vectors else np.zeros(len(batch), np.int64)
        dense_need = need_bits(batch, "dense", dense_w)
        dsize = dense_need[:, -1]
        if dense_fallback and fmt != "dense":
            use_dense = dsize < size
            need = np.where(use_dense[:, None], dense_need, need)
            size = np.where(use_dense, dsize, size)
        timing = emit_cycles(need, read_bits)
        cyc = timing.cycles
        if lanes_per_cycle is not None and lanes_per_cycle < lanes:
            # A narrower unit needs ceil(L / lanes) cycles per vector.
            cyc = np.maximum(cyc, vectors * -(-lanes // lanes_per_cycle))
        sizes.append(size)
        dense_sizes.append(dsize)
        cycles.append(cyc)
    nnz = masks.sum(axis=(1, 2), dtype=np.int64)
    nonempty = masks.any(axis=1).sum(axis=1, dtype=np.int64)
    return StreamTiles(
        np.concatenate(sizes).astype(np.int64),
        np.concatenate(dense_sizes).astype(np.int64),
        nnz,
        nonempty,
        np.concatenate(cycles).astype(np.int64),
        vectors,
        lanes,
    )


def _schedule(
    plan: TilingPlan,
    df: Dataflow,
    after_glb: bool,
    sod: bool,
    w_stored: int,
    w_dense: int,
    a_stored: int,
    a_dense: int,
    compute_one: int,
    folds_run: int,
    decomp_stall: int,
    R: int,
    C: int,
    arch: Architecture,
    weight_streams: WeightStreams,
) -> tuple[TilingPlan, int]:
    """(plan with DRAM bits as transferred, memory stall cycles)."""
    # DRAM always holds the compressed form; a GLB before the decompressor (ablation)
    # holds dense tiles, so the plan was sized dense and its traffic shrinks by the ratio.
    scale_w = 1.0 if after_glb else (w_stored / w_dense if w_dense else 1.0)
    scale_a = 1.0 if after_glb else (a_stored / a_dense if a_dense else 1.0)
    plan = TilingPlan(
        plan.schedule,
        plan.blocks,
        plan.dram_read_bits_a * scale_a,
        plan.dram_read_bits_w * scale_w,
        plan.dram_write_bits_o,
        plan.glb_used_bits,
    )
    # When the GLB cannot hold the streamed operand whole (WS: A in row blocks; IS: W in
    # column blocks), every block re-runs the stationary folds: each pays the fold
    # overhead (preload + skew) again; the streamed cycles are only split. These cycles
    # are charged as memory stalls (the GLB's capacity causes them), so compute cycles
    # stay SCALE-Sim's.
    repass = (df is Dataflow.WS and plan.schedule == "a_blocks") or (
        df is Dataflow.IS and plan.schedule == "w_blocks"
    )
    extra = (plan.blocks - 1) * folds_run * (2 * R + C - 2) if repass else 0
    busy = compute_one + decomp_stall + extra
    loads, comps = block_schedule(
        plan, busy, arch.dram_bandwidth_bytes_per_cycle, max(folds_run, 1)
    )
    if sod and not after_glb:
        # Units between DRAM and the GLB: a slot's transfer takes the longer of the DRAM
        # transfer and the decompression of its share of the tiles.
        per_slot = int(np.ceil(weight_streams.decode_cycles.sum() / max(len(loads) - 1, 1)))
        loads = np.maximum(loads, np.r_[np.full(len(loads) - 1, per_slot), 0])
    total = pipeline_cycles(loads, comps, True)
    return plan, total - (compute_one + decomp_stall)


@dataclass(frozen=True)
class WeightStreams:
    """The W streams of one GEMM (all distinct groups), as the compiler lays them out.

    A stream is what one fold reads: a tile (WS) or a row/column of tiles (OS/IS), in the
    compiler's image order (:mod:`sod.compiler`); sizes are word-aligned bits.
    """

    size_bits: np.ndarray  # (S,) stored bits, every tile aligned to a GLB word
    dense_bits: np.ndarray  # (S,) the same stream stored dense (aligned)
    nnz: np.ndarray  # (S,) non-zeros
    nonempty: np.ndarray  # (S,) vectors with a non-zero
    vectors: np.ndarray  # (S,) vectors the array consumes
    lanes: np.ndarray  # (S,) lanes per vector (MACs per vector per activation row)
    elements: np.ndarray  # (S,) W elements covered
    decode_cycles: np.ndarray  # (S,) cycles for a unit to emit the stream, alone
    stall_cycles: np.ndarray  # (S,) decode cycles beyond one vector per cycle
    fold_stream: np.ndarray  # (F,) stream of each fold, SCALE-Sim fold order, group-major
    fold_group: np.ndarray  # (F,) group of each fold


def _weight_streams(
    weight: np.ndarray,
    m: int,
    R: int,
    C: int,
    df: Dataflow,
    fmt: str,
    spec: FormatSpec,
    read_bits: int,
    fallback: bool,
) -> WeightStreams:
    """Streams of every group from the compiler's fast path (exact sizes and timing)."""
    if read_bits % 8 or read_bits > 4096:
        raise ArchitectureError(
            f"decompressor read width {read_bits} bits must be a multiple of 8 and <= 4096"
        )
    options = CompileOptions(
        format=fmt, spec=spec, dense_fallback=fallback, read_width_bits=read_bits
    )
    parts: dict[str, list[np.ndarray]] = {f: [] for f in WeightStreams.__dataclass_fields__}
    offset = 0
    for gi, w in enumerate(weight):
        grid = TileGrid(int(w.shape[0]), int(w.shape[1]), R, C, df.value)
        tiles = fast_tiles(w, grid, options)
        timing = emit_cycles(stream_needs(tiles, grid, read_bits), read_bits)
        words = -(-tiles.size_bits // read_bits) * read_bits
        order = grid.order
        kr, nc = grid.block_extent(order[:, 0], order[:, 1])
        lanes_t, vecs_t = grid.stream_shape(order[:, 0], order[:, 1])
        dense_t = -(-(lanes_t * vecs_t * spec.value_bits) // read_bits) * read_bits
        blocked = grid.blocked(w)  # (kb, nb, R, C)
        nnz_t = blocked.sum(axis=(2, 3))[order[:, 0], order[:, 1]]
        # Stream of each tile (image order): WS one tile each; OS/IS a run of ``per`` tiles.
        per = 1 if df is Dataflow.WS else (grid.k_blocks if df is Dataflow.OS else grid.n_blocks)
        index = np.arange(grid.count) // per
        streams = range(grid.count // per)

        def stream_sum(
            x: np.ndarray, index: np.ndarray = index, s: int = len(streams)
        ) -> np.ndarray:
            return np.bincount(index, weights=x, minlength=s)

        if df is Dataflow.WS:
            nonempty = blocked.any(axis=3).sum(axis=2)[order[:, 0], order[:, 1]]
            lanes = nc
        elif df is Dataflow.OS:  # stream = column block nb: vectors are the k rows
            rows_any = blocked.any(axis=3)  # (kb, nb, R)
            nonempty = rows_any.sum(axis=(0, 2))[order[:: grid.k_blocks, 1]]
            lanes = nc[:: grid.k_blocks]
        else:  # IS: stream = row block kb: vectors are the n columns
            cols_any = blocked.any(axis=2)  # (kb, nb, C)
            nonempty = cols_any.sum(axis=(1, 2))[order[:: grid.n_blocks, 0]]
            lanes = kr[:: grid.n_blocks]
        vectors = np.full(len(streams), R) if df is Dataflow.WS else stream_sum(vecs_t)
        parts["size_bits"].append(stream_sum(words).astype(np.int64))
        parts["dense_bits"].append(stream_sum(dense_t).astype(np.int64))
        parts["nnz"].append(stream_sum(nnz_t).astype(np.int64))
        parts["nonempty"].append(np.asarray(nonempty, np.int64))
        parts["vectors"].append(np.asarray(vectors, np.int64))
        parts["lanes"].append(np.asarray(lanes, np.int64))
        parts["elements"].append(stream_sum(kr * nc).astype(np.int64))
        parts["decode_cycles"].append(np.asarray(timing.cycles, np.int64))
        parts["stall_cycles"].append(np.asarray(timing.stall_cycles, np.int64))
        folds = grid.fold_streams(m)
        parts["fold_stream"].append(folds + offset)
        parts["fold_group"].append(np.full(folds.size, gi))
        offset += len(streams)
    return WeightStreams(**{f: np.concatenate(v) for f, v in parts.items()})


def _dense_streams(
    g: int, m: int, k: int, n: int, R: int, C: int, df: Dataflow, value_bits: int
) -> WeightStreams:
    """Streams of a dense array: full, stored dense, never skipped, never decoded."""
    grid = TileGrid(k, n, R, C, df.value)
    kt, nt = grid.k_blocks, grid.n_blocks
    kr = np.minimum(R, k - np.arange(kt) * R)
    nc = np.minimum(C, n - np.arange(nt) * C)
    if df is Dataflow.WS:  # image order: nb outer, kb inner
        elements = np.outer(nc, kr).ravel()
        vectors, lanes = np.full(elements.size, R), np.repeat(nc, kt)
    elif df is Dataflow.OS:
        elements, vectors, lanes = nc * k, np.full(nt, k), nc
    else:
        elements, vectors, lanes = kr * n, np.full(kt, n), kr
    folds = grid.fold_streams(m)
    s = elements.size
    size = elements * value_bits
    tile = lambda x: np.tile(np.asarray(x, np.int64), g)  # noqa: E731
    return WeightStreams(
        tile(size),
        tile(size),
        tile(elements),
        tile(vectors),
        tile(vectors),
        tile(lanes),
        tile(elements),
        np.zeros(s * g, np.int64),
        np.zeros(s * g, np.int64),
        np.concatenate([folds + i * s for i in range(g)]),
        np.repeat(np.arange(g), folds.size),
    )


def _effectual(weight: np.ndarray, act: np.ndarray | None, m: int) -> int:
    """Σ over groups and k of nnz(A[:, k]) · nnz(W[k, :]) for (G, k, n) / (G, m, k) masks."""
    w_rows = weight.sum(axis=2, dtype=np.int64)  # (G, k) non-zeros per W row
    if act is None:
        return int(w_rows.sum()) * m
    a_cols = act.sum(axis=1, dtype=np.int64)  # (G, k) non-zeros per A column
    return int((a_cols * w_rows).sum())


@memo_by_content(max_bytes=1 << 20)
def _effectual_packed(w_packed: np.ndarray, a_packed: np.ndarray, dims: tuple) -> int:
    name, m, k, n, repeat, groups, w_density, a_density = dims
    w_mask = BitMask(w_packed, (w_packed.shape[0], n)) if w_packed.size else None
    a_mask = BitMask(a_packed, (a_packed.shape[0], k)) if a_packed.size else None
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
    masks = operand_masks(gemm, groups=groups)
    return _effectual(masks.weight, masks.act, m)


def _effectual_of_gemm(gemm: Gemm) -> int:
    """Effectual MACs of one copy of every distinct group, memoized by mask content (a
    sweep evaluates the same pruned layer at several array sizes)."""
    empty = np.zeros(0, np.uint8)
    w = gemm.weight_mask.packed if gemm.weight_mask is not None else empty
    a = gemm.act_mask.packed if gemm.act_mask is not None else empty
    dims = (
        gemm.name,
        gemm.m,
        gemm.k,
        gemm.n,
        gemm.repeat,
        gemm.operand_groups,
        gemm.weight_density,
        gemm.act_density,
    )
    return _effectual_packed(w, a, dims)


def _format_spec(arch: Architecture) -> FormatSpec:
    if isinstance(arch, SparseOnDenseArch):
        return FormatSpec(
            value_bits=arch.value_bits,
            index_bits=arch.index_bits,
            pointer_bits=arch.pointer_bits,
            run_bits=arch.run_bits,
        )
    return FormatSpec(value_bits=arch.value_bits)


def evaluate(gemm: Gemm, arch: Architecture) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on a dense or Sparse-on-Dense array."""
    sod = isinstance(arch, SparseOnDenseArch)
    R, C = arch.array_rows, arch.array_cols
    df = Dataflow(arch.dataflow)
    # A dense array with no pattern to count needs no masks at all (fast path).
    # The dense array needs masks only to count effectual MACs (memoized by content).
    masks = operand_masks(gemm) if sod else None
    g = gemm.operand_groups
    mult = gemm.repeat // g
    m, k, n = gemm.m, gemm.k, gemm.n
    vb, ab = arch.value_bits, arch.acc_bits
    spec = _format_spec(arch)

    w_fmt = (arch.weight_format if gemm.w_is_weight else arch.act_format) if sod else "dense"
    a_fmt = arch.act_format if sod else "dense"
    for fmt in (w_fmt, a_fmt):
        format_module(fmt)  # FormatError naming an unknown format
    read_bits = (arch.decompressor_read_bits or arch.glb_read_width_bits) if sod else 1 << 30
    units = arch.decompressor_units if sod else 1
    lanes = (arch.decompressor_lanes or None) if sod else None
    fallback = arch.dense_fallback if sod else False
    skip = sod and arch.skip_zero_tiles
    gating = sod and arch.zero_gating
    after_glb = (not sod) or arch.placement is DecompressorPlacement.AFTER_GLB

    # --- weight streams and folds ----------------------------------------------------
    if sod:
        ws = _weight_streams(masks.weight, m, R, C, df, w_fmt, spec, read_bits * units, fallback)
    else:
        ws = _dense_streams(g, m, k, n, R, C, df, vb)
    base = evaluate_dense(m, k, n, R, C, df)
    row_folds, col_folds = int(base.row_folds[0]), int(base.col_folds[0])
    reuse = 1 if df is Dataflow.WS else (row_folds if df is Dataflow.OS else col_folds)

    # Per fold (SCALE-Sim's order): the stream it reads and its streamed length T after
    # skipping. WS skips a fold whose tile is empty; OS/IS skip empty vectors of the
    # stream (and the matching activation vectors), so T shrinks.
    fs = ws.fold_stream
    if df is Dataflow.WS:
        live = ws.nnz[fs] > 0 if skip else np.ones(fs.size, bool)
        t_fold = np.full(fs.size, m)
        fold_cycles = np.where(live, 2 * R + C + m - 2, 0)
    else:
        t_fold = ws.nonempty[fs] if skip else ws.vectors[fs]
        live = t_fold > 0
        overhead = R + C - 2 if df is Dataflow.OS else 2 * R + C - 2
        fold_cycles = np.where(live, overhead + t_fold, 0)
    folds_run = int(np.count_nonzero(live))
    # SCALE-Sim's "− 1" (it reports the last cycle's index) applies to each GEMM execution.
    groups_run = int(np.count_nonzero(np.bincount(ws.fold_group, weights=live, minlength=g)))
    compute_one = int(fold_cycles.sum()) - groups_run

    # --- decompressor stalls (after the GLB) ---------------------------------------------
    decomp_stall = 0
    if sod and after_glb and live.any():
        fc = fold_cycles[live]
        if arch.decompressor_tile_buffer:
            # A unit decompresses fold i+1's stream while fold i computes.
            total = pipeline_cycles(ws.decode_cycles[fs][live], fc, double_buffered=True)
            decomp_stall = total - int(fc.sum())
        else:
            # The unit starts when the fold starts consuming; each late vector freezes
            # the array one cycle (equal to sod.models.decompressor.layer_timing).
            decomp_stall = int(ws.stall_cycles[fs][live].sum())

    # --- MACs ------------------------------------------------------------------------
    macs_dense = m * k * n * gemm.repeat
    if masks is not None:
        macs_effectual = _effectual(masks.weight, masks.act, m) * mult
    elif gemm.weight_mask is None and gemm.act_mask is None:
        macs_effectual = round(m * k * n * g * gemm.weight_density * gemm.act_density) * mult
    else:
        macs_effectual = _effectual_of_gemm(gemm) * mult
    # Issued MACs: every PE of a live fold multiplies for each streamed step.
    if df is Dataflow.WS:
        macs_issued = int((ws.elements[fs] * live).sum()) * m * mult
    else:
        per_stream = np.bincount(fs, weights=live * t_fold, minlength=ws.lanes.size)
        # OS/IS folds of one stream cover all m rows between them (reuse folds).
        macs_issued = round((per_stream / reuse * ws.lanes).sum()) * m * mult
    macs_effectual = min(macs_effectual, macs_issued)

    # --- storage sizes (bits) ----------------------------------------------------------
    w_stored = int(ws.size_bits.sum())  # as laid out in the GLB (and DRAM), word-aligned
    w_dense = int(ws.dense_bits.sum())
    a_dense = g * m * k * vb
    if a_fmt != "dense" and masks is not None and masks.act is not None:
        at = _tiles_is(masks.act.transpose(0, 2, 1), R)  # A stream: L=R lanes of k, V=m
        a_tiles = stream_tiles(at, a_fmt, spec, read_bits * units, fallback, lanes)
        a_stored = int(a_tiles.size_bits.sum())
        a_decode = a_tiles.decode_cycles
    else:
        a_stored, a_decode = a_dense, None
    o_bits = g * m * n * vb  # outputs leave as int8 after requantization
    glb_bits = arch.glb_kib * 1024 * 8
    glb_w = w_stored if after_glb else w_dense
    glb_a = a_stored if after_glb else a_dense

    # Activation decompression must keep up with the stream of each fold (A is streamed
    # once per column fold in WS, once per row fold in IS... modelled as a pipeline).
    if sod and after_glb and a_decode is not None:
        per_fold = np.resize(a_decode, max(folds_run, 1))
        fc = fold_cycles[fold_cycles > 0]
        if fc.size:
            total = pipeline_cycles(per_fold[: fc.size], fc, double_buffered=True)
            decomp_stall = max(decomp_stall, total - int(fc.sum()))

    # --- memory system -------------------------------------------------------------------
    stage = R if df is not Dataflow.IS else C
    if arch.ideal_memory:
        mem_stall = 0
        plan = None
        dram_a, dram_w, dram_o = float(a_stored), float(w_stored), float(o_bits)
    else:
        try:
            plans = candidate_plans(g * m, k, n, glb_a, glb_w, o_bits, glb_bits, True, stage)
        except ArchitectureError as err:
            raise ArchitectureError(f"layer {gemm.name!r}: {err}") from None
        # The compiler picks the schedule that finishes first (then: fewest DRAM bits).
        options = [
            _schedule(
                p,
                df,
                after_glb,
                sod,
                w_stored,
                w_dense,
                a_stored,
                a_dense,
                compute_one,
                folds_run,
                decomp_stall,
                R,
                C,
                arch,
                ws,
            )
            for p in plans
        ]
        plan, mem_stall = min(options, key=lambda o: (o[1], o[0].dram_bits))
        dram_a, dram_w, dram_o = (
            plan.dram_read_bits_a,
            plan.dram_read_bits_w,
            plan.dram_write_bits_o,
        )

    compute_cycles = compute_one * mult
    stall_cycles = (decomp_stall + mem_stall) * mult

    # --- actions --------------------------------------------------------------------------
    gated = macs_issued - macs_effectual if gating else 0
    a_reads = col_folds if df is Dataflow.WS else (col_folds if df is Dataflow.OS else 1)
    stream_glb_bits = ws.size_bits if after_glb else ws.dense_bits
    glb_w_reads = int(stream_glb_bits[fs][live].sum())
    glb_a_reads = glb_a * a_reads
    psum_passes = row_folds if df is not Dataflow.OS else 1
    actions = {
        "mac": float(macs_issued - gated),
        "mac_gated": float(gated),
        "pe_reg_bits.act": float(macs_issued * vb),
        "pe_reg_bits.out": float(macs_issued * ab),
        "pe_reg_bits.weight": float(folds_run * R * C * vb * mult),
        "glb_read_bits.weight": float(glb_w_reads * mult),
        "glb_read_bits.act": float(glb_a_reads * mult),
        "glb_write_bits.out": float(g * m * n * ab * psum_passes * mult),
        "glb_read_bits.out": float(g * m * n * ab * (psum_passes - 1) * mult),
        "glb_write_bits.weight": float(dram_w * mult) if after_glb else float(w_dense * mult),
        "glb_write_bits.act": float(dram_a * mult),
        "dram_read_bits.weight": float(dram_w * mult),
        "dram_read_bits.act": float(dram_a * mult),
        "dram_write_bits.out": float(dram_o * mult),
    }
    if sod and w_fmt != "dense":
        emitted = float((live * ws.vectors[fs] * ws.lanes[fs]).sum() * mult)
        actions["decompress_elements"] = emitted
        actions["decompress_words"] = float(glb_w_reads / read_bits * mult)
    details = {
        "folds": folds_run * mult,
        "folds_dense": int(base.folds[0]) * g * mult,
        "weight_format": w_fmt,
        "weight_bits_stored": w_stored * mult if gemm.w_is_weight else w_stored,
        "weight_bits_dense": w_dense,
        "decompressor_stall_cycles": decomp_stall * mult,
        "memory_stall_cycles": mem_stall * mult,
        "tiling": plan.schedule if plan is not None else "ideal",
        "iid_pattern": bool(masks is not None and masks.iid_pattern),
    }
    return Counts(
        compute_cycles,
        stall_cycles,
        macs_dense,
        macs_issued,
        macs_effectual,
        arch.pe_count,
        actions,
        details,
    )
