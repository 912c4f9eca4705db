"""Verdict maps: one axis at a time, every design at each value, robustness counts."""

from __future__ import annotations

import math

from sod.study.maps import MapConfig, evaluate_map_item, map_items, robustness

SMALL = MapConfig(
    model="lenet5",
    budgets_mm2=(2.0, 8.0),
    batches=(1, 2),
    archs=("dense", "sparse-on-dense", "index-match"),
    variations=(("GLB KiB", "glb_kib", (64.0, 512.0)), ("nothing", "no_such_field", (1,))),
)


def test_map_items_vary_one_axis_at_a_time():
    items = map_items(SMALL)
    axes = [(i["axis"], i["value"]) for i in items]
    assert axes == [
        ("budget mm²", 2.0),
        ("budget mm²", 8.0),
        ("batch", 1),
        ("batch", 2),
        ("GLB KiB", 64.0),
    ]  # a field no spec has, and a default value (the study's own point), are skipped
    assert len({i["key"] for i in items}) == len(items)


def test_map_rows_and_robustness():
    rows = []
    for item in map_items(SMALL):
        out = evaluate_map_item(item)
        assert out["failures"] == []
        rows += out["rows"]
    budget = [r for r in rows if r["axis"] == "budget mm²"]
    pes = {(r["value"], r["arch"]): r["pes"] for r in budget}
    assert pes[(8.0, "dense")] > 3 * pes[(2.0, "dense")]  # the GLB scales with the budget
    for r in rows:
        if r["arch"] == "sparse-on-dense":
            assert math.isclose(r["sod_advantage_gops_per_mm2"], 1.0)
    table = {e["arch"]: e for e in robustness(rows)}
    assert set(table) == {"dense", "index-match"}
    assert table["dense"]["configurations"] == 5
    wins = sum(r["sod_advantage_gops_per_w"] > 1 for r in rows if r["arch"] == "dense")
    assert table["dense"]["sod_wins_gops_per_w"] == wins
