"""from_torch's dispatch-level capture, one op family at a time: every GEMM shape, the
operands (weights as k × n in sod's im2col order, masks equal to torch's own), and the
MAC total equal to torch's FlopCounterMode (MACs = FLOPs / 2); an op sod cannot lower
is a warning naming it, never a silent loss."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from sod.workload import from_torch  # noqa: E402
from sod.workload.gemm import Activation, LayerKind  # noqa: E402
from sod.workload.torch_import import UnloweredOp, UnloweredOpWarning  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def true_macs(model, *inputs) -> int:
    """MACs as torch counts them (SDPA through the math backend, which FlopCounterMode
    sees as two bmm's; the fused CPU kernel has no FLOP formula)."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused MHA kernel has no formula
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc, torch.no_grad():
            model(*inputs)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    flops = fc.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


def capture(model, *inputs, uncounted=0):
    """``uncounted``: MACs of ops FlopCounterMode has no formula for (aten.mv)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnloweredOpWarning)  # nothing may be dropped here
        w = from_torch(model, inputs)
    assert w.macs == true_macs(model, *inputs) + uncounted
    return w


def sparse(*shape):
    """A ReLU'd random tensor: about half zeros, so masks are informative."""
    return torch.relu(torch.randn(*shape))


def test_conv1d_im2col_order_and_masks():
    conv = nn.Conv1d(6, 8, 3, stride=2, padding=1, dilation=2, groups=2)
    x = sparse(2, 6, 17)
    (g,) = capture(conv, x)
    out = conv(x)
    lout = out.shape[-1]
    assert (g.name, g.m, g.k, g.n, g.repeat) == ("model", 2 * lout, 3 * 3, 4, 2)
    assert g.kind == LayerKind.CONV and g.conv is not None
    assert (g.conv.in_h, g.conv.kernel_h, g.conv.in_w, g.conv.kernel_w) == (1, 1, 17, 3)
    # torch's own im2col (unfold on a height-1 image): k = (channel, kernel column).
    cols = F.unfold(x.unsqueeze(2), (1, 3), dilation=(1, 2), padding=(0, 1), stride=(1, 2))
    a = cols.transpose(1, 2).reshape(-1, 2, g.k).transpose(0, 1)  # (groups, m, k)
    np.testing.assert_array_equal(g.act_mask.to_bool(), (a != 0).reshape(-1, g.k).numpy())
    # The convention reproduces the convolution: O_g = A_g · W_g.
    o = torch.einsum("gmk,gkn->gmn", a, torch.from_numpy(g.weights))
    ref = (out - conv.bias[None, :, None]).permute(0, 2, 1).reshape(-1, 2, 4).transpose(0, 1)
    torch.testing.assert_close(o, ref)


def test_conv3d_im2col_order_and_masks():
    conv = nn.Conv3d(4, 6, (2, 3, 3), stride=(1, 2, 1), padding=(0, 1, 1), groups=2)
    x = sparse(2, 4, 5, 6, 7)
    (g,) = capture(conv, x)
    out = conv(x)
    do, ho, wo = out.shape[2:]
    assert (g.m, g.k, g.n, g.repeat) == (2 * do * ho * wo, 2 * 2 * 3 * 3, 3, 2)
    assert g.kind == LayerKind.CONV and g.conv is None
    # im2col by torch's Tensor.unfold, k = (channel, kd, kh, kw).
    xp = F.pad(x, (1, 1, 1, 1, 0, 0))
    win = xp.unfold(2, 2, 1).unfold(3, 3, 2).unfold(4, 3, 1)  # (B, C, Do, Ho, Wo, 2, 3, 3)
    a = win.permute(0, 2, 3, 4, 1, 5, 6, 7).reshape(g.m, 2, g.k).transpose(0, 1)
    np.testing.assert_array_equal(g.act_mask.to_bool(), (a != 0).reshape(-1, g.k).numpy())
    o = torch.einsum("gmk,gkn->gmn", a, torch.from_numpy(g.weights))
    ref = out - conv.bias[None, :, None, None, None]
    ref = ref.permute(0, 2, 3, 4, 1).reshape(-1, 2, 3).transpose(0, 1)
    torch.testing.assert_close(o, ref)
    assert g.weight_mask.shape == (2 * g.k, g.n)  # stacked per group


def test_grouped_and_depthwise_conv2d():
    net = nn.Sequential(
        nn.Conv2d(8, 12, 3, padding=1, groups=4),
        nn.ReLU(),
        nn.Conv2d(12, 24, 3, stride=2, groups=12),  # depthwise, multiplier 2
    )
    w = capture(net, torch.randn(1, 8, 9, 9))
    grouped, dw = w.gemms
    assert (grouped.name, grouped.m, grouped.k, grouped.n, grouped.repeat) == ("0", 81, 2 * 9, 3, 4)
    assert (dw.name, dw.m, dw.k, dw.n, dw.repeat) == ("2", 16, 9, 2, 12)
    assert dw.operand_groups == 12 and dw.input_activation == Activation.RELU
    np.testing.assert_array_equal(
        dw.weights, net[2].weight.detach().numpy().reshape(12, 2, 9).transpose(0, 2, 1)
    )


def test_conv_same_padding_even_kernel():
    conv = nn.Conv2d(3, 4, 4, padding="same")  # asymmetric: torch pads the input first
    warnings.filterwarnings("ignore", "Using padding=.same. with even kernel", UserWarning)
    (g,) = capture(conv, torch.randn(1, 3, 10, 10))
    assert (g.m, g.k, g.n) == (100, 48, 4)


def test_transposed_conv_col2im():
    conv = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    x = sparse(2, 4, 5, 5)
    (g,) = capture(conv, x)
    assert (g.m, g.k, g.n, g.repeat) == (2 * 25, 2, 3 * 9, 2)
    assert g.conv is None and g.kind == LayerKind.CONV
    # col2im: per group, O_cols = A_g · W_g, folded back with the transposed conv's geometry.
    a = x.permute(0, 2, 3, 1).reshape(2, 25, 2, 2)  # (b, pixels, group, k)
    ref = conv(x) - conv.bias[None, :, None, None]
    for grp in range(2):
        cols = a[:, :, grp] @ torch.from_numpy(g.weights[grp])  # (b, 25, 3*9)
        out = F.fold(cols.transpose(1, 2), (10, 10), 3, padding=1, stride=2)
        torch.testing.assert_close(out, ref[:, 3 * grp : 3 * grp + 3])


def test_einsum_bmm_baddbmm_mv():
    class Mix(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(8, 5))

        def forward(self, x, y):
            a = torch.einsum("bld,dh->blh", x, self.w)  # weight GEMM (batch folded)
            b = torch.einsum("bij,bjk->bik", x, y)  # batched activation GEMM
            c = torch.baddbmm(b, x, y)
            d = torch.bmm(x, y)
            e = x[0] @ y[0, :, 0]  # matrix-vector
            return a.sum() + c.sum() + d.sum() + e.sum()

    x, y = sparse(3, 4, 8), sparse(3, 8, 6)
    mix = Mix()
    w = capture(mix, x, y, uncounted=4 * 8)  # FlopCounterMode does not count aten.mv
    shapes = [(g.name, g.m, g.k, g.n, g.repeat, g.w_is_weight) for g in w]
    assert shapes == [
        ("model.einsum", 12, 8, 5, 1, True),
        ("model.einsum#2", 4, 8, 6, 3, False),
        ("model.baddbmm", 4, 8, 6, 3, False),
        ("model.matmul", 4, 8, 6, 3, False),
        ("model.matmul#2", 4, 8, 1, 1, False),
    ]
    np.testing.assert_array_equal(w.gemms[0].weights, mix.w.detach().numpy())
    # First batch element's masks represent the repeats.
    np.testing.assert_array_equal(w.gemms[3].act_mask.to_bool(), (x[0] != 0).numpy())
    np.testing.assert_array_equal(w.gemms[3].weight_mask.to_bool(), (y[0] != 0).numpy())


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_lowered_to_qk_and_pv(causal):
    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(16, 48)

        def forward(self, x, mask):
            q, k, v = self.qkv(x).view(2, 6, 3, 4, 4).permute(2, 0, 3, 1, 4)
            if causal:
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    x = torch.randn(2, 6, 16)
    mask = torch.ones(6, 6, dtype=torch.bool)
    mask[:, 4:] = False  # padding keys
    net = Attn()
    w = capture(net, x, mask)
    names = [g.name for g in w]
    assert names == ["qkv", "model.qk", "model.pv"]
    qk, pv = w.gemms[1:]
    assert (qk.m, qk.k, qk.n, qk.repeat) == (6, 4, 6, 8)  # repeat = batch × heads
    assert (pv.m, pv.k, pv.n, pv.repeat) == (6, 6, 4, 8)
    assert not qk.w_is_weight and not pv.w_is_weight and qk.kind == LayerKind.ATTENTION
    assert pv.input_activation == Activation.SOFTMAX and qk.weights is None
    q, k, v = net.qkv(x).view(2, 6, 3, 4, 4).permute(2, 0, 3, 1, 4)
    np.testing.assert_array_equal(qk.act_mask.to_bool(), (q[0, 0] != 0).numpy())
    np.testing.assert_array_equal(qk.weight_mask.to_bool(), (k[0, 0].T != 0).numpy())
    np.testing.assert_array_equal(pv.weight_mask.to_bool(), (v[0, 0] != 0).numpy())
    expected = torch.tril(torch.ones(6, 6, dtype=torch.bool)) if causal else mask
    np.testing.assert_array_equal(pv.act_mask.to_bool(), expected.numpy())


def test_sdpa_grouped_query_attention():
    q, kv = torch.randn(1, 8, 5, 4), torch.randn(1, 2, 7, 4)

    def gqa(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    w = capture(gqa, q, kv, kv)
    assert [(g.m, g.k, g.n, g.repeat) for g in w] == [(5, 4, 7, 8), (5, 7, 4, 8)]


def test_plain_callable_parameter_is_a_weight():
    w_param = nn.Parameter(torch.randn(6, 3))

    def fn(x):
        return torch.relu(x) @ w_param

    (g,) = from_torch(fn, torch.randn(4, 6))
    assert (g.name, g.m, g.k, g.n, g.w_is_weight) == ("model.matmul", 4, 6, 3, True)
    assert g.input_activation == Activation.RELU
    np.testing.assert_array_equal(g.weights, w_param.detach().numpy())


def test_transformer_encoder_layer_multihead_attention():
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True).eval()
    w = capture(layer, torch.randn(2, 5, 16))
    assert [(g.name, g.m, g.k, g.n, g.repeat, g.w_is_weight) for g in w] == [
        ("self_attn", 10, 16, 48, 1, True),  # packed in_proj (F.linear inside MHA)
        ("self_attn.qk", 5, 4, 5, 8, False),
        ("self_attn.pv", 5, 5, 4, 8, False),
        ("self_attn#2", 10, 16, 16, 1, True),  # out_proj
        ("linear1", 10, 16, 32, 1, True),
        ("linear2", 10, 32, 16, 1, True),
    ]
    assert w.gemms[-1].input_activation == Activation.RELU


def test_unlowerable_op_is_a_warning_naming_it():
    class Tbc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.w = nn.Parameter(torch.randn(2, 3, 4))  # (kernel, Cin, Cout)

        def forward(self, x):
            return torch.conv_tbc(self.fc(x), self.w, torch.zeros(4))

    dropped: list[UnloweredOp] = []
    with pytest.warns(UnloweredOpWarning, match=r"aten\.conv_tbc.*'model'.*\(120 MACs\)"):
        w = from_torch(Tbc(), torch.randn(6, 1, 3), unlowered=dropped)
    assert [g.name for g in w] == ["fc"]  # what could be lowered still is
    assert [(d.name, d.op, d.macs) for d in dropped] == [
        ("model", "aten.conv_tbc.default", 5 * 1 * 2 * 3 * 4)
    ]


def test_rnn_is_a_warning_not_a_silent_loss():
    class Rnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 5)
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    dropped: list[UnloweredOp] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnloweredOpWarning)
        w = from_torch(Rnn(), torch.randn(3, 1, 4), unlowered=dropped)
    assert w.gemms[-1].name == "head"
    lstm_macs = 3 * (4 * 5 * 4 + 4 * 5 * 5)  # 3 steps × (W_ih 20×4 + W_hh 20×5)
    lowered = sum(g.macs for g in w if g.name.startswith("lstm"))
    if torch.backends.mkldnn.is_available():  # the fused CPU kernel: a warning, with MACs
        assert lowered == 0 and dropped and all(d.name == "lstm" for d in dropped)
        assert any("'lstm'" in str(c.message) for c in caught)
        assert sum(d.macs or 0 for d in dropped) == lstm_macs
    else:  # decomposed into GEMMs: lowered, nothing lost
        assert lowered == lstm_macs
