"""The compiled index-matching kernels (sod._native.im_*, used by
sod.models.index_match when the extension is built) against their numpy twins, bit for
bit, and the numpy path on its own (the extension monkeypatched away) against the
cycle-level reference."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sparse_helpers import sparse_ints

from sod.arch.sparse import IndexMatchArch
from sod.models import index_match as im
from sod.models.fibers import transpose_packed
from sod.reference.index_match import simulate_index_match
from sod.workload.gemm import Gemm

native = pytest.mark.skipif(im._NATIVE is None, reason="sod._native is not built")


def _numpy(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with the compiled kernels switched off (the numpy twins)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(im, "_NATIVE", None)
        return fn(*args)


def _masks(m: int, k: int, n: int, da: float, dw: float, seed: int) -> tuple[np.ndarray, ...]:
    """A's rows packed along k and W's rows packed along n, with some empty fibers."""
    rng = np.random.default_rng(seed)
    a = rng.random((m, k)) < da
    w = rng.random((k, n)) < dw
    a[rng.random(m) < 0.1] = False
    w[:, rng.random(n) < 0.1] = False
    return np.packbits(a, axis=1), np.packbits(w, axis=1)


def _same_totals(x: im._Totals, y: im._Totals) -> None:
    assert x == y


cases = st.tuples(
    st.integers(1, 60),  # m
    st.integers(1, 400),  # k (not always whole bytes or words)
    st.integers(1, 60),  # n
    st.floats(0.0, 1.0),  # A density
    st.floats(0.0, 1.0),  # W density
    st.sampled_from([1, 2, 3, 4, 5, 8, 64]),  # window
    st.integers(0, 2**31),  # seed
)


@native
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_native_kernels_equal_numpy_twins(case):
    m, k, n, da, dw, p, seed = case
    fa, wp = _masks(m, k, n, da, dw, seed)
    # Bit transpose and fiber statistics.
    fw = im._column_fibers(wp, n)
    assert np.array_equal(fw, transpose_packed(wp, n))
    for fibers in (fa, fw):
        got, want = im._fiber_stats(fibers, p), im._fiber_stats(fibers, p, native=False)
        for x, y in zip(got, want, strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y)
        assert np.array_equal(im._col_counts(fibers, k), _numpy(im._col_counts, fibers, k))
    # Sides, per-side sums, pair steps and tile maxima.
    r, c, eff, ties = im._sides(fa, wp, n, p)
    r0, c0, eff0, ties0 = _numpy(im._sides, fa, wp, n, p)
    assert (eff, ties) == (eff0, ties0)
    for x, y in ((r, r0), (c, c0)):
        assert np.array_equal(x.rows, y.rows) and np.array_equal(x.vals, y.vals)
    assert im._side_sums(r, c, p) == _numpy(im._side_sums, r0, c0, p)
    assert im._side_sums(c, r, p) == _numpy(im._side_sums, c0, r0, p)
    rng = np.random.default_rng(seed)
    ri, ci = rng.integers(0, m, 200), rng.integers(0, n, 200)
    assert np.array_equal(
        im._exact_steps(r, c, ri, ci, p), _numpy(im._exact_steps, r0, c0, ri, ci, p)
    )
    for tr, tc in ((1, 1), (3, 5), (16, 16), (m, 1), (7, n + 3)):
        got = im._pruned_tile_maxima(r, c, p, tr, tc, 1 << 12)
        want = _numpy(im._pruned_tile_maxima, r0, c0, p, tr, tc, 1 << 12)
        assert np.array_equal(got, want)
        assert np.array_equal(got, im._dense_tile_maxima(r0, c0, p, tr, tc, 1 << 12))


@native
@pytest.mark.parametrize("density", [(0.02, 0.1), (0.3, 0.5), (0.9, 0.95)])
@pytest.mark.parametrize("shape", [(300, 2304, 96), (1, 5000, 700), (513, 1000, 1)])
def test_native_totals_equal_numpy_on_large_masks(density, shape):
    # Long fibers (many words, counters folded every 31 words, byte counters flushed
    # every 255 rows), batch-1 layers and both tile geometries of the mapping search.
    m, k, n = shape
    fa, wp = _masks(m, k, n, *density, seed=m + k + n)
    arch = IndexMatchArch()
    geoms = (im.tile_shape(m, arch), im.tile_shape(n, arch)[::-1])
    for p in (3, 4):
        got = im._pair_totals.__wrapped__(fa, wp, n, p, geoms)
        _same_totals(got, _numpy(im._pair_totals.__wrapped__, fa, wp, n, p, geoms))


@native
def test_native_kernels_reject_buffers_that_do_not_match_the_shape():
    nat = im._NATIVE
    assert nat is not None
    i64 = np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_fiber_stats(
            np.zeros((3, 4), np.uint8), 3, 5, 4, i64, i64.copy(), np.zeros((3, 4), np.uint8)
        )
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_transpose(np.zeros((9, 2), np.uint8), 9, 2, 17, np.zeros((17, 2), np.uint8))
    ends = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_pair_steps(ends, ends, 3, 3, 2, i64, i64, i64, i64, i64)
    with pytest.raises(ValueError, match="out of range"):
        nat.im_pair_steps(ends, ends, 3, 3, 1, i64, i64, i64 + 3, i64, i64.copy())
    with pytest.raises(ValueError, match="out of range"):
        nat.im_tile_maxima(
            ends, ends, 3, 3, 1, i64 + 64, i64 + 64, i64, i64, 2, 2, np.zeros(4, np.int64)
        )
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_tile_maxima(ends, ends, 3, 3, 1, i64, i64, i64, i64, 2, 2, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_col_counts(ends, 3, 8, 65, np.zeros(65, np.int64))
    two = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.im_side_sums(ends, 3, 1, i64, i64, two, two, 2, 0, two.copy())
    with pytest.raises(ValueError, match="ascend"):
        nat.im_side_sums(ends, 3, 1, i64, i64, two, two, 2, 4, two.copy())


def test_numpy_path_runs_without_the_extension(monkeypatch):
    # The numpy twins alone (a build without a C compiler) still equal the reference.
    monkeypatch.setattr(im, "_NATIVE", None)
    rng = np.random.default_rng(5)
    for _ in range(6):
        m, n = (int(x) for x in rng.integers(1, 30, 2))
        k = int(rng.integers(129, 300))  # past DENSE_K: the pruned tile maxima
        a = sparse_ints(rng, (m, k), float(rng.random()))
        w = sparse_ints(rng, (k, n), float(rng.random()))
        arch = IndexMatchArch(
            pe_rows=int(rng.integers(1, 6)),
            pe_cols=int(rng.integers(1, 6)),
            window=int(rng.integers(1, 6)),
        )
        im.pair_steps.cache_clear()
        counts = im.evaluate_index_match(Gemm("t", m, k, n), arch, w != 0, a != 0)
        run = simulate_index_match(a[None], w[None], arch)
        assert counts.cycles == run.cycles
        assert counts.macs_effectual == run.macs
        assert counts.actions["index_compare"] == run.comparisons
        assert counts.actions["fifo_access"] == 2 * run.loaded
    im.pair_steps.cache_clear()
