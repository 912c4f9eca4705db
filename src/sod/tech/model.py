"""The :class:`Technology`: sourced cost numbers of one process node, loaded from YAML.

A technology file (see ``data/tech_45nm.yaml``) holds energies per operation (pJ), areas
(µm²), DRAM energy per bit, model parameters and the SRAM table to use. Every number is a
:class:`Quantity` that carries its value, its source (a key of ``sources``) and a mark
(S seen, M measured, R re-quoted, D derived, A assumption). Validation names the bad
field in a one-line :class:`~sod.tech.errors.TechnologyError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sod.tech.errors import TechnologyError
from sod.yamlio import read_yaml_mapping

DATA_DIR = Path(__file__).parent / "data"

Mark = Literal["S", "M", "R", "D", "A"]

# Entries the cost models read; a technology file must define all of them.
REQUIRED_ENERGY_PJ: tuple[str, ...] = (
    "int8_add",
    "int16_add",
    "int32_add",
    "int8_mult",
    "int32_mult",
    "register_bit",
    "comparator_32b",
)
REQUIRED_AREA_UM2: tuple[str, ...] = (
    "int8_add",
    "int16_add",
    "int32_add",
    "int8_mult",
    "int32_mult",
    "register_bit",
    "comparator_32b",
    "cell_nand2",
    "cell_and2",
    "cell_xor2",
    "cell_mux2",
    "cell_half_adder",
    "cell_full_adder",
)
REQUIRED_DRAM: tuple[str, ...] = ("lpddr4",)
REQUIRED_PARAMS: tuple[str, ...] = (
    "logic_utilization",
    "logic_leakage_nw_per_um2",
    "mac_gated_fraction",
)


class Quantity(BaseModel):
    """One sourced number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str = Field(min_length=1)
    mark: Mark
    note: str = ""


class SramSource(BaseModel):
    """Which CACTI table, cell type and node the SRAM model reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str = "cacti7_sram.csv"
    cell: str = "itrs-hp"
    node_nm: int = Field(45, gt=0)
    note: str = ""


class Technology(BaseModel):
    """Cost numbers of one node. Immutable; derive other nodes with :func:`scaled`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    node_nm: int = Field(gt=0)
    vdd_v: float = Field(gt=0)
    sources: dict[str, str]
    energy_pj: dict[str, Quantity]
    area_um2: dict[str, Quantity]
    dram_pj_per_bit: dict[str, Quantity]
    params: dict[str, Quantity]
    sram: SramSource = SramSource()
    # How this technology was derived from its base file (empty for a base file).
    derivation: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Technology:
        for table, required in (
            ("energy_pj", REQUIRED_ENERGY_PJ),
            ("area_um2", REQUIRED_AREA_UM2),
            ("dram_pj_per_bit", REQUIRED_DRAM),
            ("params", REQUIRED_PARAMS),
        ):
            have = getattr(self, table)
            for key in required:
                if key not in have:
                    raise ValueError(f"missing required entry {table}.{key}")
        for table in ("energy_pj", "area_um2", "dram_pj_per_bit", "params"):
            for key, q in getattr(self, table).items():
                if q.source not in self.sources:
                    raise ValueError(f"{table}.{key}: source {q.source!r} is not in 'sources'")
        if not 0 < self.params["logic_utilization"].value <= 1:
            raise ValueError("params.logic_utilization must be in (0, 1]")
        if self.params["mac_gated_fraction"].value > 1:
            raise ValueError("params.mac_gated_fraction must be in [0, 1]")
        return self

    # Short accessors: the cost models read plain floats.
    def e(self, key: str) -> float:
        """Energy per operation in pJ."""
        return _get(self.energy_pj, "energy_pj", key, self.name)

    def a(self, key: str) -> float:
        """Unplaced cell area in µm²."""
        return _get(self.area_um2, "area_um2", key, self.name)

    def p(self, key: str) -> float:
        """A model parameter."""
        return _get(self.params, "params", key, self.name)

    def dram_pj_per_bit_of(self, kind: str) -> float:
        """DRAM interface energy per bit for a DRAM kind (lpddr4, hbm2, ...)."""
        return _get(self.dram_pj_per_bit, "dram_pj_per_bit", kind.lower(), self.name)

    def rows(self) -> list[tuple[str, str, float, str, str, str]]:
        """(table, key, value, mark, source key, note) for every number, for display;
        ``sources[source key]`` is the full citation."""
        out = []
        for table in ("energy_pj", "area_um2", "dram_pj_per_bit", "params"):
            for key, q in getattr(self, table).items():
                out.append((table, key, q.value, q.mark, q.source, q.note))
        return out


def _get(table: dict[str, Quantity], table_name: str, key: str, tech: str) -> float:
    try:
        return table[key].value
    except KeyError:
        known = ", ".join(sorted(table))
        raise TechnologyError(
            f"technology {tech}: no {table_name}.{key} (known: {known})"
        ) from None


def _first_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: field {where!r}: {msg}" if where else f"{source}: {msg}"


def parse_technology(data: object, source: str) -> Technology:
    """Validate a technology mapping (from YAML); errors name ``source`` and the field."""
    if not isinstance(data, dict):
        raise TechnologyError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return Technology.model_validate(data)
    except ValidationError as err:
        raise TechnologyError(_first_error(err, source)) from None


def load_technology_file(path: str | Path) -> Technology:
    """Load a complete technology from a YAML file."""
    data = read_yaml_mapping(path, "technology file", TechnologyError)
    return parse_technology(data, str(path))
