"""The N:M array evaluates zoo networks under unstructured and N:M profiles."""

import pytest

from sod.arch.presets import load_arch
from sod.study.point import evaluate_run, sparse_workload
from sod.workload.zoo import ZOO


def _point(model, profile, budget=None):
    return evaluate_run(sparse_workload(model, profile, 0), load_arch("nm-systolic"), budget)


@pytest.mark.parametrize("profile", ["han2015", "uniform:0.5", "nm:2:4"])
def test_small_networks_and_iso_area_sizing(profile):
    p = _point("lenet5", profile, budget=2.0)
    assert p.run.total.cycles > 0 and p.metrics.gops_per_mm2 > 0


def test_2_4_beats_unstructured_on_the_same_array():
    nm = _point("lenet300", "nm:2:4").run.total
    loose = _point("lenet300", "uniform:0.5").run.total
    assert nm.compute_cycles < 0.7 * loose.compute_cycles


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(ZOO))
def test_every_zoo_network(model):
    for profile in ("uniform:0.5", "nm:2:4") + (
        ("han2015",) if model in ("lenet300", "lenet5", "alexnet", "vgg16") else ()
    ):
        assert _point(model, profile).run.total.cycles > 0
