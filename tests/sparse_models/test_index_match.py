"""Index-matching array: the exact vectorized step count equals the cycle-level merge."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparse_helpers import sparse_ints

from sod.arch.sparse import IndexMatchArch
from sod.models.index_match import evaluate_index_match, pair_steps
from sod.reference.index_match import _fiber, _merge, simulate_index_match
from sod.workload.gemm import Gemm


@pytest.mark.parametrize("density", [(0.05, 0.2), (0.3, 0.5), (0.9, 0.9), (0.1, 1.0)])
def test_model_equals_reference(density):
    rng = np.random.default_rng(int(density[0] * 1000 + density[1] * 10))
    for _ in range(4):
        m, n = (int(x) for x in rng.integers(1, 20, 2))
        k = int(rng.integers(1, 120))
        reps = int(rng.integers(1, 3))
        a = sparse_ints(rng, (reps, m, k), density[1])
        w = sparse_ints(rng, (reps, k, n), density[0])
        arch = IndexMatchArch(
            pe_rows=int(rng.integers(1, 5)),
            pe_cols=int(rng.integers(1, 5)),
            window=int(rng.integers(1, 7)),
            fifo_depth=int(rng.integers(1, 12)),
        )
        counts = evaluate_index_match(Gemm("t", m, k, n, repeat=reps), arch, w != 0, a != 0)
        run = simulate_index_match(a, w, arch)
        assert np.array_equal(run.output, a @ w)
        assert counts.cycles == run.cycles
        assert counts.macs_effectual == run.macs
        assert counts.actions["index_compare"] == run.comparisons
        assert counts.actions["fifo_access"] == 2 * run.loaded
        assert counts.effective_utilization <= 1


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 700),
    st.sampled_from([1, 2, 3, 4, 5, 8]),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_steps_equal_the_merge_for_long_fibers(k, p, da, dw, seed):
    # Long fibers exercise the uint8 running ranks (they wrap past 255).
    rng = np.random.default_rng(seed)
    a = rng.random((2, k)) < da
    w = rng.random((k, 3)) < dw
    steps, _, _ = pair_steps(a, w, p)
    for r in range(2):
        for f in range(3):
            cycles = _merge(_fiber(a[r].astype(int)), _fiber(w[:, f].astype(int)), p)[0]
            assert steps[r, f] == cycles


def test_fifo_too_shallow_costs_a_bubble_per_dot_product():
    rng = np.random.default_rng(7)
    a, w = rng.random((8, 40)) < 0.4, rng.random((40, 8)) < 0.4
    g = Gemm("t", 8, 40, 8)
    deep = evaluate_index_match(
        g, IndexMatchArch(pe_rows=8, pe_cols=8, window=2, fifo_depth=4), w, a
    )
    shallow = evaluate_index_match(
        g, IndexMatchArch(pe_rows=8, pe_cols=8, window=2, fifo_depth=3), w, a
    )
    assert shallow.cycles == deep.cycles + 1  # one tile, every PE one bubble


def test_utilization_follows_the_pattern_not_the_density():
    # Same non-zero counts, interleaved vs clustered indices: clustered fibers that do
    # not overlap end early (no matches, few steps); interleaved ones walk everything.
    k = 64
    a = np.zeros((1, k), bool)
    w = np.zeros((k, 1), bool)
    a[0, :16] = True
    w[48:, 0] = True
    g = Gemm("t", 1, k, 1)
    arch = IndexMatchArch(pe_rows=1, pe_cols=1, window=4)
    apart = evaluate_index_match(g, arch, w, a)
    a2 = np.zeros((1, k), bool)
    a2[0, ::4] = True
    w2 = np.zeros((k, 1), bool)
    w2[2::4, 0] = True
    interleaved = evaluate_index_match(g, arch, w2, a2)
    assert apart.macs_effectual == interleaved.macs_effectual == 0
    assert apart.cycles == 4  # A's 4 windows retire below W's first index, then stop
    # Window ends 12, 28, 44, 60 (A) and 14, 30, 46, 62 (W) alternate; A ends at 60.
    assert interleaved.cycles == 7


def test_batch1_fc_uses_every_pe():
    arch = IndexMatchArch(pe_rows=4, pe_cols=4, window=2)
    rng = np.random.default_rng(1)
    g = Gemm("fc", 1, 50, 32)
    c = evaluate_index_match(g, arch, rng.random((50, 32)) < 0.5, rng.random((1, 50)) < 0.5)
    assert c.details["tile_shape"] == [1, 16]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_packed_kernels_match_bool_definitions(k, n, density, seed):
    # The bit-packed helpers of pair_steps against their definitions on bool arrays.
    from sod.models.fibers import _packed_columns
    from sod.models.index_match import _fiber_stats, _running_at

    rng = np.random.default_rng(seed)
    w = rng.random((k, n)) < density
    fibers = np.ascontiguousarray(w.T)
    assert np.array_equal(_packed_columns(w), np.packbits(fibers, axis=1))
    assert np.array_equal(_packed_columns(w, block_bytes=1), np.packbits(fibers, axis=1))
    for p, native in ((1, True), (3, False), (4, True), (4, False), (7, True), (64, False)):
        # Both the compiled kernel (when built) and its numpy twin.
        packed = np.packbits(fibers, axis=1)
        length, last, ends = _fiber_stats(packed, p, block_bytes=p, native=native)
        rank = np.cumsum(fibers, axis=1)
        want = fibers & (rank % p == 0)
        for f in range(n):
            nz = np.flatnonzero(fibers[f])
            assert length[f] == nz.size
            assert last[f] == (nz[-1] if nz.size else -1)
            if nz.size:
                want[f, nz[-1]] = True
        assert np.array_equal(np.unpackbits(ends, axis=1, count=k).view(bool), want)
        cols = rng.integers(0, k, size=int(rng.integers(1, 9)))
        assert np.array_equal(_running_at(ends, cols), np.cumsum(want, axis=1)[:, cols])


@pytest.mark.parametrize(("m", "n", "k"), [(1, 40, 700), (40, 3, 9), (30, 50, 130), (17, 17, 64)])
def test_block_end_products_both_paths(m, n, k):
    # Popcounts of packed words (few fibers on a side) and float32 BLAS agree with the
    # integer product of the bool masks.
    from sod.models.index_match import _block_end_products, _popcount_products

    rng = np.random.default_rng(m * n * k)
    a, w = rng.random((m, k)) < 0.3, rng.random((n, k)) < 0.4
    want = a.astype(np.int64) @ w.T.astype(np.int64)
    pa, pw = np.packbits(a, axis=1), np.packbits(w, axis=1)
    assert np.array_equal(_block_end_products(pa, pw, k, block_elems=256), want)
    assert np.array_equal(_popcount_products(pa, pw, 64), want)


@pytest.mark.parametrize("dense_k", [0, 10_000])
def test_tile_maxima_pruned_and_dense_equal_reference(dense_k, monkeypatch):
    # The tiles' slowest pairs from bounds (pruned) or from every pair (dense) both equal
    # the merge simulation, in the GEMM's orientation and its transpose.
    from sod.models import index_match
    from sod.models.accelerators import transposed

    monkeypatch.setattr(index_match, "DENSE_K", dense_k)
    rng = np.random.default_rng(dense_k + 7)
    for _ in range(6):
        m, n = (int(x) for x in rng.integers(1, 40, 2))
        k = int(rng.integers(1, 300))
        a = sparse_ints(rng, (m, k), float(rng.random()))
        w = sparse_ints(rng, (k, n), float(rng.random()))
        arch = IndexMatchArch(
            pe_rows=int(rng.integers(1, 6)),
            pe_cols=int(rng.integers(1, 6)),
            window=int(rng.integers(1, 6)),
            fifo_depth=int(rng.integers(1, 12)),
        )
        index_match.pair_steps.cache_clear()
        counts = evaluate_index_match(Gemm("t", m, k, n), arch, w != 0, a != 0)
        run = simulate_index_match(a[None], w[None], arch)
        assert counts.cycles == run.cycles
        assert counts.actions["index_compare"] == run.comparisons
        assert counts.actions["fifo_access"] == 2 * run.loaded
        flip = transposed(evaluate_index_match)(Gemm("t", m, k, n), arch, w != 0, a != 0)
        run_t = simulate_index_match(w.T[None], a.T[None], arch)
        assert flip.cycles == run_t.cycles
        assert flip.actions["fifo_access"] == 2 * run_t.loaded
