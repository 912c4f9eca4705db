"""All three sparse models on degenerate masks, and BitMask inputs."""

import numpy as np
import pytest

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.models.index_match import evaluate_index_match
from sod.models.scnn import evaluate_scnn
from sod.models.sparten import evaluate_sparten
from sod.workload.gemm import conv2d
from sod.workload.mask import BitMask

MODELS = [
    (evaluate_scnn, SCNNArch()),
    (evaluate_sparten, SparTenArch()),
    (evaluate_index_match, IndexMatchArch()),
]


@pytest.mark.parametrize(("model", "arch"), MODELS)
def test_all_zero_layer_does_no_work(model, arch):
    g = conv2d("c", 6, 6, 3, 4, 3, padding=1)
    c = model(g, arch, np.zeros((g.k, g.n), bool), np.zeros((g.m, g.k), bool))
    assert c.macs_effectual == c.macs_issued == 0
    assert c.effective_utilization == 0.0
    assert c.actions["mac"] == 0


@pytest.mark.parametrize(("model", "arch"), MODELS)
def test_bitmask_inputs_equal_bool_inputs(model, arch):
    rng = np.random.default_rng(0)
    g = conv2d("c", 6, 6, 3, 4, 3, padding=1)
    w, a = rng.random((g.k, g.n)) < 0.5, rng.random((g.m, g.k)) < 0.5
    plain = model(g, arch, w, a)
    packed = model(g, arch, BitMask.from_bool(w), BitMask.from_bool(a))
    assert (plain.cycles, plain.macs_issued, plain.macs_effectual) == (
        packed.cycles,
        packed.macs_issued,
        packed.macs_effectual,
    )
    assert 0 < plain.effective_utilization <= 1
