"""Cost models: area (components, PEs, chips, iso-area sizing) and energy.

* :mod:`sod.cost.components` — the component library (adders, multipliers, registers,
  FIFOs, comparators, prefix sums, muxes, crossbars, SRAM macros, decompressors);
* :mod:`sod.cost.pe` — PE compositions; :mod:`sod.cost.pe_area` — the area a model uses
  (synthesized RTL where available);
* :mod:`sod.cost.area` — chip area with a breakdown, from a kind-agnostic ChipDescription
  (each architecture kind's design describes its chip: :mod:`sod.designs`);
* :mod:`sod.cost.sizing` — the largest configuration within an area budget;
* :mod:`sod.cost.energy` — action counts × energy per action + leakage × time.
"""

from sod.cost.area import (
    BufferRule,
    ChipArea,
    ChipDescription,
    EdgeUnit,
    chip_area,
)
from sod.cost.energy import (
    EnergyBreakdown,
    EnergyTable,
    action_energies,
    energy,
)
from sod.cost.errors import CostError
from sod.cost.pe import compose
from sod.cost.pe_area import PeArea, pe_area, synth_ratio, um2_per_synth_ge
from sod.cost.sizing import Sizing, size_description

__all__ = [
    "BufferRule",
    "ChipArea",
    "ChipDescription",
    "CostError",
    "EdgeUnit",
    "EnergyBreakdown",
    "EnergyTable",
    "PeArea",
    "Sizing",
    "action_energies",
    "chip_area",
    "compose",
    "energy",
    "pe_area",
    "size_description",
    "synth_ratio",
    "um2_per_synth_ge",
]
