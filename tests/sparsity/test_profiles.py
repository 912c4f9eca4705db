"""Profile grammar and apply_sparsity on zoo networks."""

from __future__ import annotations

import numpy as np
import pytest

from sod.errors import SparsityError
from sod.sparsity import HAN2015, apply_sparsity, parse_profile
from sod.sparsity.profiles import han_densities
from sod.workload.gemm import Activation, LayerKind, Workload, linear
from sod.workload.zoo import get_model


@pytest.mark.parametrize(
    ("text", "method", "density"),
    [
        ("uniform:0.3", "per_layer", 0.3),
        ("global:10%", "global", 0.1),
        ("rowbal:0.5", "rowbal", 0.5),
        ("nm:2:4", "nm", 0.5),
        ("llama:2:4", "nm", 0.5),
        ("llama", "rowbal", 0.5),
        ("bert:0.1", "global", 0.1),
        ("resnet", "global", 0.2),
        ("mobilenet", "per_layer", 0.4),
        ("block:4:0.25", "block", 0.25),
        ("dense", "none", 1.0),
    ],
)
def test_parse(text, method, density):
    p = parse_profile(text)
    assert (p.method, p.density) == (method, pytest.approx(density))


def test_parse_options_and_auto():
    p = parse_profile("uniform:0.3, weights=iid, act=0.4")
    assert (p.weights, p.relu_act_density) == ("iid", 0.4)
    assert parse_profile("auto", "vgg16").method == "han"
    assert parse_profile("auto", "resnet50").density == pytest.approx(0.2)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "foo",
        "uniform",
        "uniform:0",
        "uniform:1.2",
        "uniform:abc",
        "nm:4:2",
        "nm:0:4",
        "nm:2",
        "block:0:0.5",
        "uniform:0.3,weights=gauss",
        "uniform:0.3,colour=red",
        "uniform:0.3,act",
        "auto",
        "han2015:0.3",
    ],
)
def test_parse_errors_are_one_line(text):
    with pytest.raises(SparsityError) as err:
        parse_profile(text, None)
    assert "\n" not in str(err.value)


def test_han_input_activation_is_previous_output():
    d = han_densities("vgg16")
    assert d["conv1_1"] == (0.58, 1.0)
    assert d["conv1_2"] == (0.22, 0.53)
    assert d["fc6"] == (0.04, 0.19)
    with pytest.raises(SparsityError, match="han2015"):
        han_densities("resnet50")


# VGG-16 uses the same code path; it is exercised by benchmarks/bench_sparsity.py (5 s).
@pytest.mark.parametrize("model", [m for m in HAN2015 if m != "vgg16"])
def test_han2015_on_zoo(model):
    w = apply_sparsity(get_model(model), "han2015", seed=3)
    table = han_densities(model)
    for g in w:
        wd, ad = table[g.name]
        rows = g.k * (g.repeat if g.conv is not None and g.conv.groups > 1 else 1)
        assert g.weight_mask.shape == (rows, g.n)
        assert abs(g.weight_mask.nnz - wd * rows * g.n) <= 1  # within one element
        assert g.weight_density == pytest.approx(g.weight_mask.density)
        if ad < 1:
            assert g.act_density == pytest.approx(g.act_mask.density)
            assert g.act_mask.shape[1] == g.k
            # im2col adds padding zeros and repeats pixels unevenly: A's density is
            # near the table's, exact for linear layers (within one element).
            if g.conv is None:
                assert abs(g.act_mask.nnz - ad * g.act_mask.size) <= 1
            assert abs(g.act_density - ad) <= 0.1
        else:
            assert g.act_mask is None and g.act_density == 1.0


def test_alexnet_groups_stacked():
    w = apply_sparsity(get_model("alexnet"), "uniform:0.5", seed=0)
    conv2 = next(g for g in w if g.name == "conv2")
    assert conv2.repeat == 2
    assert conv2.weight_mask.shape == (2 * conv2.k, conv2.n)
    assert conv2.act_mask.shape == (2 * conv2.m, conv2.k)


def test_seed_determinism():
    a = apply_sparsity(get_model("lenet5"), "han2015", seed=7)
    b = apply_sparsity(get_model("lenet5"), "han2015", seed=7)
    c = apply_sparsity(get_model("lenet5"), "han2015", seed=8)
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x.weight_mask.packed, y.weight_mask.packed)
        assert not np.array_equal(x.weight_mask.packed, z.weight_mask.packed)


def test_bert_prunes_linear_only_and_keeps_acts_dense():
    w = apply_sparsity(get_model("bert-base", seq_len=16), "bert:0.1", seed=0)
    lin = [g for g in w if g.kind == LayerKind.LINEAR]
    att = [g for g in w if g.kind == LayerKind.ATTENTION]
    total = sum(g.weight_mask.nnz for g in lin)
    assert abs(total - 0.1 * sum(g.k * g.n for g in lin)) <= 1
    assert all(g.weight_mask is None and g.weight_density == 1.0 for g in att)
    assert all(g.act_mask is None and g.act_density == 1.0 for g in w)


def test_resnet_first_conv_dense_and_mobilenet_pointwise_only():
    r = apply_sparsity(get_model("resnet50"), "resnet", seed=0)
    assert r.gemms[0].weight_mask is None and r.gemms[0].weight_density == 1.0
    pruned = [g for g in r.gemms[1:]]
    nnz = sum(g.weight_mask.nnz for g in pruned)
    assert abs(nnz - 0.2 * sum(g.weight_count for g in pruned)) <= 1
    m = apply_sparsity(get_model("mobilenetv2"), "mobilenet:0.4", seed=0)
    for g in m:
        pointwise = g.conv is not None and g.conv.kernel_h == 1 and g.conv.groups == 1
        if pointwise or g.kind == LayerKind.LINEAR:
            assert g.weight_density == pytest.approx(0.4, abs=1e-3)
        else:
            assert g.weight_mask is None


def test_llama_2_4_shared_block_mask():
    # A scaled-down LLaMA block (the real one takes seconds): 32 repeats, SwiGLU input.
    blk = Workload(
        "llama-mini",
        (
            linear("block.mlp.up", 256, 688, tokens=4, repeat=32),
            linear(
                "block.mlp.down", 688, 256, tokens=4, repeat=32, input_activation=Activation.SWIGLU
            ),
        ),
    )
    w = apply_sparsity(blk, "llama:2:4", seed=0)
    down = next(g for g in w if g.name == "block.mlp.down")
    assert down.repeat == 32 and down.weight_mask.shape == (down.k, down.n)
    assert down.weight_density == 0.5
    assert down.act_mask is None  # SwiGLU input: dense


def test_dense_and_errors():
    w = apply_sparsity(get_model("lenet300"), "dense")
    assert all(g.weight_mask is None and g.weight_density == 1.0 for g in w)
    with pytest.raises(SparsityError, match="han2015"):
        apply_sparsity(get_model("resnet50"), "han2015")
    with pytest.raises(SparsityError, match="larger than"):
        apply_sparsity(get_model("lenet300"), "block:20:0.5")  # ip3 is 100 x 10
    with pytest.raises(SparsityError, match="seed"):
        apply_sparsity(get_model("lenet300"), "uniform:0.5", seed=-1)


@pytest.mark.parametrize(
    ("text", "density"),
    [
        ("keep:0.2", 0.2),
        ("prune:0.8", 0.2),
        ("uniform:prune=0.8", 0.2),
        ("uniform:keep=20%", 0.2),
        ("global:prune=90%", 0.1),
        ("uniform:0.2", 0.2),  # the old spelling: the fraction kept
    ],
)
def test_density_can_be_said_as_kept_or_pruned(text, density):
    from sod.sparsity.profiles import parse_profile

    prof = parse_profile(text)
    assert prof.density == density
    assert prof.method in ("per_layer", "global")


def test_prune_fraction_and_unknown_names_are_one_line_errors():
    from sod.errors import SparsityError
    from sod.sparsity.profiles import parse_profile

    with pytest.raises(SparsityError, match="prune fraction must be in"):
        parse_profile("prune:1")
    with pytest.raises(SparsityError, match="did you mean 'uniform'"):
        parse_profile("unifrom:0.2")


def test_prune_matches_torch_amount():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.nn.utils import prune

    from sod.sparsity.apply import apply_sparsity
    from sod.workload.torch_import import from_torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(40, 30))
    ours = apply_sparsity(from_torch(net, torch.randn(1, 40)), "prune:0.8", seed=0)
    prune.l1_unstructured(net[0], "weight", amount=0.8)
    theirs = from_torch(net, torch.randn(1, 40))
    assert ours.gemms[0].weight_density == pytest.approx(theirs.gemms[0].weight_density)
