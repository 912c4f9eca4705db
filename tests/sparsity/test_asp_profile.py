"""The ``asp`` profile: NVIDIA ASP's 2:4 recipe for CNNs."""

from __future__ import annotations

import numpy as np
import pytest

from sod.errors import SparsityError
from sod.sparsity import apply_sparsity, parse_profile
from sod.sparsity.profiles import han_densities
from sod.workload.gemm import LayerKind, Workload, conv2d, linear
from sod.workload.zoo import get_model


def _groups_of_channels(g, w: np.ndarray, m: int) -> np.ndarray:
    """Non-zeros in every M consecutive input channels at each kernel position, per output
    channel (and group): k is in (channel, kh, kw) order."""
    c = g.conv
    pos = c.kernel_h * c.kernel_w if g.kind == LayerKind.CONV else 1
    groups = g.operand_groups
    w = w.reshape(groups, -1, pos, g.n)  # (G, channels, positions, n)
    chans = w.shape[1]
    return w.reshape(groups, chans // m, m, pos, g.n).sum(axis=2)


def test_parse():
    p = parse_profile("asp")
    assert (p.method, p.n_keep, p.m_group, p.density) == ("nm", 2, 4, 0.5)
    p = parse_profile("asp:1:4,act=0.3")
    assert (p.n_keep, p.m_group, p.relu_act_density) == (1, 4, 0.3)
    for bad in ("asp:2", "asp:3:2", "asp:0:4", "asp:2:4:1"):
        with pytest.raises(SparsityError):
            parse_profile(bad)


@pytest.mark.parametrize("model", ["alexnet", "vgg16", "resnet50"])
def test_two_of_every_four_input_channels_first_conv_dense(model):
    wl = apply_sparsity(get_model(model), "asp", seed=1)
    first = next(i for i, g in enumerate(wl) if g.kind == LayerKind.CONV)
    for i, g in enumerate(wl):
        if not g.w_is_weight:
            continue
        if i == first:
            assert g.weight_mask is None or g.weight_density == 1.0
            continue
        c = g.conv
        chans = c.in_channels // c.groups if g.kind == LayerKind.CONV else g.k
        assert chans % 4 == 0, g.name  # every other layer of these networks qualifies
        counts = _groups_of_channels(g, g.weight_mask.to_bool(), 4)
        assert (counts == 2).all(), g.name
        assert g.weight_density == 0.5


def test_layers_whose_channels_are_not_a_multiple_of_m_stay_dense():
    """MobileNet-V2's depthwise convs (one channel per group) stay dense; its pointwise
    convs and classifier are 2:4."""
    wl = apply_sparsity(get_model("mobilenetv2"), "asp", seed=0)
    dw = [g for g in wl if g.name.endswith(".dw")]
    pw = [g for g in wl if g.name.endswith(".project")]
    assert dw and all(g.weight_mask is None or g.weight_density == 1.0 for g in dw)
    assert pw and all(g.weight_density == 0.5 for g in pw)
    # A hand-made network: a conv with 6 input channels (3x3 kernel, k = 54) and a
    # linear layer with k = 10 stay dense; a conv with 8 channels is pruned.
    gemms = [
        conv2d("c0", 8, 8, 3, 6, 3, padding=1),
        conv2d("c1", 8, 8, 6, 8, 3, padding=1),
        conv2d("c2", 8, 8, 8, 8, 3, padding=1),
        linear("fc", 1, 10, 4),
    ]
    out = apply_sparsity(Workload("toy", gemms), "asp", seed=0)
    dens = {g.name: g.weight_density for g in out}
    assert dens == {"c0": 1.0, "c1": 1.0, "c2": 0.5, "fc": 1.0}


def test_activations_follow_han2015_or_act():
    """AlexNet under asp keeps Han's measured input-activation densities; act= overrides."""
    han = han_densities("alexnet")
    a = {g.name: g.act_density for g in apply_sparsity(get_model("alexnet"), "asp", seed=0)}
    h = {g.name: g.act_density for g in apply_sparsity(get_model("alexnet"), "han2015", seed=0)}
    assert a == h  # the same activation masks' densities as han2015
    assert a["fc7"] == pytest.approx(han["fc7"][1], abs=0.01)
    over = {g.name: g.act_density for g in apply_sparsity(get_model("alexnet"), "asp,act=0.25")}
    assert over["conv1"] == 1.0  # the image
    assert all(over[f"fc{i}"] == pytest.approx(0.25, abs=0.01) for i in (6, 7, 8))
    assert all(0.2 < over[f"conv{i}"] <= 0.25 for i in (2, 3, 4, 5))  # padding zeros too
