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
from sod.errors import ArchitectureError
from sod.formats import FormatSpec, format_module, need_bits, resolve_widths
from sod.models.common import Counts
from sod.models.decompressor import emit_cycles
from sod.models.dense import evaluate_dense
from sod.models.memory import TilingPlan, block_schedule, candidate_plans, pipeline_cycles
from sod.models.operands import operand_masks
from sod.workload.gemm import Gemm

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


def _tiles_ws(w: np.ndarray, rows: int, cols: int) -> np.ndarray:
    g, k, n = w.shape
    kt, nt = -(-k // rows), -(-n // cols)
    pad = np.zeros((g, kt * rows, nt * cols), dtype=bool)
    pad[:, :k, :n] = w
    # (g, kt, R, nt, C) -> (g, nt, kt, C, R): fold order is column fold outer, row inner.
    t = pad.reshape(g, kt, rows, nt, cols).transpose(0, 3, 1, 4, 2)
    return t.reshape(g * nt * kt, cols, rows)


def _tiles_os(w: np.ndarray, cols: int) -> np.ndarray:
    g, k, n = w.shape
    nt = -(-n // cols)
    pad = np.zeros((g, k, nt * cols), dtype=bool)
    pad[:, :, :n] = w
    return pad.reshape(g, k, nt, cols).transpose(0, 2, 3, 1).reshape(g * nt, cols, k)


def _tiles_is(w: np.ndarray, rows: int) -> np.ndarray:
    g, k, n = w.shape
    kt = -(-k // rows)
    pad = np.zeros((g, kt * rows, n), dtype=bool)
    pad[:, :k, :] = w
    return pad.reshape(g * kt, rows, n)


def stream_tiles(masks: np.ndarray, fmt: str, spec: FormatSpec, read_bits: int,
                 dense_fallback: bool, lanes_per_cycle: int | None = None) -> StreamTiles:
    """Sizes and decode cycles of a batch of stream tiles ``(T, L, V)``."""
    t, lanes, vectors = masks.shape
    widths = resolve_widths(spec, lanes, vectors)
    dense_w = resolve_widths(spec, lanes, vectors)
    per = max(1, _BATCH_ELEMENTS // max(lanes * vectors, 1))
    sizes, dense_sizes, cycles = [], [], []
    for s in range(0, t, per):
        batch = masks[s:s + per]
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
    return StreamTiles(np.concatenate(sizes).astype(np.int64),
                       np.concatenate(dense_sizes).astype(np.int64), nnz, nonempty,
                       np.concatenate(cycles).astype(np.int64), vectors, lanes)


def _schedule(plan: TilingPlan, df: Dataflow, after_glb: bool, sod: bool, w_stored: int,
              w_dense: int, a_stored: int, a_dense: int, compute_one: int, folds_run: int,
              decomp_stall: int, R: int, C: int, arch: Architecture,
              tiles: StreamTiles) -> tuple[TilingPlan, int, int]:
    """(plan with DRAM bits as transferred, memory stall cycles)."""
    # DRAM always holds the compressed form; a GLB before the decompressor (ablation)
    # holds dense tiles, so the plan was sized dense and its traffic shrinks by the ratio.
    scale_w = 1.0 if after_glb else (w_stored / w_dense if w_dense else 1.0)
    scale_a = 1.0 if after_glb else (a_stored / a_dense if a_dense else 1.0)
    plan = TilingPlan(plan.schedule, plan.blocks, plan.dram_read_bits_a * scale_a,
                      plan.dram_read_bits_w * scale_w, plan.dram_write_bits_o,
                      plan.glb_used_bits)
    # When the GLB cannot hold the streamed operand whole (WS: A in row blocks; IS: W in
    # column blocks), every block re-runs the stationary folds: each pays the fold
    # overhead (preload + skew) again; the streamed cycles are only split. These cycles
    # are charged as memory stalls (the GLB's capacity causes them), so compute cycles
    # stay SCALE-Sim's.
    repass = ((df is Dataflow.WS and plan.schedule == "a_blocks")
              or (df is Dataflow.IS and plan.schedule == "w_blocks"))
    extra = (plan.blocks - 1) * folds_run * (2 * R + C - 2) if repass else 0
    busy = compute_one + decomp_stall + extra
    loads, comps = block_schedule(plan, busy, arch.dram_bandwidth_bytes_per_cycle,
                                  max(folds_run, 1))
    if sod and not after_glb:
        # Units between DRAM and the GLB: a slot's transfer takes the longer of the DRAM
        # transfer and the decompression of its share of the tiles.
        per_slot = int(np.ceil(tiles.decode_cycles.sum() / max(len(loads) - 1, 1)))
        loads = np.maximum(loads, np.r_[np.full(len(loads) - 1, per_slot), 0])
    total = pipeline_cycles(loads, comps, True)
    return plan, total - (compute_one + decomp_stall)


def _dense_tiles(g: int, m: int, k: int, n: int, R: int, C: int,
                 df: Dataflow, value_bits: int) -> StreamTiles:
    """Stream tiles of a dense array: full, stored dense, never skipped, never decoded."""
    kt, nt = -(-k // R), -(-n // C)
    if df is Dataflow.WS:
        count, lanes, vectors = g * kt * nt, C, R
    elif df is Dataflow.OS:
        count, lanes, vectors = g * nt, C, k
    else:
        count, lanes, vectors = g * kt, R, n
    size = np.full(count, lanes * vectors * value_bits, dtype=np.int64)
    return StreamTiles(size, size, np.full(count, lanes * vectors, dtype=np.int64),
                       np.full(count, vectors, dtype=np.int64),
                       np.zeros(count, dtype=np.int64), vectors, lanes)


def _format_spec(arch: Architecture) -> FormatSpec:
    if isinstance(arch, SparseOnDenseArch):
        return FormatSpec(value_bits=arch.value_bits, index_bits=arch.index_bits,
                          pointer_bits=arch.pointer_bits, run_bits=arch.run_bits)
    return FormatSpec(value_bits=arch.value_bits)


def evaluate(gemm: Gemm, arch: Architecture) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on a dense or Sparse-on-Dense array."""
    sod = isinstance(arch, SparseOnDenseArch)
    R, C = arch.array_rows, arch.array_cols
    df = Dataflow(arch.dataflow)
    # A dense array with no pattern to count needs no masks at all (fast path).
    need_masks = sod or gemm.weight_mask is not None or gemm.act_mask is not None
    masks = operand_masks(gemm) if need_masks else None
    stacked = gemm.repeat > 1 and gemm.conv is not None and gemm.conv.groups == gemm.repeat
    g = gemm.repeat if stacked else 1
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

    # --- weight stream tiles and folds --------------------------------------------------
    if sod:
        if df is Dataflow.WS:
            wt = _tiles_ws(masks.weight, R, C)
        elif df is Dataflow.OS:
            wt = _tiles_os(masks.weight, C)
        else:
            wt = _tiles_is(masks.weight, R)
        tiles = stream_tiles(wt, w_fmt, spec, read_bits * units, fallback, lanes)
    else:
        tiles = _dense_tiles(g, m, k, n, R, C, df, vb)
    n_tiles = len(tiles.nnz)
    base = evaluate_dense(m, k, n, R, C, df)
    row_folds, col_folds = int(base.row_folds[0]), int(base.col_folds[0])

    # Folds: WS — one per weight tile; OS — tile b reused by every m row fold; IS — tile
    # a reused by every m column fold. Streamed length T per fold, after skipping.
    if df is Dataflow.WS:
        reuse = 1
        live = tiles.nnz > 0 if skip else np.ones(len(tiles.nnz), bool)
        fold_cycles = np.where(live, 2 * R + C + m - 2, 0)
        t_eff = np.full(len(tiles.nnz), m)
    else:
        reuse = row_folds if df is Dataflow.OS else col_folds
        t_eff = tiles.nonempty_vectors if skip else np.full(len(tiles.nnz), tiles.vectors)
        live = t_eff > 0
        overhead = R + C - 2 if df is Dataflow.OS else 2 * R + C - 2
        fold_cycles = np.where(live, overhead + t_eff, 0)
    # Each weight tile's folds, in order (tile-major; reuse folds of a tile are adjacent).
    fold_cycles = np.repeat(fold_cycles, reuse)
    decode = np.repeat(np.where(live, tiles.decode_cycles, 0), reuse)
    folds_run = int(np.count_nonzero(fold_cycles))
    # SCALE-Sim's "− 1" (it reports the last cycle's index) applies to each GEMM execution.
    groups_run = int(np.count_nonzero(fold_cycles.reshape(g, -1).sum(axis=1)))
    compute_one = int(fold_cycles.sum()) - groups_run

    # --- decompressor stalls (after the GLB) ---------------------------------------------
    decomp_stall = 0
    if sod and after_glb:
        fc, dc = fold_cycles[fold_cycles > 0], decode[fold_cycles > 0]
        if fc.size:
            if arch.decompressor_tile_buffer:
                total = pipeline_cycles(dc, fc, double_buffered=True)
            else:
                # The fold consumes its vectors in the R-cycle preload (WS) or while it
                # streams (OS/IS); a unit slower than that stalls the fold.
                window = (np.full(fc.size, R) if df is Dataflow.WS
                          else np.repeat(t_eff, reuse)[fold_cycles > 0])
                total = int(fc.sum() + np.maximum(dc - window, 0).sum())
            decomp_stall = total - int(fc.sum())

    # --- MACs ------------------------------------------------------------------------
    macs_dense = m * k * n * gemm.repeat
    if masks is None:
        macs_effectual = round(m * k * n * g * gemm.weight_density * gemm.act_density) * mult
    else:
        w_rows = masks.weight.sum(axis=2, dtype=np.int64)  # (G, k) non-zeros per W row
        if masks.act is None:
            a_cols = np.full((g, k), m, dtype=np.int64)
        else:
            a_cols = masks.act.sum(axis=1, dtype=np.int64)  # (G, k) non-zeros per A column
        macs_effectual = int((a_cols * w_rows).sum()) * mult
    if df is Dataflow.WS:
        kt, nt = -(-k // R), -(-n // C)
        ks = np.minimum(R, k - np.arange(kt) * R)
        ns = np.minimum(C, n - np.arange(nt) * C)
        tile_elems = np.tile(np.outer(ns, ks).reshape(-1), g)  # (g·nt·kt) in tile order
        macs_issued = int((tile_elems * m * live).sum()) * mult
    elif df is Dataflow.OS:
        nt = -(-n // C)
        ns = np.tile(np.minimum(C, n - np.arange(nt) * C), g)
        macs_issued = int((ns * t_eff).sum()) * m * mult
    else:
        kt = -(-k // R)
        ks = np.tile(np.minimum(R, k - np.arange(kt) * R), g)
        macs_issued = int((ks * t_eff).sum()) * m * mult
    macs_effectual = min(macs_effectual, macs_issued)

    # --- storage sizes (bits) ----------------------------------------------------------
    w_stored = int(tiles.size_bits.sum())  # as laid out in the GLB (and DRAM)
    w_dense = int(tiles.dense_bits.sum())
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
        options = [_schedule(p, df, after_glb, sod, w_stored, w_dense, a_stored, a_dense,
                             compute_one, folds_run, decomp_stall, R, C, arch, tiles)
                   for p in plans]
        plan, mem_stall = min(options, key=lambda o: (o[1], o[0].dram_bits))
        dram_a, dram_w, dram_o = (plan.dram_read_bits_a, plan.dram_read_bits_w,
                                  plan.dram_write_bits_o)

    compute_cycles = compute_one * mult
    stall_cycles = (decomp_stall + mem_stall) * mult

    # --- actions --------------------------------------------------------------------------
    gated = macs_issued - macs_effectual if gating else 0
    a_reads = col_folds if df is Dataflow.WS else (col_folds if df is Dataflow.OS else 1)
    glb_w_reads = glb_w * reuse
    glb_a_reads = glb_a * a_reads
    psum_passes = row_folds if df is not Dataflow.OS else 1
    actions = {
        "mac": float(macs_issued - gated),
        "mac_gated": float(gated),
        "pe_reg_bits.act": float(macs_issued * vb),
        "pe_reg_bits.out": float(macs_issued * ab),
        "pe_reg_bits.weight": float(n_tiles * reuse * R * C * vb * mult),
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
        emitted = float((live * tiles.vectors * tiles.lanes).sum() * reuse * mult)
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
    return Counts(compute_cycles, stall_cycles, macs_dense, macs_issued, macs_effectual,
                  arch.pe_count, actions, details)
