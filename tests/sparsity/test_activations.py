"""Synthetic ReLU masks: exact density, measured clustering and channel spread; im2col."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import SodError, SparsityError
from sod.sparsity.activations import (
    channel_counts,
    channel_density_spread,
    conv_activation_mask,
    feature_map_mask,
    im2col_mask,
    left_neighbour_probability,
    vector_mask,
)
from sod.workload.gemm import conv2d


@pytest.mark.parametrize("density", [0.07, 0.2, 0.35, 0.59])
def test_relu_maps_cluster_like_measured(density):
    rng = np.random.default_rng(1)
    fmap = feature_map_mask(1, 32, 56, 56, density, rng)
    assert fmap.sum() == round(density * fmap.size)
    p = left_neighbour_probability(fmap)
    assert 0.58 <= p <= 0.96  # REFERENCES.md §7
    assert p > density + 0.2
    lo, hi = channel_density_spread(fmap)
    assert hi - lo > 0.15  # channels differ widely (measured p5-p95 e.g. 0.09-0.41)


def test_unclustered_baseline_is_not():
    rng = np.random.default_rng(2)
    fmap = feature_map_mask(1, 16, 28, 28, 0.3, rng, radius=0, concentration=0)
    assert abs(left_neighbour_probability(fmap) - 0.3) < 0.05


def test_small_maps_and_batches():
    rng = np.random.default_rng(3)
    fmap = feature_map_mask(3, 8, 7, 7, 0.4, rng)
    assert fmap.shape == (3, 8, 7, 7)
    assert (fmap.sum(axis=(1, 2, 3)) == round(0.4 * 8 * 49)).all()  # exact per image
    per_channel = fmap.mean(axis=(2, 3))
    # Channel densities are a channel property shared by the batch's images.
    assert np.corrcoef(per_channel[0], per_channel[1])[0, 1] > 0.5
    assert feature_map_mask(1, 2, 4, 4, 1.0, rng).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.integers(1, 30), st.floats(0.01, 1.0), st.integers(0, 99))
def test_channel_counts_exact(channels, per, density, seed):
    c = channel_counts(channels, per, density, np.random.default_rng(seed))
    assert c.sum() == round(density * channels * per)
    assert c.min() >= 0 and c.max() <= per


def test_conv_activation_mask_batches():
    g = conv2d("c", 9, 9, 4, 6, 3, padding=1, groups=2, batch=3)
    m = conv_activation_mask(g.conv, 3, 0.3, np.random.default_rng(0))
    assert m.shape == (2 * g.m, g.k)
    # Rows of group 0, image 1 are the im2col of a 0.3-dense map: mostly 0.2-0.4.
    rows = m.to_bool()[81:162]
    assert 0.15 < rows.mean() < 0.4


def test_vector_mask_exact():
    m = vector_mask(5, 300, 0.25, np.random.default_rng(0))
    assert m.shape == (5, 300) and m.sum() == 375


def test_bad_activation_density():
    with pytest.raises(SparsityError):
        feature_map_mask(1, 2, 4, 4, 0.0, np.random.default_rng(0))


def brute_im2col(fmap, g):
    c = g.conv
    out = []
    b = fmap.shape[0]
    cg = c.in_channels // c.groups
    pad = np.pad(fmap, ((0, 0), (0, 0), (c.pad_h, c.pad_h), (c.pad_w, c.pad_w)))
    for grp in range(c.groups):
        for i in range(b):
            for oy in range(c.out_h):
                for ox in range(c.out_w):
                    row = []
                    for ch in range(grp * cg, (grp + 1) * cg):
                        for ky in range(c.kernel_h):
                            for kx in range(c.kernel_w):
                                y = oy * c.stride_h + ky * c.dilation_h
                                x = ox * c.stride_w + kx * c.dilation_w
                                row.append(pad[i, ch, y, x])
                    out.append(row)
    return np.array(out, dtype=bool)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 2),
    st.sampled_from([(2, 1), (4, 2), (3, 3), (4, 4)]),
    st.integers(3, 7),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.integers(0, 999),
)
def test_im2col_matches_brute_force(batch, cg, size, kernel, stride, pad, dil, seed):
    cin, groups = cg
    span = dil * (kernel - 1) + 1
    if span > size + 2 * pad:
        return
    g = conv2d(
        "c",
        size,
        size + 1,
        cin,
        2 * groups,
        kernel,
        stride=stride,
        padding=pad,
        dilation=dil,
        groups=groups,
        batch=batch,
    )
    fmap = np.random.default_rng(seed).random((batch, cin, size, size + 1)) < 0.5
    m = im2col_mask(fmap, g.conv)
    assert m.shape == (groups * g.m, g.k)
    np.testing.assert_array_equal(m.to_bool(), brute_im2col(fmap, g))


def test_im2col_shape_mismatch():
    g = conv2d("c", 5, 5, 2, 2, 3)
    with pytest.raises(SodError, match="does not match"):
        im2col_mask(np.ones((1, 3, 5, 5), dtype=bool), g.conv)
