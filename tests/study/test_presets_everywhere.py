"""Every preset is sized by the iso-area solver and evaluates zoo networks end to end."""

import pytest

from sod.arch.presets import PRESET_NAMES, load_arch
from sod.designs import size_for_budget
from sod.errors import SodError
from sod.study.point import evaluate_run, sparse_workload


@pytest.mark.parametrize("preset", PRESET_NAMES)
@pytest.mark.parametrize("budget", [3.0, 4.0, 12.0])
def test_iso_area_sizing_fits_every_preset(preset, budget):
    sizing = size_for_budget(load_arch(preset), budget)
    assert sizing.pes >= 1 and 0 <= sizing.leftover_mm2 < budget
    assert sizing.area.total_mm2 <= budget
    assert sizing.arch.pe_count == sizing.pes


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_budget_too_small_for_one_pe(preset):
    with pytest.raises(SodError, match="too small"):
        size_for_budget(load_arch(preset), 0.5)


@pytest.mark.parametrize("model", ["lenet300", "lenet5"])
@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_preset_runs_zoo_networks(model, preset):
    wl = sparse_workload(model, "auto", 0)
    m = evaluate_run(wl, load_arch(preset), 4.0).metrics.to_row()
    assert m["area_mm2"] <= 4.0
    assert m["cycles"] > 0 and m["gops_per_mm2"] > 0 and m["gops_per_w"] > 0
    assert 0 < m["effective_utilization"] <= 1
