"""Area, sizing and energy of an architecture spec: the design describes, :mod:`sod.cost`
prices (kind-agnostic)."""

from __future__ import annotations

import math
from typing import Any, Literal

from sod.cost.area import BufferRule, ChipArea, ChipDescription, chip_area
from sod.cost.energy import EnergyBreakdown, EnergyTable, action_energies, energy
from sod.cost.errors import CostError
from sod.cost.sizing import Sizing, check_budget, size_description
from sod.designs.registry import design_of
from sod.models.common import Counts
from sod.tech import Technology, load_technology


def _tech(arch: Any, tech: Technology | None) -> Technology:
    return tech or load_technology(getattr(arch, "node_nm", 45))


def describe(
    arch: Any,
    tech: Technology | None = None,
    glb: BufferRule | None = None,
    pe_source: str = "synth",
    fixed_um2: float = 0.0,
) -> ChipDescription:
    """The :class:`ChipDescription` of any architecture spec.

    ``glb`` defaults to the architecture's own GLB: ``glb_kib`` in ``glb_banks`` banks of
    ``glb_read_width_bits`` ports, ``glb_cell`` cells (a given rule takes those it does not
    set from the architecture). PE areas come
    from synthesis where available (``pe_source="synth"``) else their composition.
    """
    own = {
        "banks": arch.glb_banks,
        "cell": arch.glb_cell,
        "port_bits": arch.glb_read_width_bits,
        "clock_mhz": arch.frequency_mhz,
    }
    if glb is None:
        glb = BufferRule(capacity_bytes=arch.glb_kib * 1024, **own)
    else:  # the architecture's banks, cell and port unless the rule sets them
        glb = glb.model_copy(update={k: v for k, v in own.items() if k not in glb.model_fields_set})
    return design_of(arch).chip(arch, _tech(arch, tech), glb, pe_source, fixed_um2)


def arch_area(
    arch: Any, tech: Technology | None = None, pe_source: str = "synth", fixed_um2: float = 0.0
) -> ChipArea:
    """Area of an architecture as specified (its array size and GLB capacity)."""
    tech = _tech(arch, tech)
    desc = describe(arch, tech, pe_source=pe_source, fixed_um2=fixed_um2)
    rows, cols = design_of(arch).shape(arch)
    return chip_area(desc, tech, rows, cols)


def glb_banks_for_need(arch: Any) -> int:
    """GLB banks whose ports (``glb_read_width_bits`` each) supply the design's bandwidth
    need (:meth:`sod.designs.Design.glb_bandwidth_bits_per_cycle`) at ``arch``'s size."""
    need = design_of(arch).glb_bandwidth_bits_per_cycle(arch)
    return max(1, math.ceil(need / arch.glb_read_width_bits))


def size_for_budget(
    arch: Any,
    budget_mm2: float,
    glb: BufferRule | None = None,
    tech: Technology | None = None,
    pe_source: str = "synth",
    fixed_um2: float = 0.0,
    tile_area_scale: float = 1.0,
    fill_tolerance: float = 0.02,
    glb_banks: Literal["arch", "need"] = "arch",
) -> Sizing:
    """Largest version of architecture ``arch`` within ``budget_mm2``.

    ``glb`` is the buffer rule (default: keep the architecture's GLB capacity).
    ``tile_area_scale`` scales the PE (tile) area before sizing — the sensitivity of the
    verdict to the PE area ratio. The result's ``arch`` is ``arch`` resized (its grid by
    the design's grid axes, and its GLB). ``fill_tolerance``: fills within this fraction
    of the budget are ties, broken by the spec's aspect (:func:`sod.cost.size_description`).
    ``glb_banks="need"``: the GLB gets the banks the sized array needs
    (:func:`glb_banks_for_need`, paid for in area), found as a fixed point (sizing with
    more banks leaves less area for PEs, which need fewer); default: the spec's banks.
    """
    if glb_banks == "need":
        seen: list[int] = []
        banks = arch.glb_banks
        while True:
            sized = size_for_budget(
                arch.model_copy(update={"glb_banks": banks}),
                budget_mm2,
                glb,
                tech,
                pe_source,
                fixed_um2,
                tile_area_scale,
                fill_tolerance,
            )
            need = glb_banks_for_need(sized.arch)
            if need == banks:
                return sized
            seen.append(banks)
            if need in seen:  # a cycle: its most banks are never short of bandwidth
                banks = max(seen[seen.index(need) :])
                break
            banks = need
        arch = arch.model_copy(update={"glb_banks": banks})
    elif glb_banks != "arch":
        raise CostError(f"glb_banks must be 'arch' or 'need', got {glb_banks!r}")
    check_budget(budget_mm2)
    tech = _tech(arch, tech)
    design = design_of(arch)
    desc = describe(arch, tech, glb=glb, pe_source=pe_source, fixed_um2=fixed_um2)
    if tile_area_scale != 1.0:
        desc = desc.model_copy(update={"tile_area_um2": desc.tile_area_um2 * tile_area_scale})
    if desc.grid == "2d" and glb is None:
        rows, cols = design.shape(arch)
        desc = desc.model_copy(update={"aspect": cols / rows})
    sizing = size_description(desc, tech, budget_mm2, fill_tolerance)
    resized = design.resized(arch, sizing.rows, sizing.cols, sizing.glb_bytes / 1024)
    return Sizing(
        sizing.kind,
        sizing.budget_mm2,
        sizing.rows,
        sizing.cols,
        sizing.pes,
        sizing.glb_bytes,
        sizing.area,
        resized,
    )


def energy_table_for(arch: Any, tech: Technology | None = None) -> EnergyTable:
    """The energy table of an architecture spec."""
    tech = _tech(arch, tech)
    return action_energies(tech, **design_of(arch).energy_params(arch, tech))


def counts_energy(
    counts: Counts, arch: Any, tech: Technology | None = None, table: EnergyTable | None = None
) -> EnergyBreakdown:
    """Energy of a model's :class:`~sod.models.common.Counts` on architecture ``arch``:
    its actions priced by ``energy_table_for(arch)``, plus the chip's leakage (from
    :func:`arch_area`) over ``counts.cycles`` at ``arch.frequency_mhz``."""
    tech = _tech(arch, tech)
    table = table or energy_table_for(arch, tech)
    time_s = counts.cycles / (arch.frequency_mhz * 1e6)
    return energy(counts.actions, table, time_s=time_s, leakage_mw=arch_area(arch, tech).leakage_mw)
