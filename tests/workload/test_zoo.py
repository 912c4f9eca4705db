"""Zoo shapes against published weight counts and MAC totals."""

import pytest

from sod.errors import WorkloadError
from sod.workload.gemm import LayerKind
from sod.workload.zoo import ZOO, get_model

# (model, published weights, tolerance, published MACs, tolerance); weights exclude biases.
PUBLISHED = [
    # Han et al. 2015 Table 2: LeNet-300-100 267K weights incl. biases (266,200 without).
    ("lenet300", 266_200, 0.0, 266_200, 0.0),
    # Caffe LeNet-5 (Han Table 3: 431K incl. biases; 430,500 without).
    ("lenet5", 430_500, 0.0, 2_293_000, 0.0),
    # Caffe AlexNet: 61 M weights, 724 M MACs (grouped).
    ("alexnet", 61.0e6, 0.01, 724e6, 0.01),
    # VGG-16: 138 M weights, 15.5 G MACs.
    ("vgg16", 138e6, 0.01, 15.5e9, 0.01),
    # ResNet-50: 25.5 M weights, ~4.1 G MACs.
    ("resnet50", 25.5e6, 0.01, 4.1e9, 0.01),
    # MobileNetV2: 3.5 M weights, 300 M MACs.
    ("mobilenetv2", 3.47e6, 0.02, 300e6, 0.02),
    # BERT-base encoder: ~85 M weights (12 × 7.08 M).
    ("bert-base", 85e6, 0.01, None, None),
    # BERT-large encoder: ~302 M weights.
    ("bert-large", 302e6, 0.01, None, None),
    # GPT-2 small: 124 M parameters; without embeddings/LN the blocks + tied head give 123.5 M.
    ("gpt2", 123.5e6, 0.01, None, None),
    # LLaMA-2-7B: 6.74 B parameters incl. 2 × 131 M embedding/head -> 6.48 B in the blocks.
    ("llama2-7b", 6.476e9, 0.001, None, None),
]


@pytest.mark.parametrize(("name", "weights", "wtol", "macs", "mtol"), PUBLISHED)
def test_published_counts(name, weights, wtol, macs, mtol):
    w = get_model(name)
    assert w.weight_count == pytest.approx(weights, rel=wtol)
    if macs is not None:
        assert w.macs == pytest.approx(macs, rel=mtol)


def test_alexnet_is_the_grouped_caffe_network():
    w = {g.name: g for g in get_model("alexnet")}
    assert [w[n].repeat for n in ("conv1", "conv2", "conv3", "conv4", "conv5")] == [1, 2, 1, 2, 2]
    assert (w["conv2"].k, w["conv2"].n, w["conv2"].m) == (48 * 25, 128, 27 * 27)
    assert w["conv1"].m == 55 * 55 and w["fc6"].k == 9216


def test_transformer_macs_scale_with_seq_len_and_batch():
    base = get_model("bert-base", seq_len=128)
    # Linear layers scale with tokens, attention matmuls with seq^2.
    linear = sum(g.macs for g in base if g.kind is LayerKind.LINEAR)
    attn = sum(g.macs for g in base if g.kind is LayerKind.ATTENTION)
    assert linear == 128 * base.weight_count
    assert attn == 12 * 2 * 12 * 128 * 128 * 64
    doubled = get_model("bert-base", seq_len=256, batch=2)
    lin2 = sum(g.macs for g in doubled if g.kind is LayerKind.LINEAR)
    attn2 = sum(g.macs for g in doubled if g.kind is LayerKind.ATTENTION)
    assert lin2 == 4 * linear and attn2 == 8 * attn


def test_attention_operands_are_activations():
    for g in get_model("gpt2"):
        assert g.w_is_weight == (g.kind is not LayerKind.ATTENTION)


def test_batch_scales_cnn_macs_not_weights():
    one, four = get_model("resnet50"), get_model("resnet50", batch=4)
    assert four.macs == 4 * one.macs and four.weight_count == one.weight_count


def test_llama_block_repeats_32_times():
    w = get_model("llama2-7b", seq_len=16)
    assert {g.repeat for g in w if g.w_is_weight} == {32}
    assert {g.repeat for g in w if not g.w_is_weight} == {32 * 32}


@pytest.mark.parametrize("bad", ["foo", "vgg17", ""])
def test_unknown_model(bad):
    with pytest.raises(WorkloadError, match="unknown model"):
        get_model(bad)


def test_bad_batch_and_seq_len():
    with pytest.raises(WorkloadError, match="batch"):
        get_model("vgg16", batch=0)
    with pytest.raises(WorkloadError, match="seq-len"):
        get_model("bert-base", seq_len=-1)


def test_every_zoo_network_builds():
    for name in ZOO:
        assert len(get_model(name, seq_len=8)) > 0
