"""Every zoo network evaluates on the column-combining preset (han2015 where the profile
covers the network, uniform:0.3 everywhere); the large ones are marked slow."""

import pytest

from sod.arch.presets import load_arch
from sod.sparsity.profiles import HAN2015
from sod.study.point import sparse_workload
from sod.study.run import run_arch
from sod.workload.zoo import ZOO

HEAVY = {"vgg16", "resnet50", "bert-base", "bert-large", "gpt2", "llama2-7b"}
CASES = [
    pytest.param(model, profile, marks=[pytest.mark.slow] if model in HEAVY else [])
    for model in ZOO
    for profile in ("han2015", "uniform:0.3")
    if profile != "han2015" or model in HAN2015
]


@pytest.mark.parametrize(("model", "profile"), CASES)
def test_zoo_network_runs(model, profile):
    run = run_arch(sparse_workload(model, profile, 0), load_arch("column-combining"))
    total = run.total
    assert total.cycles > 0
    assert 0 < total.macs_effectual <= total.macs_issued <= total.macs_dense
    packed = [lr.counts.details for lr in run.layers if lr.counts.details.get("packed")]
    assert packed and all(d["combine_ratio"] >= 1 for d in packed)
