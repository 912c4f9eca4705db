"""Bit-packed fibers and the orientation-symmetric pair memos (issue 13 item 6): packing
from any layout equals ``np.packbits``; the transposed GEMM's pair kernels equal this one's
transposed, computed or served by the memo; chunked kernels equal one-block ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.models import index_match, scnn, sparten
from sod.models.fibers import col_fibers, packed_chunk_products, row_fibers
from sod.models.memo import memo_by_content
from sod.models.sparse_masks import iter_chunk_products


def _layouts(x: np.ndarray) -> list[np.ndarray]:
    """The same bool matrix as C-contiguous, transposed view, and strided view."""
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), bool)
    wide[:, ::2] = x
    return [x, np.ascontiguousarray(x.T).T, wide[:, ::2]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 90), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_fibers_from_any_layout(m, k, density, seed):
    x = np.random.default_rng(seed).random((m, k)) < density
    want_rows, want_cols = np.packbits(x, axis=1), np.packbits(x.T, axis=1)
    for view in _layouts(x):
        assert np.array_equal(view, x)
        assert np.array_equal(row_fibers(view), want_rows)
        assert np.array_equal(col_fibers(view), want_cols)


@pytest.mark.parametrize(
    ("m", "k", "n", "chunk"), [(5, 70, 9, 8), (3, 61, 4, 13), (20, 300, 7, 32)]
)
def test_packed_chunk_products_equal_bool_ones(m, k, n, chunk):
    rng = np.random.default_rng(m * k * n)
    a, w = rng.random((m, k)) < 0.4, rng.random((k, n)) < 0.5
    fa, fw = row_fibers(a), col_fibers(w)
    # A tiny budget forces one chunk per block (the block loop runs, offsets inside bytes).
    for budget in (1, 1 << 24):
        got = np.concatenate(list(packed_chunk_products(fa, fw, k, chunk, budget)))
        want = np.concatenate(list(iter_chunk_products(a, w, chunk, budget)))
        assert np.array_equal(got, want)


def test_memo_serves_swapped_arguments():
    calls = []

    @memo_by_content(max_bytes=1 << 20, swapped=lambda r: -r)
    def diff(x, y):
        calls.append(1)
        return x.sum() - y.sum()

    x, y = np.ones(3), np.zeros(2)
    assert diff(x, y) == 3
    assert diff(y, x) == -3  # served from the cache through ``swapped``
    assert len(calls) == 1
    assert diff(x, x) == 0 and len(calls) == 2


@pytest.mark.parametrize("seed", range(4))
def test_pair_kernels_of_the_transpose_are_transposed(seed):
    rng = np.random.default_rng(seed)
    m, k, n = (int(v) for v in rng.integers(1, 40, 3))
    a, w = rng.random((m, k)) < 0.3, rng.random((k, n)) < 0.6
    # Computed afresh in both orientations (memos cleared), then the swapped hit.
    for clear in (True, False):
        sparten.pair_cycles.cache_clear()
        index_match.pair_steps.cache_clear()
        cyc = sparten.pair_cycles(a, w, 16)
        steps, load_a, load_w = index_match.pair_steps(a, w, 3)
        if clear:
            sparten.pair_cycles.cache_clear()
            index_match.pair_steps.cache_clear()
        cyc_t = sparten.pair_cycles(w.T, a.T, 16)  # transposed views, as the search passes
        steps_t, load_a_t, load_w_t = index_match.pair_steps(w.T, a.T, 3)
        assert np.array_equal(cyc_t, cyc.T)
        assert np.array_equal(steps_t, steps.T)
        assert (load_a_t, load_w_t) == (load_w, load_a)


def test_scnn_ideal_cycles_in_group_blocks(monkeypatch):
    # The ideal-cycle product taken a few groups at a time equals one product.
    from sod.arch.sparse import SCNNArch
    from sod.workload.gemm import Gemm

    rng = np.random.default_rng(3)
    gemm = Gemm("fc", 2, 300, 96)
    w, a = rng.random((300, 96)) < 0.3, rng.random((2, 300)) < 0.6
    arch = SCNNArch(pe_rows=2, pe_cols=2, out_channel_group=8)
    whole = scnn.evaluate_scnn(gemm, arch, w, a)
    monkeypatch.setattr(scnn, "_IDEAL_BLOCK_ELEMENTS", 900)  # 3 groups of 12 per block
    assert scnn.evaluate_scnn(gemm, arch, w, a) == whole


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_row_and_column_counts_of_any_layout(g, r, c, seed):
    from sod.models.sparse_masks import col_counts, row_counts

    x = np.random.default_rng(seed).random((g, r, c)) < 0.4
    views = [x, np.swapaxes(np.ascontiguousarray(np.swapaxes(x, -1, -2)), -1, -2)]
    for view in views:
        assert np.array_equal(row_counts(view), x.sum(axis=-1))
        assert np.array_equal(col_counts(view), x.sum(axis=-2))
        assert np.array_equal(row_counts(view[0]), x[0].sum(axis=-1))
        assert np.array_equal(col_counts(view[0]), x[0].sum(axis=-2))
