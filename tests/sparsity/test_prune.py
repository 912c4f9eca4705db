"""Pruning meets its targets exactly and keeps the largest weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import SparsityError
from sod.sparsity import prune as P


def weights(seed: int, k: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((k, n)).astype(np.float32)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 60), st.integers(1, 60), st.floats(0.001, 1.0))
def test_unstructured_exact_and_largest(seed, k, n, density):
    w = weights(seed, k, n)
    keep = P.prune_unstructured(w, density)
    assert keep.sum() == round(density * w.size)
    if 0 < keep.sum() < w.size:
        assert np.abs(w[keep]).min() >= np.abs(w[~keep]).max()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 50), st.integers(1, 30), st.floats(0.01, 1.0))
def test_row_balanced_counts(seed, k, n, density):
    w = weights(seed, k, n)
    keep = P.prune_row_balanced(w, density)
    per = keep.sum(axis=0)
    assert keep.sum() == round(density * w.size)
    assert per.max() - per.min() <= 1
    for j in range(n):  # the kept ones are the column's largest
        col, kc = np.abs(w[:, j]), keep[:, j]
        if 0 < kc.sum() < k:
            assert col[kc].min() >= col[~kc].max()


def test_row_balanced_uses_activation_norm():
    w = np.ones((4, 3), dtype=np.float32)
    keep = P.prune_row_balanced(w, 0.5, act_norm=np.array([1, 5, 2, 9]))
    assert keep[[1, 3]].all() and not keep[[0, 2]].any()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(1, 40),
    st.integers(1, 10),
    st.integers(1, 8),
    st.integers(1, 8),
)
def test_n_m(seed, k, n, nk, m):
    if nk > m:
        with pytest.raises(SparsityError):
            P.prune_n_m(weights(seed, k, n), nk, m)
        return
    w = weights(seed, k, n)
    keep = P.prune_n_m(w, nk, m)
    full = (k // m) * m
    groups = keep[:full].reshape(-1, m, n).sum(axis=1)
    assert (groups == nk).all()
    if k % m:
        assert (keep[full:].sum(axis=0) == min(nk, k - full)).all()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(4, 40),
    st.integers(4, 40),
    st.integers(1, 4),
    st.floats(0.05, 1.0),
)
def test_blocks_whole_and_within_one_block(seed, k, n, b, density):
    w = weights(seed, k, n)
    keep = P.prune_blocks(w, density, b)
    assert abs(keep.sum() - density * w.size) <= b * b
    # Every b×b block is all kept or all pruned.
    pad = np.pad(keep, ((0, (-k) % b), (0, (-n) % b)), constant_values=False)
    tiles = pad.reshape(pad.shape[0] // b, b, pad.shape[1] // b, b).sum(axis=(1, 3))
    ones = np.pad(np.ones_like(keep), ((0, (-k) % b), (0, (-n) % b)))
    sizes = ones.reshape(tiles.shape[0], b, tiles.shape[1], b).sum(axis=(1, 3))
    assert np.all((tiles == 0) | (tiles == sizes))


def test_global_exact_and_single_threshold():
    rng = np.random.default_rng(3)
    layers = [rng.standard_exponential((200, 50)).astype(np.float32) * s for s in (1.0, 0.3, 3.0)]
    for d in (0.02, 0.3, 0.9):
        keeps = P.prune_global(layers, d)
        total = sum(k.sum() for k in keeps)
        assert total == round(d * sum(a.size for a in layers))
        kept_min = min(a[k].min() for a, k in zip(layers, keeps, strict=True) if k.any())
        pruned_max = max(a[~k].max() for a, k in zip(layers, keeps, strict=True) if (~k).any())
        assert kept_min >= pruned_max
        dens = [k.mean() for k in keeps]
        assert dens[1] < dens[0] < dens[2]  # smaller-scale layer is pruned harder


def test_global_large_uses_bracket_and_stays_exact():
    rng = np.random.default_rng(4)
    layers = [
        rng.standard_exponential(n).astype(np.float32).reshape(-1, 100) for n in (600_000, 400_000)
    ]
    keeps = P.prune_global(layers, 0.07)
    assert sum(k.sum() for k in keeps) == round(0.07 * 1_000_000)
    big = rng.standard_exponential((3000, 400)).astype(np.float32)
    assert P.prune_unstructured(big, 0.123).sum() == round(0.123 * big.size)


def test_global_with_multiplicity():
    rng = np.random.default_rng(5)
    layers = [rng.standard_exponential((100, 100)) for _ in range(2)]
    keeps = P.prune_global(layers, 0.25, multiplicity=[1, 4])
    kept = keeps[0].sum() + 4 * keeps[1].sum()
    assert abs(kept - 0.25 * 50_000) <= 2


@pytest.mark.parametrize("density", [0.0, -0.1, 1.5, float("nan"), "x"])
def test_bad_density(density):
    with pytest.raises(SparsityError, match="density"):
        P.prune_unstructured(np.ones((4, 4)), density)


def test_bad_block_and_shape():
    with pytest.raises(SparsityError, match="larger than"):
        P.prune_blocks(np.ones((4, 4)), 0.5, 5)
    with pytest.raises(SparsityError, match="2-D"):
        P.prune_unstructured(np.ones(4), 0.5)
    with pytest.raises(SparsityError, match="N <= M"):
        P.prune_n_m(np.ones((4, 4)), 3, 2)


def test_nonzero_after_pruning_drops_exact_zeros():
    w = np.array([[0.0, 2.0], [3.0, 0.0]])
    keep = np.ones_like(w, dtype=bool)
    assert P.nonzero_after_pruning(w, keep).sum() == 2


@pytest.mark.parametrize("density", [0.01, 0.5, 0.99, 1.0])
def test_row_balanced_ties_fall_back_exactly(density):
    w = np.round(weights(0, 30, 7) * 2) / 2  # heavy ties
    keep = P.prune_row_balanced(w, density)
    per = keep.sum(axis=0)
    assert keep.sum() == round(density * w.size) and per.max() - per.min() <= 1
