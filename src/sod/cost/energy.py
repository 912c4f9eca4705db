"""Energy: action counts × energy per action, plus leakage × time.

Performance models return named action counts (:class:`sod.models.common.Counts`):
``<action>[.<operand>]``, e.g. ``glb_read_bits.weight``. An :class:`EnergyTable` gives the
energy of one action (per bit for ``*_bits`` actions, per event otherwise) and the
component it belongs to; :func:`energy` multiplies, adds leakage and breaks the total
down by action, by component and by operand. Counts may be numpy arrays (e.g. one entry
per layer): everything broadcasts.

Energies per action (see :func:`action_energies`).

One accumulator rule for every design: each product that is accumulated pays ``mac``
(multiplier + the accumulating adder at the design's accumulator width) and one
``accumulator_access`` (the write of the ``acc_bits`` result into its accumulator: a
systolic PE's partial-sum register, SCNN's accumulator bank, a SparTen or index-matching
PE's accumulator). Storage is priced per bit written (Aladdin), so reading the old value
costs nothing extra, as for every other register in this model.


======================  ===================================================================
mac                     int multiply + accumulate add (Horowitz: 0.2 + 0.1 pJ at int8/int32)
mac_gated               ``mac_gated_fraction`` × mac (zero operand: datapath frozen)
pe_reg_bits             one register bit written (Aladdin)
glb_read/write_bits     CACTI read/write energy of one GLB bank macro ÷ its port width
dram_read/write_bits    DRAM interface energy per bit (LPDDR4, HBM2, ...)
local_sram_read/write_bits  PE-local SRAM (SCNN IARAM/OARAM) per bit, CACTI
decompress_elements     one dense element out of a decompressor: its logic per cycle ÷ lanes
decompress_words        one compressed value or index latched into the decompressor
index_compare           one idx_bits comparison (Aladdin comparator, linear in width)
prefix_sum_bits         one mask bit through a chunk-wide prefix sum (its logic ÷ chunk)
crossbar_transfer       one acc_bits product through an inputs×outputs scatter crossbar
accumulator_access      one accumulator update: acc_bits register bits written (its add is in mac)
reduce_add              one acc_bits add of two partial sums outside a MAC (SCNN channel split)
fifo_access             one FIFO push or pop of an (index, value) entry
======================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sod.cost.components import adder, comparator, crossbar, multiplier, mux, prefix_sum
from sod.cost.errors import CostError
from sod.cost.pe import decompressor
from sod.tech import SramCost, Technology, sram_cost

Number = float | NDArray[np.float64]  # a scalar, or one value per layer


@dataclass(frozen=True)
class ActionEnergy:
    name: str
    energy_pj: float
    per: str  # "bit" or "event"
    component: str
    source: str


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action at one technology and configuration."""

    actions: Mapping[str, ActionEnergy]
    tech_name: str

    def __getitem__(self, name: str) -> ActionEnergy:
        try:
            return self.actions[name]
        except KeyError:
            known = ", ".join(sorted(self.actions))
            raise CostError(f"unknown action {name!r} (known: {known})") from None

    def with_action(
        self, name: str, energy_pj: float, component: str, per: str = "event", source: str = "user"
    ) -> EnergyTable:
        """A copy with one more (or one replaced) action."""
        if not energy_pj >= 0:
            raise CostError(f"action {name}: energy must be >= 0 pJ, got {energy_pj}")
        acts = dict(self.actions)
        acts[name] = ActionEnergy(name, float(energy_pj), per, component, source)
        return EnergyTable(acts, self.tech_name)

    def rows(self) -> list[tuple[str, float, str, str, str]]:
        return [(a.name, a.energy_pj, a.per, a.component, a.source) for a in self.actions.values()]


def _composition_energy_pj(comp: Any) -> float:
    """Energy of every part of a composition used once (registers: every bit)."""
    return float(sum(p.count * p.energy_pj for p in comp.parts))


def action_energies(
    tech: Technology,
    *,
    value_bits: int = 8,
    acc_bits: int = 32,
    idx_bits: int = 8,
    glb: SramCost | None = None,
    local_sram: SramCost | None = None,
    dram_kind: str = "lpddr4",
    mac_gated_fraction: float | None = None,
    decompressor_lanes: int = 16,
    decompressor_format: str = "bitmask",
    prefix_chunk: int = 16,
    crossbar_inputs: int = 16,
    crossbar_outputs: int = 32,
    act_mux_inputs: int = 8,
) -> EnergyTable:
    """The energy of every action, from ``tech`` and a few configuration numbers.

    ``glb`` is the macro one GLB access reads: by default one bank of the architecture
    default (512 KiB in 8 banks: a 64 KiB, 256-bit, low-standby-power macro).
    """
    for name, v in (
        ("value_bits", value_bits),
        ("acc_bits", acc_bits),
        ("idx_bits", idx_bits),
        ("decompressor_lanes", decompressor_lanes),
        ("prefix_chunk", prefix_chunk),
        ("crossbar_inputs", crossbar_inputs),
        ("crossbar_outputs", crossbar_outputs),
        ("act_mux_inputs", act_mux_inputs),
    ):
        if not (isinstance(v, int) and v > 0):
            raise CostError(f"energy table: {name} must be a positive integer, got {v!r}")
    gated = tech.p("mac_gated_fraction") if mac_gated_fraction is None else mac_gated_fraction
    if not 0 <= gated <= 1:
        raise CostError(f"mac_gated_fraction must be in [0, 1], got {gated}")
    glb = glb or sram_cost(tech, 64 * 1024, 256, "lstp")
    reg = tech.e("register_bit")
    mult = multiplier(tech, value_bits, value_bits)
    acc_add = adder(tech, acc_bits)
    mac = mult.energy_pj + acc_add.energy_pj
    dec = decompressor(tech, decompressor_lanes, decompressor_format, value_bits)
    ps = prefix_sum(tech, prefix_chunk)
    xbar = crossbar(tech, crossbar_inputs, crossbar_outputs, acc_bits)
    cmp_ = comparator(tech, idx_bits)
    act_mux = mux(tech, act_mux_inputs, value_bits, "act_select")
    dram = tech.dram_pj_per_bit_of(dram_kind)
    e: list[ActionEnergy] = [
        ActionEnergy(
            "mac",
            mac,
            "event",
            "pe_array",
            f"{mult.source} + {acc_add.source} ({value_bits}b x {value_bits}b, {acc_bits}b add)",
        ),
        ActionEnergy(
            "mac_gated", gated * mac, "event", "pe_array", f"mac x mac_gated_fraction {gated}"
        ),
        ActionEnergy("pe_reg_bits", reg, "bit", "pe_array", "Aladdin register bit"),
        ActionEnergy(
            "glb_read_bits",
            glb.read_pj_per_bit,
            "bit",
            "glb",
            f"CACTI {glb.capacity_bytes / 1024:g} KiB, {glb.port_bits}-bit port",
        ),
        ActionEnergy(
            "glb_write_bits",
            glb.write_pj_per_bit,
            "bit",
            "glb",
            f"CACTI {glb.capacity_bytes / 1024:g} KiB, {glb.port_bits}-bit port",
        ),
        ActionEnergy("dram_read_bits", dram, "bit", "dram", f"{dram_kind} per bit"),
        ActionEnergy("dram_write_bits", dram, "bit", "dram", f"{dram_kind} per bit"),
        ActionEnergy(
            "decompress_elements",
            _composition_energy_pj(dec) / decompressor_lanes,
            "event",
            "decompressors",
            f"{decompressor_lanes}-lane {decompressor_format} unit per cycle / lanes",
        ),
        ActionEnergy(
            "decompress_words",
            value_bits * reg,
            "event",
            "decompressors",
            "one value latched: value_bits register bits",
        ),
        ActionEnergy("index_compare", cmp_.energy_pj, "event", "index_match", cmp_.source),
        ActionEnergy(
            "prefix_sum_bits",
            ps.energy_pj / prefix_chunk,
            "bit",
            "index_match",
            f"{ps.source}, chunk {prefix_chunk}, per mask bit",
        ),
        ActionEnergy(
            "crossbar_transfer", xbar.energy_pj, "event", "scatter_accumulate", xbar.source
        ),
        ActionEnergy(
            "accumulator_access",
            acc_bits * reg,
            "event",
            "accumulators",
            "acc_bits register bits written (the add is in mac)",
        ),
        ActionEnergy(
            "reduce_add",
            acc_add.energy_pj,
            "event",
            "accumulators",
            f"{acc_add.source} ({acc_bits}b add of two partial sums)",
        ),
        ActionEnergy(
            "act_select",
            act_mux.energy_pj,
            "event",
            "pe_array",
            f"column combining: {act_mux.name} activation mux, {act_mux.source}",
        ),
        ActionEnergy(
            "fifo_access",
            (idx_bits + value_bits) * reg,
            "event",
            "index_match",
            "(idx_bits + value_bits) register bits",
        ),
    ]
    if local_sram is not None:
        e += [
            ActionEnergy(
                "local_sram_read_bits",
                local_sram.read_pj_per_bit,
                "bit",
                "pe_local_sram",
                local_sram.source,
            ),
            ActionEnergy(
                "local_sram_write_bits",
                local_sram.write_pj_per_bit,
                "bit",
                "pe_local_sram",
                local_sram.source,
            ),
        ]
    return EnergyTable({a.name: a for a in e}, tech.name)


@dataclass(frozen=True)
class EnergyBreakdown:
    """Total energy (pJ) and its breakdowns; values are floats or arrays."""

    total_pj: Number
    dynamic_pj: Number
    leakage_pj: Number
    by_action: dict[str, Number]
    by_component: dict[str, Number]
    by_operand: dict[str, Number]

    def to_dict(self) -> dict[str, Any]:
        def conv(v: Number) -> Any:
            return v.tolist() if isinstance(v, np.ndarray) else float(v)

        return {
            "total_pj": conv(self.total_pj),
            "dynamic_pj": conv(self.dynamic_pj),
            "leakage_pj": conv(self.leakage_pj),
            "by_action": {k: conv(v) for k, v in self.by_action.items()},
            "by_component": {k: conv(v) for k, v in self.by_component.items()},
            "by_operand": {k: conv(v) for k, v in self.by_operand.items()},
        }


def _add(d: dict[str, Number], key: str, value: Number) -> None:
    d[key] = d[key] + value if key in d else value


def energy(
    counts: Mapping[str, float | NDArray[Any]],
    table: EnergyTable,
    *,
    time_s: float | NDArray[Any] = 0.0,
    leakage_mw: float | Mapping[str, float] = 0.0,
) -> EnergyBreakdown:
    """Price action ``counts`` with ``table``, plus ``leakage_mw × time_s``.

    ``leakage_mw`` is a total or a per-component mapping (e.g. ``ChipArea.leakage_mw``);
    leakage appears under component ``leakage.<component>`` and operand ``-``.
    """
    by_action: dict[str, Number] = {}
    by_component: dict[str, Number] = {}
    by_operand: dict[str, Number] = {}
    dynamic: Number = 0.0
    for key, raw in counts.items():
        base, _, operand = key.partition(".")
        action = table[base]
        value = np.asarray(raw, dtype=np.float64)
        if np.any(~np.isfinite(value)) or np.any(value < 0):
            raise CostError(f"action count {key!r} must be finite and >= 0, got {raw}")
        priced = value * action.energy_pj
        pj: Number = float(priced) if priced.ndim == 0 else priced
        _add(by_action, key, pj)
        _add(by_component, action.component, pj)
        _add(by_operand, operand or "-", pj)
        dynamic = dynamic + pj
    t = np.asarray(time_s, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise CostError(f"time must be finite and >= 0 s, got {time_s}")
    leaks = leakage_mw if isinstance(leakage_mw, Mapping) else {"chip": leakage_mw}
    leakage: Number = 0.0
    for comp, mw in leaks.items():
        if not mw >= 0:
            raise CostError(f"leakage of {comp} must be >= 0 mW, got {mw}")
        leaked = t * (mw * 1e9)  # 1 mW for 1 s = 1e-3 J = 1e9 pJ
        pj = float(leaked) if leaked.ndim == 0 else leaked
        if np.any(pj):
            _add(by_component, f"leakage.{comp}", pj)
        leakage = leakage + pj
    if np.any(leakage):
        _add(by_operand, "-", leakage)
    return EnergyBreakdown(dynamic + leakage, dynamic, leakage, by_action, by_component, by_operand)
