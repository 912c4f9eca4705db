"""One :class:`Design` per architecture kind, and the registry that maps kinds to them.

``evaluate(gemm, arch)`` runs a GEMM on any architecture; ``arch_area``,
``size_for_budget``, ``energy_table_for`` and ``counts_energy`` price any architecture
through its design, with the kind-agnostic :mod:`sod.cost` models.
"""

from sod.designs.base import Design, GridAxes
from sod.designs.costing import (
    arch_area,
    counts_energy,
    describe,
    energy_table_for,
    glb_banks_for_need,
    size_for_budget,
)
from sod.designs.registry import DESIGNS, design_of, evaluate

__all__ = [
    "DESIGNS",
    "Design",
    "GridAxes",
    "arch_area",
    "counts_energy",
    "describe",
    "design_of",
    "energy_table_for",
    "evaluate",
    "glb_banks_for_need",
    "size_for_budget",
]
