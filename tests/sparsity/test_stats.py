"""Mask statistics agree with brute force on random masks, chunked or not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import SodError
from sod.sparsity import stats
from sod.sparsity.stats import (
    col_counts,
    empty_kernel_fraction,
    pattern_stats,
    row_counts,
    tile_counts,
    zero_runs,
)
from sod.workload.mask import BitMask


@st.composite
def masks(draw):
    rows = draw(st.integers(1, 40))
    cols = draw(st.integers(1, 40))
    density = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    return rng.random((rows, cols)) < density


def brute_tiles(a: np.ndarray, tr: int, tc: int) -> np.ndarray:
    nr, nc = -(-a.shape[0] // tr), -(-a.shape[1] // tc)
    out = np.zeros((nr, nc), dtype=np.int64)
    for i in range(nr):
        for j in range(nc):
            out[i, j] = a[i * tr : (i + 1) * tr, j * tc : (j + 1) * tc].sum()
    return out


def brute_runs(a: np.ndarray) -> list[int]:
    runs = []
    for col in a.T:
        n = 0
        for v in col:
            if v:
                if n:
                    runs.append(n)
                n = 0
            else:
                n += 1
        if n:
            runs.append(n)
    return sorted(runs)


@settings(max_examples=60, deadline=None)
@given(masks(), st.integers(1, 17), st.integers(1, 24), st.booleans())
def test_counts_match_brute_force(a, tr, tc, tiny_chunks):
    old = stats._CHUNK_BITS
    stats._CHUNK_BITS = 7 if tiny_chunks else old  # forces many row chunks
    try:
        m = BitMask.from_bool(a)
        np.testing.assert_array_equal(row_counts(m), a.sum(axis=1))
        np.testing.assert_array_equal(col_counts(m), a.sum(axis=0))
        np.testing.assert_array_equal(tile_counts(m, tr, tc), brute_tiles(a, tr, tc))
        np.testing.assert_array_equal(
            tile_counts(m, tr, 8 * (tc % 3 + 1)), brute_tiles(a, tr, 8 * (tc % 3 + 1))
        )
        assert sorted(zero_runs(m, axis=0).tolist()) == brute_runs(a)
        assert sorted(zero_runs(m, axis=1).tolist()) == brute_runs(a.T)
    finally:
        stats._CHUNK_BITS = old


def test_tile_counts_sum_and_shape():
    a = np.random.default_rng(0).random((100, 77)) < 0.3
    t = tile_counts(a, 16, 8)
    assert t.shape == (7, 10)
    assert t.sum() == a.sum()


def test_bad_tile_shape():
    with pytest.raises(SodError):
        tile_counts(np.ones((4, 4)), 0, 4)


def test_pattern_stats_known_mask():
    # 2 output channels of 3 kernels of 4 positions: channel 0 keeps only kernel 0.
    a = np.zeros((12, 2), dtype=bool)
    a[0:4, 0] = True
    a[:, 1] = True
    s = pattern_stats(a, kernel_area=4)
    assert s.density == pytest.approx(16 / 24)
    assert s.empty_kernel_frac == pytest.approx(2 / 6)
    assert s.out_cv == pytest.approx(np.std([4, 12]) / 8)
    assert s.zero_run_p99 == pytest.approx(8)
    assert np.isnan(empty_kernel_fraction(a, 1))
