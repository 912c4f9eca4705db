"""The synthesized GE table (written by `sod hw synth`): reading it and its checks."""

from __future__ import annotations

import pytest

from sod.cost import synth_ratio
from sod.tech import TechnologyError, load_synth_table

# REFERENCES.md §4: GE ratio of each sparse PE to the int8 dense MAC PE (sky130, Yosys).
REFERENCE_RATIOS = [
    ("csr_match_pe", {"fifo_depth": 4, "comparators": 1}, 2.4),
    ("csr_match_pe", {"fifo_depth": 8, "comparators": 1}, 3.5),
    ("bitmask_join_pe", {"chunk": 16}, 3.9),
    ("bitmask_join_pe", {"chunk": 32}, 6.6),
    ("bitmask_join_pe", {"chunk": 64}, 12.2),
]


def test_table_has_provenance_and_the_anchor():
    table = load_synth_table()
    for key in ("flow", "yosys", "amaranth", "library", "date", "command"):
        assert key in table.provenance
    assert table.ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32) > 0


@pytest.mark.parametrize(("kind", "params", "ratio"), REFERENCE_RATIOS)
def test_sparse_pe_ratios_land_where_measured(kind, params, ratio):
    assert synth_ratio(kind, **params) == pytest.approx(ratio, rel=0.25)


def test_interpolation_along_a_size_parameter():
    table = load_synth_table()
    g32 = table.ge("bitmask_join_pe", chunk=32)
    g64 = table.ge("bitmask_join_pe", chunk=64)
    mid, flag = table.interpolate("bitmask_join_pe", "chunk", 48)
    assert g32 < mid < g64 and not flag
    exact, flag = table.interpolate("bitmask_join_pe", "chunk", 32)
    assert exact == pytest.approx(g32) and not flag
    beyond, flag = table.interpolate("bitmask_join_pe", "chunk", 128)
    assert beyond > g64 and flag
    assert table.interpolate("no_such_design", "chunk", 16) is None


def test_malformed_table_is_one_line_error(tmp_path):
    path = tmp_path / "synth.yaml"
    path.write_text("provenance: {}\ndesigns:\n  - {name: x, params: {}, ge: -3}\n")
    with pytest.raises(TechnologyError, match=r"field 'designs.0.ge'"):
        load_synth_table(path)
    with pytest.raises(TechnologyError, match="not found"):
        load_synth_table(tmp_path / "none.yaml")
