"""SCNN's polyphase mapping of strided convolutions: the analytic model equals the cycle-
level reference, the output is A·W, and no issued product is off-stride."""

import zlib

import numpy as np
import pytest
from sparse_helpers import sparse_ints, unfold

from sod.arch.sparse import SCNNArch
from sod.mapping.scnn import (
    im2col,
    kernels_of,
    polyphase_applies,
    polyphase_operands,
    polyphase_plane,
    scnn_plane,
)
from sod.models.scnn import evaluate_scnn
from sod.reference.scnn import simulate_scnn
from sod.workload.gemm import conv2d


@pytest.mark.parametrize("buffering", ["deep", "none"])
@pytest.mark.parametrize(
    "geometry",
    [
        dict(kernel=3, stride=2, padding=0),
        dict(kernel=3, stride=2, padding=1),
        dict(kernel=5, stride=3, padding=2),
        dict(kernel=1, stride=2, padding=0),
        dict(kernel=4, stride=4, padding=1),
    ],
)
def test_polyphase_model_equals_reference(buffering, geometry):
    rng = np.random.default_rng(zlib.crc32(repr((buffering, sorted(geometry.items()))).encode()))
    b, c, k_out, h = (
        int(rng.integers(1, 3)),
        int(rng.integers(1, 4)),
        int(rng.integers(1, 9)),
        int(rng.integers(7, 12)),
    )
    g = conv2d("c", h, h + 1, c, k_out, batch=b, **geometry)
    fmap = sparse_ints(rng, (b, c, h, h + 1), 0.6)
    a = unfold(fmap, g)
    w = sparse_ints(rng, (g.k, g.n), 0.5)
    arch = SCNNArch(
        crossbar_buffering=buffering,
        pe_rows=int(rng.integers(1, 4)),
        pe_cols=int(rng.integers(1, 4)),
        mult_f=int(rng.integers(1, 5)),
        mult_i=int(rng.integers(1, 5)),
        accumulator_banks=int(rng.integers(1, 9)),
        accumulator_entries=int(rng.integers(16, 64)),
        out_channel_group=int(rng.integers(1, 3)),
        stride_mapping="polyphase",
    )
    counts = evaluate_scnn(g, arch, w != 0, a != 0, conflict_cycles=1 << 20)
    run = simulate_scnn(g, arch, w, a)
    assert np.array_equal(run.output[0], a @ w)
    assert counts.cycles == run.cycles
    assert counts.macs_issued == run.products
    assert run.valid_products == counts.macs_effectual
    direct = simulate_scnn(g, arch.model_copy(update={"stride_mapping": "direct"}), w, a)
    assert np.array_equal(direct.output, run.output)
    assert direct.valid_products == run.valid_products
    # No product is off-stride: only the border (halo) products of the Cartesian
    # product are wasted, as in any stride-1 convolution; the direct mapping wastes more.
    assert direct.products - direct.valid_products >= run.products - run.valid_products


def test_polyphase_operands_compute_the_same_convolution():
    rng = np.random.default_rng(4)
    g = conv2d("c", 13, 11, 3, 5, 5, stride=3, padding=2, batch=2)
    pl = scnn_plane(g)
    fmap = sparse_ints(rng, (2, 3, 13, 11), 0.7)
    w = sparse_ints(rng, (g.k, g.n), 0.7)
    assert polyphase_applies(pl)
    fp, wp = polyphase_operands(fmap, w, pl)
    pp = polyphase_plane(pl)
    assert (pp.stride_h, pp.stride_w, pp.pad_h, pp.pad_w) == (1, 1, 0, 0)
    assert fp.shape == (2, pp.channels, pp.in_h, pp.in_w)
    assert wp.shape == (pp.channels * pp.kernel_h * pp.kernel_w, g.n)
    # The stride-1 convolution of the phases equals the strided one (same outputs).
    assert np.array_equal(im2col(fp, pp) @ wp, im2col(fmap, pl) @ w)
    # Every weight is in exactly one phase.
    assert np.count_nonzero(wp) == np.count_nonzero(w)
    kp, k0 = kernels_of(wp, pp), kernels_of(w, pl)
    assert np.array_equal(np.sort(kp[kp != 0]), np.sort(k0[k0 != 0]))


def test_polyphase_removes_the_stride_waste_of_a_strided_conv():
    rng = np.random.default_rng(8)
    g = conv2d("c", 27, 27, 3, 16, 11, stride=4, padding=2)
    pl = scnn_plane(g)
    fmap = rng.random((1, 3, 27, 27)) < 0.9
    a = im2col(fmap, pl)
    w = rng.random((g.k, g.n)) < 0.8
    direct = evaluate_scnn(g, SCNNArch(stride_mapping="direct"), w, a)
    poly = evaluate_scnn(g, SCNNArch(stride_mapping="polyphase"), w, a)
    assert poly.macs_effectual == direct.macs_effectual
    # Off-stride products gone (15 of 16 in the direct mapping); border products remain.
    assert direct.macs_issued > 8 * poly.macs_issued
    assert poly.macs_issued < 1.5 * poly.macs_effectual
    assert poly.cycles * 3 < direct.cycles
    # 'auto' at the model level runs the published (direct) mapping.
    assert evaluate_scnn(g, SCNNArch(), w, a).cycles == direct.cycles
