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
* **Reordering.** With ``weight_reorder: sort`` the compiler permutes W's rows (and A's
  columns alike) and columns so that zero tiles appear (:mod:`sod.compiler.reorder`);
  the outputs are exact and MAC totals unchanged.
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

The model runs as named steps (:mod:`sod.models.systolic_steps`) over one
:class:`~sod.models.systolic_options.SystolicOptions` read from the architecture and one
:class:`~sod.models.systolic_options.Layer` read from the GEMM; the W streams the folds
read are measured in :mod:`sod.models.systolic_streams`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from sod.arch.spec import Architecture, Dataflow
from sod.compiler.plan import BlockCounts
from sod.errors import ArchitectureError
from sod.models.common import Counts
from sod.models.glb_ports import bound_by_glb_ports
from sod.models.systolic_options import Layer, SystolicOptions
from sod.models.systolic_steps import (
    Stored,
    actions,
    decompressor_stall,
    details,
    fold_schedule,
    mac_counts,
    memory_schedule,
    stored_operands,
)
from sod.models.systolic_streams import WeightStreams, stream_shapes, weight_streams
from sod.workload.gemm import Gemm


def evaluate(gemm: Gemm, arch: Architecture) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on a dense or Sparse-on-Dense array.

    With ``weight_reorder`` the compiler lays W out permuted (:meth:`Layer.reordered`), in
    the dataflow chosen for the natural layout, and keeps the natural order when that is
    no slower (fewer or equal total cycles), as it would after trying both."""
    opts = SystolicOptions.from_arch(arch)
    bound = partial(bound_by_glb_ports, arch=arch)
    # the same for every dataflow; masks are unpacked only if a step reads them (CSC and
    # dense W tiles and a dense-stored A are measured from the packed bits)
    layer = Layer.of(gemm, opts)
    if opts.auto_dataflow:
        # dataflow: auto — the compiler knows the shape, the masks and the memory system,
        # so each GEMM takes the dataflow with the fewest total cycles (compute + stalls)
        # in its natural layout; ties go to fewer compute cycles, then ws, os, is.
        # GLB port stalls included (sod.models.glb_ports), as in every design's search.
        natural, opts = _best_dataflow(layer, opts, bound)
    else:
        natural = bound(_evaluate_layer(layer, opts))
    # Reordering is then tried in that dataflow (not in all three: a third of the work,
    # and the layout search is the costly part). The natural layer is done with, so its
    # own masks may be permuted in place.
    reordered = layer.reordered(opts, consume=True)
    if reordered is None:
        return natural
    permuted = bound(_evaluate_layer(reordered, opts))
    return permuted if permuted.cycles < natural.cycles else natural


def _best_dataflow(
    layer: Layer, opts: SystolicOptions, bound: Callable[[Counts], Counts]
) -> tuple[Counts, SystolicOptions]:
    """The dataflow with the fewest total cycles, then compute cycles, then ws, os, is —
    each fully evaluated, except one whose exact compute cycles (from the masks' non-zero
    pattern alone, :func:`stream_shapes`) already rule it out: its total is at least its
    compute, so it cannot win when ``(compute, compute, rank)`` is not below the best
    ``(cycles, compute, rank)`` found. The most promising dataflow (fewest compute
    cycles) is evaluated first. The result is the one evaluating all three gives."""
    options = [replace(opts, dataflow=d) for d in (Dataflow.WS, Dataflow.OS, Dataflow.IS)]
    # One pass over each W mask counts its block lines for every dataflow: the patterns
    # the search prunes with and the tiles each evaluation measures.
    counts = None if layer.masks is None else layer.block_counts(opts.rows, opts.cols)
    shapes = stream_shapes(layer, options, counts)
    compute = [
        fold_schedule(layer, ws, o).compute_cycles * layer.mult
        for ws, o in zip(shapes, options, strict=True)
    ]
    best: tuple[tuple[int, int, int], Counts, SystolicOptions] | None = None
    for rank in sorted(range(len(options)), key=lambda i: (compute[i], i)):
        o = options[rank]
        if (
            best is not None
            and (compute[rank], compute[rank], rank) >= best[0]
            and _schedulable(layer, shapes[rank], o)
        ):
            continue
        result = bound(_evaluate_layer(layer, o, counts))
        key = (result.cycles, result.compute_cycles, rank)
        if best is None or key < best[0]:
            best = (key, result, o)
    assert best is not None
    return best[1], best[2]


def _schedulable(layer: Layer, shape: WeightStreams, opts: SystolicOptions) -> bool:
    """Whether the GLB surely holds a schedule of this dataflow (so leaving it out of the
    search cannot hide the error evaluating it would raise): checked with every operand at
    its dense size, an upper bound of what is stored when tiles fall back to dense (the
    schedules only get easier with fewer bits). False when unsure (no dense fallback,
    compressed activations): the dataflow is then evaluated."""
    if opts.ideal_memory:
        return True
    masks = layer.masks
    if masks is not None and (
        (layer.w_format != "dense" and not opts.dense_fallback)
        or (layer.a_format != "dense" and masks.act is not None)
    ):
        return False
    g, m, k, n, vb = layer.groups, layer.m, layer.k, layer.n, opts.value_bits
    w_bits, a_bits = int(shape.dense_bits.sum()), g * m * k * vb
    stored = Stored(w_bits, w_bits, a_bits, a_bits, g * m * n * vb, w_bits, a_bits, None)
    folds = fold_schedule(layer, shape, opts)
    try:
        memory_schedule(layer, stored, folds, folds.compute_cycles, shape, opts)
    except ArchitectureError:
        return False
    return True


def _evaluate_layer(
    layer: Layer, opts: SystolicOptions, counts: list[BlockCounts] | None = None
) -> Counts:
    ws = weight_streams(layer, opts, counts)
    folds = fold_schedule(layer, ws, opts)
    macs = mac_counts(layer, ws, folds, opts)
    stored = stored_operands(layer, ws, opts)
    decomp_stall = decompressor_stall(ws, folds, stored, opts)
    memory = memory_schedule(layer, stored, folds, folds.compute_cycles + decomp_stall, ws, opts)
    # Steps count one execution of every distinct group; repeats multiply.
    return Counts(
        folds.compute_cycles * layer.mult,
        (decomp_stall + memory.stall_cycles) * layer.mult,
        macs.dense,
        macs.issued,
        macs.effectual,
        opts.pe_count,
        actions(layer, ws, folds, macs, stored, memory, opts),
        details(layer, folds, stored, memory, decomp_stall, opts),
    )


__all__ = ["SystolicOptions", "evaluate"]
