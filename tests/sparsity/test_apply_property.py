"""apply_sparsity on random small workloads: mask shapes follow the contract, densities
equal the masks', targets are met, real weights agree with their masks."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sod.errors import SparsityError
from sod.sparsity import apply_sparsity
from sod.workload.gemm import Activation, Workload, conv2d, linear

PROFILES = [
    "uniform:0.3",
    "global:0.2",
    "rowbal:0.5",
    "nm:2:4",
    "block:2:0.4",
    "keep",
    "dense",
    "uniform:0.7,act=0.2",
    "global:0.1,weights=iid",
]


@st.composite
def workloads(draw):
    gemms = []
    for i in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            groups = draw(st.sampled_from([1, 2]))
            cin = groups * draw(st.integers(1, 4))
            cout = groups * draw(st.integers(1, 4))
            size = draw(st.integers(3, 9))
            g = conv2d(
                f"c{i}",
                size,
                size,
                cin,
                cout,
                draw(st.sampled_from([1, 3])),
                padding=1,
                groups=groups,
                batch=draw(st.integers(1, 2)),
                input_activation=draw(st.sampled_from(list(Activation))),
            )
        else:
            g = linear(
                f"l{i}",
                draw(st.integers(2, 40)),
                draw(st.integers(2, 40)),
                tokens=draw(st.integers(1, 5)),
                repeat=draw(st.integers(1, 3)),
                input_activation=draw(st.sampled_from(list(Activation))),
            )
        gemms.append(g)
    return Workload("random", tuple(gemms))


@settings(max_examples=40, deadline=None)
@given(workloads(), st.sampled_from(PROFILES), st.integers(0, 2**20))
def test_masks_follow_contract(workload, profile, seed):
    try:
        out = apply_sparsity(workload, profile, seed=seed)
    except SparsityError as err:  # a layer smaller than the 2×2 block: by design
        assert profile.startswith("block") and "larger than" in str(err)
        assume(False)
    assert [g.name for g in out] == [g.name for g in workload]
    for g in out:
        grouped = g.conv is not None and g.conv.groups > 1
        if g.weight_mask is not None:
            assert g.weight_mask.shape == ((g.repeat if grouped else 1) * g.k, g.n)
            assert g.weight_density == g.weight_mask.nnz / g.weight_mask.size
            if profile.startswith("uniform"):
                target = float(profile.split(":")[1].split(",")[0])
                assert abs(g.weight_mask.nnz - target * g.weight_mask.size) <= 0.5
        else:
            assert g.weight_density == 1.0
        if g.act_mask is not None:
            assert g.act_mask.shape == ((g.repeat if grouped else 1) * g.m, g.k)
            assert g.act_density == g.act_mask.nnz / g.act_mask.size
            assert g.input_activation == Activation.RELU
        else:
            assert g.act_density == 1.0
        assert g.weights is None
    if profile.startswith("global"):
        masks = [g.weight_mask for g in out]
        kept = sum(
            m.nnz * (1 if g.conv is not None else g.repeat) for m, g in zip(masks, out, strict=True)
        )
        total = sum(g.weight_count for g in out)
        target = float(profile.split(":")[1].split(",")[0])
        # Exact within half the largest number of copies a stored mask stands for.
        assert abs(kept - target * total) <= max(g.repeat for g in out) / 2 + 0.5


def test_real_weights_are_masked():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 5)).astype(np.float32)
    w[0] = 0.0
    g = linear("fc", 12, 5, tokens=2).with_(weights=w)
    out = apply_sparsity(Workload("real", (g,)), "uniform:0.5").gemms[0]
    assert out.weight_mask.nnz == 30  # 30 largest are all non-zero
    np.testing.assert_array_equal(out.weights != 0, out.weight_mask.to_bool())
    kept = np.abs(w[out.weight_mask.to_bool()])
    assert kept.min() >= np.abs(w[~out.weight_mask.to_bool()]).max()
