"""The per-layer mapping search every design gets under the same rule.

A design lists the mappings its hardware supports for a GEMM (each an ``arch`` with its
mapping fields resolved, or any other evaluation) and :func:`best_mapping` evaluates every
one with the design's full model (compute, storage format, memory system) and keeps the
one with the fewest cycles, GLB port stalls included (:mod:`sod.models.glb_ports`); ties
go to the lower dynamic energy at the architecture's node (default technology). The
dense and Sparse-on-Dense arrays pick their dataflow by the same rule (``dataflow:
auto``, :func:`sod.models.sparse_on_dense.evaluate`). The chosen label and every
candidate's cycles go into ``Counts.details`` (``mapping``, ``mapping_cycles``).
docs/paper-comparison.md ("mapping search").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from sod.models.common import Counts
from sod.models.glb_ports import bound_by_glb_ports


def _dynamic_pj(design: Any, arch: Any, counts: Counts) -> float:
    from sod.cost.energy import action_energies, energy
    from sod.tech import load_technology

    tech = load_technology(getattr(arch, "node_nm", 45))
    table = action_energies(tech, **design.energy_params(arch, tech))
    return float(energy(counts.actions, table).dynamic_pj)


def best_mapping(
    design: Any,
    candidates: Sequence[tuple[str, Any, Callable[[], Counts]]],
) -> Counts:
    """The Counts of the best candidate ``(label, arch, evaluate)``: fewest cycles, then
    lowest dynamic energy (priced only when cycles tie)."""
    # Compared with the GLB port bound every design pays (sod.models.glb_ports).
    runs = [(label, arch, bound_by_glb_ports(run(), arch)) for label, arch, run in candidates]
    fewest = min(c.cycles for _, _, c in runs)
    tied = [r for r in runs if r[2].cycles == fewest]
    if len(tied) > 1:
        tied.sort(key=lambda r: _dynamic_pj(design, r[1], r[2]))
    label, _, best = tied[0]
    details = dict(best.details)
    details["mapping"] = label
    details["mapping_cycles"] = {lab: c.cycles for lab, _, c in runs}
    return replace(best, details=details)


def oriented_candidates(
    gemm: Any,
    mappings: Sequence[tuple[str, Any]],
    compute: Callable[..., Counts],
    stored_bits: Callable[..., float],
) -> list[tuple[str, Any, Callable[[], Counts]]]:
    """Candidates for :func:`best_mapping` of an accelerator whose mappings differ in
    ``orientation``: a transposed one runs ``compute`` on ``Oᵀ = Wᵀ·Aᵀ``
    (:func:`sod.models.accelerators.transposed`), each through
    :func:`sod.models.accelerators.evaluate_accelerator` (storage and memory included).
    The candidates share the GEMM's operand masks: its bit-packed masks as they are when
    ``compute`` takes them (:class:`~sod.models.accelerators.SharedBitMasks`), else
    unpacked once when first needed."""
    from sod.models.accelerators import evaluate_accelerator, shared_bitmasks, transposed
    from sod.models.operands import OperandMasks, operand_masks

    shared: list[OperandMasks] = []

    def unpacked() -> OperandMasks:
        if not shared:
            shared.append(operand_masks(gemm, tiled=True))
        return shared[0]

    masks_of: Any = shared_bitmasks(gemm) or unpacked

    out: list[tuple[str, Any, Callable[[], Counts]]] = []
    for label, cand in mappings:
        model = transposed(compute) if cand.orientation == "transposed" else compute
        run = partial(evaluate_accelerator, gemm, cand, model, stored_bits, masks_of)
        out.append((label, cand, run))
    return out
