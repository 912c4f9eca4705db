"""Energy model: actions × energy per action + leakage × time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.arch.spec import Architecture, SparseOnDenseArch
from sod.cost import CostError, action_energies, energy
from sod.designs import arch_area, energy_table_for
from sod.tech import load_technology, logic_energy_factor, sram_cost

TECH = load_technology(45)
TABLE = action_energies(TECH)

# Every action name of the Counts contract (sod.models.common) must be priced.
CONTRACT = (
    "mac",
    "mac_gated",
    "pe_reg_bits",
    "glb_read_bits",
    "glb_write_bits",
    "dram_read_bits",
    "dram_write_bits",
    "decompress_elements",
    "decompress_words",
    "index_compare",
    "prefix_sum_bits",
    "crossbar_transfer",
    "accumulator_access",
    "reduce_add",
    "fifo_access",
)


def test_every_contract_action_is_priced():
    import sod.models.common as common

    for name in CONTRACT:
        assert f"``{name}" in common.__doc__, name  # the contract still names it
        assert TABLE[name].energy_pj > 0, name


def test_int8_mac_and_sram_read_match_sources():
    # Horowitz 45 nm: int8 mult 0.2 pJ + int32 add 0.1 pJ.
    assert TABLE["mac"].energy_pj == pytest.approx(0.3)
    glb = sram_cost(TECH, 8 * 1024, 64)
    t = action_energies(TECH, glb=glb)
    # CACTI 7: 8 KB, 64-bit read 5.29 pJ (Horowitz quotes 10 pJ for the same access).
    assert t["glb_read_bits"].energy_pj * 64 == pytest.approx(5.29, rel=0.01)
    assert t["dram_read_bits"].energy_pj == 8.0
    assert action_energies(TECH, dram_kind="hbm2")["dram_write_bits"].energy_pj == 6.25


def test_gated_mac_fraction_is_configurable():
    assert TABLE["mac_gated"].energy_pj == pytest.approx(0.1 * 0.3)
    assert action_energies(TECH, mac_gated_fraction=0.0)["mac_gated"].energy_pj == 0
    no_gating = energy_table_for(SparseOnDenseArch(zero_gating=False))
    assert no_gating["mac_gated"].energy_pj == pytest.approx(no_gating["mac"].energy_pj)
    with pytest.raises(CostError, match="mac_gated_fraction must be in"):
        action_energies(TECH, mac_gated_fraction=1.5)


def test_energy_scales_with_node():
    t16 = action_energies(load_technology(16))
    assert t16["mac"].energy_pj == pytest.approx(0.3 * logic_energy_factor(45, 16))


COUNT_KEYS = st.sampled_from(
    [
        "mac",
        "mac_gated",
        "pe_reg_bits.weight",
        "pe_reg_bits.act",
        "glb_read_bits.weight",
        "glb_write_bits.out",
        "dram_read_bits.act",
        "decompress_elements",
        "index_compare",
        "accumulator_access",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(COUNT_KEYS, st.floats(0, 1e9), min_size=1),
    st.floats(0, 1e3),
    st.floats(0, 1e-2),
    st.floats(0, 500),
)
def test_breakdowns_add_up_and_energy_is_linear(counts, scale, time_s, leak_mw):
    e = energy(counts, TABLE, time_s=time_s, leakage_mw=leak_mw)
    total = e.total_pj
    assert sum(e.by_component.values()) == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert sum(e.by_operand.values()) == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert sum(e.by_action.values()) == pytest.approx(e.dynamic_pj, rel=1e-9, abs=1e-6)
    assert e.leakage_pj == pytest.approx(leak_mw * time_s * 1e9)
    scaled = energy({k: v * scale for k, v in counts.items()}, TABLE)
    assert scaled.dynamic_pj == pytest.approx(scale * e.dynamic_pj, rel=1e-9, abs=1e-6)


def test_operand_and_component_breakdown():
    e = energy({"glb_read_bits.weight": 1000, "glb_read_bits.act": 3000, "mac": 10}, TABLE)
    per_bit = TABLE["glb_read_bits"].energy_pj
    assert e.by_operand["weight"] == pytest.approx(1000 * per_bit)
    assert e.by_operand["act"] == pytest.approx(3000 * per_bit)
    assert e.by_operand["-"] == pytest.approx(3.0)
    assert e.by_component["glb"] == pytest.approx(4000 * per_bit)
    assert e.by_component["pe_array"] == pytest.approx(3.0)


def test_arrays_broadcast_per_layer_and_leakage_per_component():
    arch = SparseOnDenseArch(array_rows=16, array_cols=16)
    area = arch_area(arch)
    macs = np.array([1e6, 4e6, 2e6])
    t = macs / arch.pe_count / (arch.frequency_mhz * 1e6)
    e = energy(
        {"mac": macs, "glb_read_bits.weight": macs / 4},
        energy_table_for(arch),
        time_s=t,
        leakage_mw=area.leakage_mw,
    )
    assert e.total_pj.shape == (3,)
    assert e.by_component["leakage.glb"] == pytest.approx(area.leakage_mw["glb"] * t * 1e9)
    assert np.all(np.diff(e.total_pj[[0, 2, 1]]) > 0)


@pytest.mark.parametrize(
    "arch",
    [Architecture(), SparseOnDenseArch(), SCNNArch(), SparTenArch(), IndexMatchArch()],
    ids=lambda a: a.kind,
)
def test_every_architecture_has_an_energy_table(arch):
    table = energy_table_for(arch)
    for name in CONTRACT:
        assert table[name].energy_pj >= 0
    # One access reads one bank: capacity / glb_banks, of the architecture's cell type.
    bank = sram_cost(
        TECH, arch.glb_kib * 1024 / arch.glb_banks, arch.glb_read_width_bits, arch.glb_cell
    )
    assert table["glb_read_bits"].energy_pj == pytest.approx(bank.read_pj_per_bit)
    assert table["glb_write_bits"].energy_pj == pytest.approx(bank.write_pj_per_bit)


def test_bad_counts_are_one_line_errors():
    with pytest.raises(CostError, match=r"unknown action 'flops' \(known: "):
        energy({"flops": 3}, TABLE)
    with pytest.raises(CostError, match=r"action count 'mac' must be finite and >= 0"):
        energy({"mac": -1}, TABLE)
    with pytest.raises(CostError, match="must be finite"):
        energy({"mac": np.array([1.0, np.nan])}, TABLE)
    with pytest.raises(CostError, match="time must be finite and >= 0"):
        energy({"mac": 1}, TABLE, time_s=-1)
    with pytest.raises(CostError, match="leakage of chip must be >= 0"):
        energy({"mac": 1}, TABLE, time_s=1, leakage_mw=-3)
    with pytest.raises(CostError, match="decompressor_lanes must be a positive integer"):
        action_energies(TECH, decompressor_lanes=0)
    with pytest.raises(CostError, match="energy must be >= 0"):
        TABLE.with_action("custom", -1.0, "pe_array")
    assert TABLE.with_action("custom", 2.0, "pe_array")["custom"].energy_pj == 2.0


def test_counts_energy_adds_leakage_over_the_run():
    from sod.designs import counts_energy
    from sod.models.common import Counts

    arch = Architecture(array_rows=8, array_cols=8)
    counts = Counts(
        compute_cycles=1000,
        stall_cycles=0,
        macs_dense=64000,
        macs_issued=64000,
        macs_effectual=64000,
        pe_count=64,
        actions={"mac": 64000, "glb_read_bits.act": 8000},
    )
    e = counts_energy(counts, arch)
    leak = arch_area(arch).total_leakage_mw * 1e-6 * 1e9  # 1000 cycles at 1 GHz, mW·s → pJ
    assert e.leakage_pj == pytest.approx(leak)
    assert e.by_action["mac"] == pytest.approx(64000 * 0.3)
