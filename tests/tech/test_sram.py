"""SRAM numbers from the CACTI table: exact at table points, interpolation, extrapolation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.tech import TechnologyError, fit_power_law, load_technology, sram_arrays, sram_cost
from sod.tech.model import Technology

# REFERENCES.md §3 (CACTI 7, itrs-hp, 64-bit port): KB -> (45 read pJ, 45 mm², 22 read, 22 mm²)
TABLE = {
    8: (5.29, 0.026, 1.50, 0.0063),
    64: (29.0, 0.184, 4.69, 0.056),
    256: (40.6, 0.796, 9.93, 0.208),
    1024: (67.7, 3.17, 18.4, 0.81),
}


@pytest.mark.parametrize("kb", sorted(TABLE))
def test_table_points_match_references(kb):
    r45, a45, r22, a22 = TABLE[kb]
    s45 = sram_cost(load_technology(45), kb * 1024, 64)
    s22 = sram_cost(load_technology(22), kb * 1024, 64)
    assert s45.read_pj == pytest.approx(r45, rel=0.01)
    assert s45.area_um2 / 1e6 == pytest.approx(a45, rel=0.02)
    assert s22.read_pj == pytest.approx(r22, rel=0.01)
    assert s22.area_um2 / 1e6 == pytest.approx(a22, rel=0.05)
    assert not s45.extrapolated


def test_sram_read_matches_horowitz_order_of_magnitude():
    # Horowitz: 8 KB SRAM, 64-bit read, 10 pJ; CACTI 7 itrs-hp gives 5.29 pJ (within 2x).
    s = sram_cost(load_technology(), 8 * 1024, 64)
    assert 0.5 < s.read_pj / load_technology().e("sram_8kb_read_64b") < 1.0


def test_power_law_fit_matches_references():
    tech = load_technology()
    c, b = fit_power_law(tech, "read_pj")
    assert c == pytest.approx(2.12, rel=0.02) and b == pytest.approx(0.51, abs=0.01)
    ca, ba = fit_power_law(tech, "area_um2")
    assert ca / 1e6 == pytest.approx(0.00346, rel=0.02) and ba == pytest.approx(0.98, abs=0.01)


def test_wider_ports_are_cheaper_per_bit():
    tech = load_technology()
    per_bit = [sram_cost(tech, 8192, w).read_pj_per_bit for w in (64, 128, 256)]
    assert per_bit[0] == pytest.approx(0.083, rel=0.01)
    assert per_bit[2] == pytest.approx(0.035, rel=0.02)  # REFERENCES rounds to 2 digits
    assert per_bit[0] > per_bit[1] > per_bit[2]


def test_extrapolation_is_flagged_and_continuous():
    tech = load_technology()
    inside = sram_cost(tech, 100 * 1024, 64)
    assert not inside.extrapolated and "EXTRAPOLATED" not in inside.source
    big = sram_cost(tech, 16 * 1024 * 1024, 64)
    small = sram_cost(tech, 1024, 64)
    narrow = sram_cost(tech, 8192, 32)
    assert big.extrapolated and small.extrapolated and narrow.extrapolated
    assert "EXTRAPOLATED" in big.source
    edge = sram_cost(tech, 4 * 1024 * 1024, 64).area_um2
    just_above = sram_cost(tech, 4 * 1024 * 1024 * 1.001, 64).area_um2
    assert just_above == pytest.approx(edge, rel=0.002)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(1024, 64 * 1024 * 1024),
    st.floats(1.01, 4.0),
    st.sampled_from([45, 32, 28, 22, 16, 7]),
    st.sampled_from([32, 64, 128, 256, 512]),
)
def test_area_and_read_energy_grow_with_capacity(cap, factor, node, port):
    tech = load_technology(node)
    vals, _ = sram_arrays(tech, [cap, cap * factor], port)
    assert vals["area_um2"][1] > vals["area_um2"][0]
    assert vals["read_pj"][1] >= vals["read_pj"][0] * 0.999
    assert np.all(vals["leakage_mw"] > 0)


def test_28nm_lies_between_32_and_22():
    a32, a28, a22 = (sram_cost(load_technology(n), 65536).area_um2 for n in (32, 28, 22))
    assert a22 < a28 < a32
    assert a28 == pytest.approx(0.6 * a32 + 0.4 * a22)


def test_nodes_below_22_scale_sram_by_bitcell():
    a22 = sram_cost(load_technology(22), 65536).area_um2
    a7 = sram_cost(load_technology(7), 65536).area_um2
    assert a7 / a22 == pytest.approx(0.027 / 0.092)


def test_bad_sram_requests():
    tech = load_technology()
    with pytest.raises(TechnologyError, match="capacity must be positive"):
        sram_cost(tech, -5, 64)
    with pytest.raises(TechnologyError, match="port width must be positive"):
        sram_cost(tech, 8192, 0)
    lstp = Technology.model_validate({**tech.model_dump(), "sram": {"cell": "itrs-lstp"}})
    assert sram_cost(lstp, 65536).leakage_mw < 0.01 * sram_cost(tech, 65536).leakage_mw
    odd = Technology.model_validate({**tech.model_dump(), "sram": {"cell": "finfet-x"}})
    with pytest.raises(TechnologyError, match="no cell type 'finfet-x' at 45 nm"):
        sram_cost(odd, 8192)
