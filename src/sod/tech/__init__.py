"""Technology tables: sourced energies, areas, SRAM (CACTI) and node scaling.

``load_technology(45)`` (or ``"16nm"``, or a YAML path) gives a :class:`Technology`;
:func:`sram_cost` reads SRAM numbers by capacity and port width; :func:`load_synth_table`
reads the synthesized gate-equivalent areas of the RTL designs.
"""

from sod.tech.errors import TechnologyError
from sod.tech.model import Quantity, Technology, load_technology_file, parse_technology
from sod.tech.scaling import (
    SUPPORTED_NODES_NM,
    base_technology,
    load_technology,
    logic_area_factor,
    logic_energy_factor,
    scaled,
    sram_scaling,
)
from sod.tech.sram import (
    CELL_TYPES,
    SramCost,
    cacti_cell,
    fit_power_law,
    sram_arrays,
    sram_cost,
)
from sod.tech.synth import SynthTable, load_synth_table

__all__ = [
    "CELL_TYPES",
    "SUPPORTED_NODES_NM",
    "Quantity",
    "SramCost",
    "SynthTable",
    "Technology",
    "TechnologyError",
    "base_technology",
    "cacti_cell",
    "fit_power_law",
    "load_synth_table",
    "load_technology",
    "load_technology_file",
    "logic_area_factor",
    "logic_energy_factor",
    "parse_technology",
    "scaled",
    "sram_arrays",
    "sram_cost",
    "sram_scaling",
]
