"""Chip area: PE array + array-edge units (decompressors) + shared SRAMs + GLB + fixed.

A :class:`ChipDescription` is the small, architecture-agnostic description the area model
and the iso-area solver work on: the area of one array *tile* (a PE, or a cluster of
compute units), the units on the array edges, the operand storage moved to a shared SRAM,
a fixed overhead and the rule that sizes the global buffer. :func:`describe` builds one
from any architecture spec of :mod:`sod.arch`; :func:`chip_area` adds it up with a
breakdown (vectorized over candidate array shapes, which is what the solver uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sod.cost.errors import CostError
from sod.cost.pe_area import pe_area
from sod.tech import Technology, sram_arrays
from sod.tech.sram import subbanks_for_clock

MAX_LOG2_LANES = 10  # decompressor lanes are powers of two up to 1024 (the RTL's rule)


class BufferRule(BaseModel):
    """How big the global buffer is. Exactly one of ``share`` (fraction of the area
    budget), ``capacity_bytes`` (fixed) or ``bytes_per_pe`` (grows with the array)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float | None = Field(None, ge=0, lt=1)
    capacity_bytes: float | None = Field(None, ge=0)
    bytes_per_pe: float | None = Field(None, ge=0)
    port_bits: int = Field(256, gt=0, description="port width of each bank (CACTI)")
    granule_bytes: int = Field(1024, gt=0, description="capacities are multiples of this")
    banks: int = Field(
        1, gt=0, description="banks of capacity/banks, each its own CACTI macro and port"
    )
    cell: str | None = Field(None, description="SRAM cell type (hp, lstp; None = the technology's)")
    clock_mhz: float | None = Field(
        None,
        gt=0,
        description="clock every bank serves one access per cycle at: a bank whose macro "
        "cycles slower is split into interleaved sub-banks, each its own CACTI macro "
        "(area and leakage of all, energy of one); None: no sub-banking",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> BufferRule:
        given = [
            n for n in ("share", "capacity_bytes", "bytes_per_pe") if getattr(self, n) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of share, capacity_bytes, bytes_per_pe "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class EdgeUnit(BaseModel):
    """Units on one edge of a 2-D array, e.g. the decompressors feeding an operand.

    ``units`` units share the edge; with ``lanes == 0`` each unit is as wide as its share
    of the edge, rounded up to a power of two. ``area_um2_by_log2_lanes[j]`` is the placed
    area of one unit of 2**j lanes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    edge: Literal["rows", "cols"]
    units: int = Field(1, gt=0)
    lanes: int = Field(0, ge=0)
    area_um2_by_log2_lanes: tuple[float, ...]
    extrapolated_by_log2_lanes: tuple[bool, ...] = ()
    source: str = ""

    def lanes_for(self, edge_len: NDArray[np.int64], clip: bool = False) -> NDArray[np.int64]:
        """log2 of the lanes per unit; beyond the table a CostError (``clip``: the last
        entry, for callers that mark those shapes as not fitting)."""
        if self.lanes:
            want = np.full(edge_len.shape, self.lanes)
        else:
            want = -(-edge_len // self.units)
        log2 = np.ceil(np.log2(np.maximum(want, 1))).astype(np.int64)
        top = len(self.area_um2_by_log2_lanes) - 1
        if clip:
            return np.minimum(log2, top)
        if np.any(log2 > top):
            raise CostError(f"{self.name}: more than {2**top} lanes per unit; raise units")
        return log2

    def area_um2(
        self, edge_len: NDArray[np.int64], oversize_inf: bool = False
    ) -> NDArray[np.float64]:
        """Area of the edge's units; ``oversize_inf``: infinite (never fits) where a unit
        would need more lanes than the table has, instead of a CostError."""
        table = np.asarray(self.area_um2_by_log2_lanes)
        if not oversize_inf:
            return self.units * table[self.lanes_for(edge_len)]
        want = np.full(edge_len.shape, self.lanes) if self.lanes else -(-edge_len // self.units)
        too_wide = want > 2 ** (len(table) - 1)
        area = self.units * table[self.lanes_for(edge_len, clip=True)]
        return np.where(too_wide, np.inf, area)


class ChipDescription(BaseModel):
    """What the area model needs to know about an architecture."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    tile: str = "PE"
    tile_area_um2: float = Field(gt=0, description="placed area of one array tile")
    tile_sram_area_um2: float = Field(0.0, ge=0, description="part of it that is SRAM")
    tile_sram_leakage_mw: float = Field(0.0, ge=0)
    tile_source: str = ""
    tile_extrapolated: bool = Field(False, description="tile area extrapolated from synthesis")
    pes_per_tile: int = Field(1, gt=0, description="MAC units (PEs) in one tile")
    grid: Literal["2d", "1d"] = "2d"
    aspect: float = Field(1.0, gt=0, description="cols / rows of a 2-D array")
    edge_units: tuple[EdgeUnit, ...] = ()
    shared_sram_bits_per_tile: float = Field(0.0, ge=0)
    shared_sram_port_bits: int = Field(64, gt=0)
    fixed_um2: float = Field(0.0, ge=0, description="control, DRAM interface, ...")
    glb: BufferRule = BufferRule(capacity_bytes=512 * 1024)


@dataclass(frozen=True)
class ChipArea:
    """Area (µm²) and leakage (mW) of one configuration, with breakdowns."""

    rows: int
    cols: int
    pes: int
    glb_bytes: float
    parts_um2: dict[str, float]
    leakage_mw: dict[str, float]
    extrapolated: tuple[str, ...] = field(default_factory=tuple)
    budget_um2: float | None = None  # the area budget it was sized to, if any

    @property
    def total_um2(self) -> float:
        return float(sum(self.parts_um2.values()))

    @property
    def unused_mm2(self) -> float | None:
        """Budget left unused (mm²), when sized to a budget."""
        return None if self.budget_um2 is None else (self.budget_um2 - self.total_um2) / 1e6

    @property
    def budget_fill(self) -> float | None:
        """Fraction of the budget used, when sized to a budget."""
        return None if self.budget_um2 is None else self.total_um2 / self.budget_um2

    @property
    def total_mm2(self) -> float:
        return self.total_um2 / 1e6

    @property
    def total_leakage_mw(self) -> float:
        return float(sum(self.leakage_mw.values()))

    def share(self, part: str) -> float:
        return self.parts_um2.get(part, 0.0) / self.total_um2


def _logic_leak_mw(tech: Technology, placed_um2: ArrayLike) -> NDArray[np.float64]:
    cell = np.asarray(placed_um2, dtype=np.float64) * tech.p("logic_utilization")
    return cell * tech.p("logic_leakage_nw_per_um2") * 1e-6


def glb_arrays(
    tech: Technology, rule: BufferRule, capacity_bytes: ArrayLike
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.bool_]]:
    """The GLB of ``capacity_bytes`` (vectorized): ``rule.banks`` banks of capacity/banks
    with a ``rule.port_bits`` port each, of cell type ``rule.cell``; each bank is
    ``subbanks`` interleaved CACTI macros when its cycle time is slower than
    ``rule.clock_mhz`` (:func:`sod.tech.sram.subbanks_for_clock`). Area and leakage are
    the sub-bank macros' sum; energies are per access of one bank's macro (an upper bound
    that stands in for the routing to the sub-banks)."""
    cap = np.asarray(capacity_bytes, dtype=np.float64)
    per_bank = cap / rule.banks
    if rule.clock_mhz is None:
        sub = np.ones(cap.shape, dtype=np.int64)
    else:
        sub = subbanks_for_clock(tech, per_bank, rule.port_bits, rule.cell, rule.clock_mhz)
    out, flags = sram_arrays(tech, per_bank, rule.port_bits, rule.cell)
    macros, sub_flags = sram_arrays(tech, per_bank / sub, rule.port_bits, rule.cell)
    out = dict(out)
    # Energy stays the whole bank's macro (CACTI's routing over the bank's extent stands in
    # for the wires to the interleaved sub-banks); area and leakage are the sub-banks'.
    out["area_um2"] = macros["area_um2"] * rule.banks * sub
    out["leakage_mw"] = macros["leakage_mw"] * rule.banks * sub
    flags = flags | sub_flags
    out["subbanks"] = sub.astype(np.float64)
    return out, flags


def glb_capacity_for_share(tech: Technology, rule: BufferRule, budget_um2: float) -> float:
    """Largest GLB (multiple of the granule) whose area fits ``share × budget``."""
    target = (rule.share or 0.0) * budget_um2
    if target <= 0:
        return 0.0

    def area(caps: ArrayLike) -> NDArray[np.float64]:
        return glb_arrays(tech, rule, caps)[0]["area_um2"]

    # Area grows ~linearly with capacity: bracket, then scan granules vectorized.
    if area([rule.granule_bytes])[0] > target:
        return 0.0
    hi = rule.granule_bytes
    while area([hi])[0] <= target:
        hi *= 2
    caps = np.arange(hi // 2, hi + 1, rule.granule_bytes, dtype=np.float64)
    return float(caps[area(caps) <= target][-1])


def chip_area_arrays(
    desc: ChipDescription,
    tech: Technology,
    rows: ArrayLike,
    cols: ArrayLike,
    glb_bytes: ArrayLike,
    oversize_inf: bool = False,
) -> tuple[dict[str, NDArray], dict[str, NDArray], list[str]]:
    """Vectorized area parts and leakage parts over candidate (rows, cols, glb_bytes).

    ``oversize_inf``: an edge unit wider than its table is an infinite area (a candidate
    shape that cannot be built) instead of a CostError."""
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    tiles = r * c
    parts: dict[str, NDArray] = {"pe_array": tiles * desc.tile_area_um2}
    logic_tile = desc.tile_area_um2 - desc.tile_sram_area_um2
    leak: dict[str, NDArray] = {
        "pe_array": _logic_leak_mw(tech, tiles * logic_tile) + tiles * desc.tile_sram_leakage_mw,
    }
    flags: list[str] = ["pe_array"] if desc.tile_extrapolated else []
    for unit in desc.edge_units:
        edge = r if unit.edge == "rows" else c
        a = unit.area_um2(edge, oversize_inf)
        if unit.extrapolated_by_log2_lanes and np.any(
            np.asarray(unit.extrapolated_by_log2_lanes)[unit.lanes_for(edge, oversize_inf)]
        ):
            flags.append(unit.name)
        parts[unit.name] = parts.get(unit.name, 0) + a
        leak[unit.name] = leak.get(unit.name, 0) + _logic_leak_mw(tech, a)
    if desc.shared_sram_bits_per_tile > 0:
        cap = np.maximum(tiles * desc.shared_sram_bits_per_tile / 8, 1.0)
        vals, flag = sram_arrays(tech, cap, desc.shared_sram_port_bits)
        parts["pe_shared_sram"] = vals["area_um2"]
        leak["pe_shared_sram"] = vals["leakage_mw"]
        if np.any(flag):
            flags.append("pe_shared_sram")
    g = np.asarray(glb_bytes, dtype=np.float64)
    vals, flag = glb_arrays(tech, desc.glb, np.maximum(g, 1.0))
    parts["glb"] = np.where(g > 0, vals["area_um2"], 0.0)
    leak["glb"] = np.where(g > 0, vals["leakage_mw"], 0.0)
    if np.any(flag & (g > 0)):
        flags.append("glb")
    if desc.fixed_um2:
        parts["fixed"] = np.full(r.shape, desc.fixed_um2)
        leak["fixed"] = _logic_leak_mw(tech, parts["fixed"])
    return parts, leak, flags


def glb_bytes_for(
    desc: ChipDescription, tech: Technology, pes: ArrayLike, budget_um2: float | None = None
) -> NDArray[np.float64]:
    """GLB capacity the buffer rule gives for ``pes`` PEs (and a budget, for a share)."""
    rule = desc.glb
    p = np.asarray(pes, dtype=np.float64)
    if rule.capacity_bytes is not None:
        return np.full(p.shape, float(rule.capacity_bytes))
    if rule.bytes_per_pe is not None:
        g = rule.granule_bytes
        return np.ceil(p * rule.bytes_per_pe / g) * g
    if budget_um2 is None:
        raise CostError("a GLB share rule needs an area budget")
    return np.full(p.shape, glb_capacity_for_share(tech, rule, budget_um2))


def chip_area(
    desc: ChipDescription,
    tech: Technology,
    rows: int,
    cols: int = 1,
    glb_bytes: float | None = None,
) -> ChipArea:
    """Area and leakage of one configuration (``cols`` is ignored for a 1-D grid)."""
    if rows <= 0 or cols <= 0:
        raise CostError(f"array must have positive rows and columns, got {rows}x{cols}")
    if desc.grid == "1d":
        cols = 1
    pes = rows * cols * desc.pes_per_tile
    if glb_bytes is None:
        if desc.glb.share is not None:
            raise CostError("a GLB share rule needs a budget: use size_for_budget")
        glb_bytes = float(glb_bytes_for(desc, tech, [pes])[0])
    parts, leak, flags = chip_area_arrays(desc, tech, [rows], [cols], [glb_bytes])
    return ChipArea(
        rows,
        cols,
        pes,
        float(glb_bytes),
        {k: float(v[0]) for k, v in parts.items()},
        {k: float(v[0]) for k, v in leak.items()},
        tuple(flags),
    )


# ------------------------------------------------------------------ edge units


def decompressor_area_table(
    tech: Technology, fmt: str, value_bits: int, pe_source: str = "synth"
) -> tuple[tuple[float, ...], tuple[bool, ...], str]:
    """Placed area of one decompressor of 1, 2, 4, ... 1024 lanes (1 lane costs as 2)."""
    areas, flags = [], []
    source = ""
    for j in range(MAX_LOG2_LANES + 1):
        a = pe_area(
            tech,
            "decompressor",
            pe_source,  # type: ignore[arg-type]
            lanes=max(2**j, 2),
            format=fmt,
            value_bits=value_bits,
        )
        areas.append(a.area_um2)
        flags.append(a.extrapolated)
        if j == 4:
            source = a.source
    return tuple(areas), tuple(flags), f"16 lanes: {source}"


def ceil_pow2(n: int) -> int:
    return 1 << max(math.ceil(math.log2(max(n, 1))), 0)
