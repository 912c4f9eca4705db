"""Chip area and iso-area sizing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.arch.spec import Architecture, Dataflow, SparseOnDenseArch
from sod.cost import (
    BufferRule,
    ChipDescription,
    CostError,
    chip_area,
    pe_area,
    size_description,
)
from sod.designs import arch_area, describe, size_for_budget
from sod.tech import load_technology, sram_cost

TECH = load_technology(45)
ARCHS = [Architecture(), SparseOnDenseArch(), SCNNArch(), SparTenArch(), IndexMatchArch()]


def test_dense_chip_adds_up():
    arch = Architecture(array_rows=16, array_cols=16, glb_kib=256)
    area = arch_area(arch)
    pe = pe_area(TECH, "dense_mac_pe").area_um2
    # The GLB is glb_banks banks of capacity/banks, each with its own port (lstp cells);
    # a 32 KiB lstp macro cycles in 1.34 ns, so each bank is 2 interleaved 16 KiB macros
    # to take an access every 1 ns cycle.
    banks, sub = arch.glb_banks, 2
    bank = sram_cost(TECH, 256 * 1024 / banks, arch.glb_read_width_bits, arch.glb_cell)
    assert 1.0 < bank.cycle_ns <= 2.0
    glb = sram_cost(TECH, 256 * 1024 / banks / sub, arch.glb_read_width_bits, arch.glb_cell)
    assert glb.cycle_ns <= 2.0
    assert area.parts_um2["pe_array"] == pytest.approx(256 * pe)
    assert area.parts_um2["glb"] == pytest.approx(banks * sub * glb.area_um2)
    assert area.total_um2 == pytest.approx(sum(area.parts_um2.values()))
    assert area.pes == 256 and area.glb_bytes == 256 * 1024
    assert area.leakage_mw["glb"] == pytest.approx(banks * sub * glb.leakage_mw)
    hp = arch_area(arch.model_copy(update={"glb_cell": "hp"}))
    assert 0 < hp.leakage_mw["pe_array"] < hp.leakage_mw["glb"]
    assert area.leakage_mw["glb"] < 1e-3 * hp.leakage_mw["glb"]


def test_decompressors_are_one_to_two_percent_of_a_16x16_array():
    # The paper: decompression units are ~2 % of the area; REFERENCES.md §4: 1–2 %.
    one = arch_area(SparseOnDenseArch(array_rows=16, array_cols=16, dataflow="ws"))
    share = one.parts_um2["decompressors"] / one.parts_um2["pe_array"]
    assert 0.01 <= share <= 0.02
    plain = SparseOnDenseArch(
        array_rows=16, array_cols=16, decompressor_units=2, decompressor_lanes=8, dataflow="ws"
    )
    two = arch_area(plain)
    assert two.parts_um2["decompressors"] < 2 * one.parts_um2["decompressors"]


def test_auto_dataflow_pays_decompressors_on_both_edges():
    # IS brings the weights in along the rows: a design that may pick it per layer needs
    # decompressors on both edges.
    ws = arch_area(SparseOnDenseArch(array_rows=16, array_cols=24, dataflow="ws"))
    is_ = arch_area(SparseOnDenseArch(array_rows=16, array_cols=24, dataflow="is"))
    auto = arch_area(SparseOnDenseArch(array_rows=16, array_cols=24, dataflow="auto"))
    assert auto.parts_um2["decompressors"] == pytest.approx(
        ws.parts_um2["decompressors"] + is_.parts_um2["decompressors"]
    )
    assert ws.parts_um2["decompressors"] != is_.parts_um2["decompressors"]  # 24 vs 16 lanes


def test_decompressor_edge_follows_operand_and_dataflow():
    ws = describe(SparseOnDenseArch(weight_format="csc", dataflow="ws"), TECH)
    assert [u.edge for u in ws.edge_units] == ["cols"]
    both = describe(
        SparseOnDenseArch(weight_format="csc", act_format="bitmap", dataflow=Dataflow.IS), TECH
    )
    assert sorted(u.edge for u in both.edge_units) == ["cols", "rows"]
    none = describe(SparseOnDenseArch(weight_format="dense"), TECH)
    assert none.edge_units == ()
    # An unknown format is refused by the spec itself, before any cost model sees it.
    with pytest.raises(ValueError, match="unknown format 'lz4'"):
        SparseOnDenseArch(weight_format="lz4")


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.kind)
def test_every_architecture_kind_has_an_area_and_sizes(arch):
    area = arch_area(arch)
    assert area.total_mm2 > 0 and area.pes == arch.pe_count
    sized = size_for_budget(arch, 2 * area.total_mm2, BufferRule(share=0.3))
    assert sized.pes >= arch.pe_count
    assert 0 <= sized.leftover_um2
    assert sized.arch.kind == arch.kind and sized.arch.pe_count == sized.pes
    # The resized spec has exactly the sized area.
    assert arch_area(sized.arch).total_um2 == pytest.approx(sized.area.total_um2, rel=1e-6)


def test_iso_area_pe_counts_follow_pe_areas():
    budget = 8.0
    rule = BufferRule(share=0.4)
    archs = (Architecture(), IndexMatchArch(), SparTenArch(chunk_bits=32))
    pes = {a.kind: size_for_budget(a, budget, rule).pes for a in archs}
    per_pe = {
        a.kind: describe(a, TECH).tile_area_um2 / describe(a, TECH).pes_per_tile for a in archs
    }
    assert pes["dense"] > pes["index_match"] and pes["dense"] > 4 * pes["sparten"]
    for kind in ("index_match", "sparten"):
        # Same logic area (share rule): PE counts in inverse ratio of area per PE,
        # up to the granularity of the array shape.
        assert pes["dense"] / pes[kind] == pytest.approx(per_pe[kind] / per_pe["dense"], rel=0.15)


def _desc(**kw) -> ChipDescription:
    base = {"kind": "test", "tile_area_um2": 1000.0, "glb": BufferRule(share=0.25)}
    return ChipDescription(**(base | kw))


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.2, 40.0),
    st.floats(0.0, 0.7),
    st.sampled_from([1.0, 0.5, 2.0, 4.0]),
    st.floats(300.0, 20000.0),
)
def test_sizing_is_the_largest_fit(budget, share, aspect, tile):
    desc = _desc(tile_area_um2=tile, aspect=aspect, glb=BufferRule(share=share))
    try:
        strict = size_description(desc, TECH, budget, fill_tolerance=0.0)
        s = size_description(desc, TECH, budget)
    except CostError as err:
        assert "too small" in str(err) or "cannot hold" in str(err)
        return
    for sized in (strict, s):
        assert sized.area.total_um2 <= budget * 1e6 + 1e-6
        assert sized.leftover_um2 >= 0
    # Without a tolerance, no shape with more tiles fits (any shape: a 1 x N strip too).
    more = chip_area(desc, TECH, 1, strict.rows * strict.cols + 1, strict.glb_bytes)
    assert more.total_um2 > budget * 1e6
    # With the default 2 %, at most 2 % of the budget's worth of tiles is given up.
    slack = int(0.02 * budget * 1e6 // tile)
    assert s.rows * s.cols >= strict.rows * strict.cols - slack


def _brute_force(desc, budget_mm2, tolerance):
    """Every (rows, cols) by a plain loop: the fill window, then the aspect rule."""
    fits = []
    n_max = int(budget_mm2 * 1e6 // desc.tile_area_um2)
    for r in range(1, n_max + 1):
        for c in range(1, n_max // r + 1):
            a = chip_area(desc, TECH, r, c, desc.glb.capacity_bytes)
            if a.total_um2 <= budget_mm2 * 1e6:
                fits.append((r, c, a.total_um2))
    best = max(r * c for r, c, _ in fits)
    slack = int(tolerance * budget_mm2 * 1e6 // desc.tile_area_um2)
    window = [f for f in fits if f[0] * f[1] >= best - slack]
    key = lambda f: (  # noqa: E731
        round(abs(math.log(f[1] / f[0]) - math.log(desc.aspect)), 9),
        -f[0] * f[1],
        f[2],
    )
    return min(window, key=key)[:2]


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.05, 0.6),
    st.sampled_from([1.0, 0.5, 3.0]),
    st.floats(2000.0, 20000.0),
    st.sampled_from([0.0, 0.01, 0.05]),
)
def test_sizing_matches_a_brute_force_search(budget, aspect, tile, tolerance):
    desc = _desc(tile_area_um2=tile, aspect=aspect, glb=BufferRule(capacity_bytes=0))
    if tile > budget * 1e6:
        return
    s = size_description(desc, TECH, budget, fill_tolerance=tolerance)
    assert (s.rows, s.cols) == _brute_force(desc, budget, tolerance)


def test_sizing_takes_any_shape_when_tiles_are_big():
    # 7 tiles fit: a 1 x 7 strip beats the near-square 2 x 3 (fill first, aspect second).
    desc = _desc(tile_area_um2=140_000.0, glb=BufferRule(capacity_bytes=0))
    s = size_description(desc, TECH, 1.0)
    assert s.rows * s.cols == 7 and s.area.budget_fill > 0.97
    # A prime count within the tolerance of the best does not force a strip.
    small = _desc(tile_area_um2=1000.0, glb=BufferRule(capacity_bytes=0))
    s = size_description(small, TECH, 2.003)  # 2003 tiles (prime) would fit
    assert (s.rows, s.cols) == (44, 45)  # 1980 tiles: the squarest within 40 of 2003


def test_edge_units_wider_than_their_table_do_not_fit():
    # A 1 x N strip would need a decompressor wider than 1024 lanes: not a candidate.
    arch = SparseOnDenseArch()
    s = size_for_budget(arch, 16.0)
    assert max(s.rows, s.cols) <= 1024 and s.area.budget_fill > 0.98


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 20.0), st.floats(1.05, 3.0))
def test_more_budget_never_fewer_pes(budget, factor):
    desc = _desc(glb=BufferRule(bytes_per_pe=64))
    assert (
        size_description(desc, TECH, budget * factor).pes
        >= size_description(desc, TECH, budget).pes
    )


def test_buffer_rules():
    fixed = size_description(_desc(glb=BufferRule(capacity_bytes=128 * 1024)), TECH, 4.0)
    assert fixed.glb_bytes == 128 * 1024
    per_pe = size_description(_desc(glb=BufferRule(bytes_per_pe=100)), TECH, 4.0)
    assert per_pe.glb_bytes == math.ceil(per_pe.pes * 100 / 1024) * 1024
    share = size_description(_desc(glb=BufferRule(share=0.5)), TECH, 4.0)
    assert share.area.parts_um2["glb"] <= 0.5 * 4e6
    assert sram_cost(TECH, share.glb_bytes + 1024, 256).area_um2 > 0.5 * 4e6
    none = size_description(_desc(glb=BufferRule(share=0.0)), TECH, 4.0)
    assert none.glb_bytes == 0 and none.area.parts_um2["glb"] == 0


def test_one_dimensional_grid_counts_tiles():
    s = size_description(
        _desc(grid="1d", tile_area_um2=50_000.0, glb=BufferRule(capacity_bytes=0)), TECH, 1.0
    )
    assert s.rows == 20 and s.cols == 1 and s.leftover_um2 == pytest.approx(0, abs=1e-6)


def test_bad_budgets_and_rules():
    arch = Architecture()
    for budget in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(CostError, match="area budget must be a positive number"):
            size_for_budget(arch, budget)
    with pytest.raises(CostError, match=r"too small for one PE of dense \(needs"):
        size_for_budget(arch, 0.001, BufferRule(capacity_bytes=0))
    with pytest.raises(CostError, match=r"too small for one compute unit of sparten"):
        size_for_budget(SparTenArch(), 0.01, BufferRule(capacity_bytes=0))
    with pytest.raises(CostError, match="cannot hold even 1024 bytes"):
        size_for_budget(arch, 0.01, BufferRule(share=0.1))
    with pytest.raises(ValueError, match="exactly one of share, capacity_bytes"):
        BufferRule(share=0.2, bytes_per_pe=10)
    with pytest.raises(ValueError, match="less than 1"):
        BufferRule(share=1.5)
    with pytest.raises(CostError, match="positive rows and columns"):
        chip_area(_desc(glb=BufferRule(capacity_bytes=0)), TECH, 0, 4)
