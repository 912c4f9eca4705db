"""Technology tables: sourced numbers, node scaling, bad input."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
import yaml

from sod.tech import (
    SUPPORTED_NODES_NM,
    TechnologyError,
    load_technology,
    load_technology_file,
    logic_area_factor,
    logic_energy_factor,
    parse_technology,
)
from sod.tech.scaling import BASE_FILE

BASE = yaml.safe_load(BASE_FILE.read_text())


def test_default_is_45nm_with_horowitz_energies():
    tech = load_technology()
    assert tech.node_nm == 45
    # Horowitz ISSCC 2014, 45 nm: int8 mult 0.2 pJ, int32 add 0.1 pJ.
    assert tech.e("int8_mult") == pytest.approx(0.2)
    assert tech.e("int32_add") == pytest.approx(0.1)
    assert tech.dram_pj_per_bit_of("LPDDR4") == 8.0
    assert tech.dram_pj_per_bit_of("hbm2") == 6.25


def test_every_number_has_a_known_source_and_mark():
    tech = load_technology()
    rows = tech.rows()
    assert len(rows) > 30
    for table, key, value, mark, source, _note in rows:
        assert value >= 0, (table, key)
        assert source in tech.sources, (table, key)
        assert mark in "SMRDA"


# REFERENCES.md §2: Stillmaker–Baas factors (area, energy) from 45 nm, at 0.8 V.
REFERENCE_FACTORS = {
    32: (0.460, 0.659),
    28: (0.377, 0.513),
    22: (0.252, 0.294),
    16: (0.190, 0.174),
    7: (0.059, 0.094),
}


@pytest.mark.parametrize("node", sorted(REFERENCE_FACTORS))
def test_node_factors_match_stillmaker_baas(node):
    area, energy = REFERENCE_FACTORS[node]
    assert logic_area_factor(45, node) == pytest.approx(area, abs=0.0015)
    assert logic_energy_factor(45, node) == pytest.approx(energy, abs=0.0015)


def test_factors_compose_and_invert():
    assert logic_energy_factor(45, 7) == pytest.approx(
        logic_energy_factor(45, 16) * logic_energy_factor(16, 7)
    )
    assert logic_area_factor(16, 45) == pytest.approx(1 / logic_area_factor(45, 16))


@pytest.mark.parametrize("node", SUPPORTED_NODES_NM)
def test_scaled_technology_scales_logic_and_keeps_dram(node):
    base = load_technology(45)
    tech = load_technology(f"{node}nm")
    assert tech.node_nm == node
    assert tech.e("int8_mult") == pytest.approx(0.2 * logic_energy_factor(45, node))
    assert tech.a("int8_mult") == pytest.approx(282 * logic_area_factor(45, node))
    assert tech.dram_pj_per_bit_of("lpddr4") == base.dram_pj_per_bit_of("lpddr4")
    assert tech.p("logic_utilization") == base.p("logic_utilization")
    if node != 45:
        assert "Stillmaker" in tech.derivation
        assert "from 45 nm" in tech.energy_pj["int8_mult"].note


def test_energy_falls_and_area_shrinks_with_node():
    techs = [load_technology(n) for n in SUPPORTED_NODES_NM]  # 45 → 7
    for a, b in itertools.pairwise(techs):
        assert b.e("int8_mult") < a.e("int8_mult")
        assert b.a("register_bit") < a.a("register_bit")


# ----------------------------------------------------------------------------- bad input


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "tech.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_node_is_one_line_error():
    with pytest.raises(TechnologyError, match=r"unknown technology node 12nm \(known: 45nm"):
        load_technology(12)
    with pytest.raises(TechnologyError, match="unknown technology node 3nm"):
        load_technology("3nm")
    with pytest.raises(TechnologyError, match="unknown technology 'tsmc-n5'"):
        load_technology("tsmc-n5")


def test_base_file_round_trips(tmp_path):
    tech = load_technology_file(_write(tmp_path, BASE))
    assert tech == load_technology(45)


def test_missing_field_is_named(tmp_path):
    data = copy.deepcopy(BASE)
    del data["energy_pj"]["int8_mult"]
    with pytest.raises(TechnologyError, match=r"missing required entry energy_pj\.int8_mult"):
        load_technology_file(_write(tmp_path, data))
    data = copy.deepcopy(BASE)
    del data["node_nm"]
    with pytest.raises(TechnologyError, match=r"field 'node_nm': Field required"):
        load_technology_file(_write(tmp_path, data))


def test_negative_energy_is_named(tmp_path):
    data = copy.deepcopy(BASE)
    data["energy_pj"]["int8_add"]["value"] = -0.03
    with pytest.raises(TechnologyError) as err:
        load_technology_file(_write(tmp_path, data))
    msg = str(err.value)
    assert "energy_pj.int8_add.value" in msg and "greater than or equal to 0" in msg
    assert "\n" not in msg


def test_other_malformations(tmp_path):
    data = copy.deepcopy(BASE)
    data["area_um2"]["int8_mult"]["source"] = "nowhere"
    with pytest.raises(TechnologyError, match="source 'nowhere' is not in 'sources'"):
        parse_technology(data, "t.yaml")
    data = copy.deepcopy(BASE)
    data["params"]["logic_utilization"]["value"] = 1.5
    with pytest.raises(TechnologyError, match="logic_utilization must be in"):
        parse_technology(data, "t.yaml")
    data = copy.deepcopy(BASE)
    data["energy_pj"]["int8_add"]["colour"] = "blue"
    with pytest.raises(TechnologyError, match=r"energy_pj\.int8_add\.colour"):
        parse_technology(data, "t.yaml")
    with pytest.raises(TechnologyError, match="expected a mapping"):
        parse_technology([1, 2], "t.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TechnologyError, match="not valid YAML"):
        load_technology_file(bad)
    with pytest.raises(TechnologyError, match="cannot read technology file"):
        load_technology_file(tmp_path / "missing.yaml")


def test_unknown_entry_lookup_names_it():
    with pytest.raises(TechnologyError, match=r"no energy_pj\.int4_mult"):
        load_technology().e("int4_mult")
    with pytest.raises(TechnologyError, match=r"no dram_pj_per_bit\.gddr7"):
        load_technology().dram_pj_per_bit_of("gddr7")
