"""Convolution, linear and attention lowering to GEMMs."""

import numpy as np
import pytest

from sod.errors import WorkloadError
from sod.workload.gemm import Gemm, attention_matmuls, conv2d, conv_out_size, linear


def im2col_reference(x, kh, kw, stride, pad, dilation):
    """Direct im2col of a (C, H, W) input: rows = output pixels, cols = (c, i, j)."""
    _, h, w = x.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    ow = (w + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    cols = []
    for oy in range(oh):
        for ox in range(ow):
            patch = xp[
                :,
                oy * stride : oy * stride + dilation * (kh - 1) + 1 : dilation,
                ox * stride : ox * stride + dilation * (kw - 1) + 1 : dilation,
            ]
            cols.append(patch.reshape(-1))
    return np.array(cols)


@pytest.mark.parametrize(
    ("h", "k", "s", "p", "d", "g"),
    [
        (9, 3, 1, 1, 1, 1),
        (10, 3, 2, 0, 1, 1),
        (11, 5, 3, 2, 1, 2),
        (12, 3, 1, 2, 2, 1),
        (7, 3, 2, 1, 1, 4),
    ],
)
def test_conv_gemm_computes_the_convolution(h, k, s, p, d, g):
    rng = np.random.default_rng(0)
    cin, cout = 4, 8
    x = rng.integers(-3, 4, size=(cin, h, h))
    wt = rng.integers(-3, 4, size=(cout, cin // g, k, k))
    gemm = conv2d("c", h, h, cin, cout, k, stride=s, padding=p, dilation=d, groups=g)
    out_h = conv_out_size(h, k, s, p, d)
    assert gemm.m == out_h * out_h and gemm.repeat == g
    assert gemm.k == cin // g * k * k and gemm.n == cout // g
    # GEMM per group == direct convolution.
    for gi in range(g):
        xs = x[gi * (cin // g) : (gi + 1) * (cin // g)]
        a = im2col_reference(xs, k, k, s, p, d)
        w = wt[gi * gemm.n : (gi + 1) * gemm.n].reshape(gemm.n, -1).T
        assert a.shape == (gemm.m, gemm.k) and w.shape == (gemm.k, gemm.n)
        out = a @ w
        # direct: sum over window
        xp = np.pad(xs, ((0, 0), (p, p), (p, p)))
        for oy in range(out_h):
            for ox in range(out_h):
                win = xp[
                    :, oy * s : oy * s + d * (k - 1) + 1 : d, ox * s : ox * s + d * (k - 1) + 1 : d
                ]
                direct = (win[None] * wt[gi * gemm.n : (gi + 1) * gemm.n]).sum(axis=(1, 2, 3))
                assert np.array_equal(out[oy * out_h + ox], direct)


def test_depthwise():
    g = conv2d("dw", 56, 56, 144, 144, 3, stride=2, padding=1, groups=144)
    assert (g.m, g.k, g.n, g.repeat) == (28 * 28, 9, 1, 144)


def test_linear_and_attention():
    fc = linear("fc", 768, 3072, tokens=256)
    assert (fc.m, fc.k, fc.n) == (256, 768, 3072) and fc.w_is_weight
    qk, pv = attention_matmuls("a", 128, 128, 64, 12, batch=2)
    assert (qk.m, qk.k, qk.n, qk.repeat) == (128, 64, 128, 24)
    assert (pv.m, pv.k, pv.n, pv.repeat) == (128, 128, 64, 24)
    assert not qk.w_is_weight and not pv.w_is_weight and qk.weight_count == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_channels": 3, "out_channels": 8, "groups": 2},
        {"in_channels": 4, "out_channels": 6, "groups": 4},
        {"in_channels": 0, "out_channels": 8},
        {"in_channels": 4, "out_channels": 8, "kernel": 9},
    ],
)
def test_impossible_convs(kwargs):
    args = {"name": "bad", "in_h": 5, "in_w": 5, "kernel": 3, **kwargs}
    with pytest.raises(WorkloadError, match="bad"):
        conv2d(**args)


@pytest.mark.parametrize("dims", [(0, 1, 1), (1, -2, 1), (1, 1, 0)])
def test_non_positive_dims(dims):
    with pytest.raises(WorkloadError, match="positive"):
        Gemm("g", *dims)
