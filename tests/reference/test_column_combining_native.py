"""The compiled first fit (sod._native, used by pack_columns when it is built) against
the numpy loops and the Python reference: the same group for every line, from bool masks
and from BitMasks, with the lines' non-zeros."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.mapping import column_combining as cc
from sod.mapping.column_combining import pack_columns
from sod.reference.column_combining import pack_reference
from sod.workload.mask import BitMask

native = pytest.mark.skipif(cc._NATIVE is None, reason="sod._native is not built")

cases = st.tuples(
    st.integers(1, 40),  # k
    st.integers(1, 150),  # n
    st.floats(0.0, 1.0),  # density
    st.integers(1, 140),  # cols (above 64: two or three words per line)
    st.integers(1, 9),  # max_combine
    st.integers(1, 6),  # window
    st.integers(0, 2**31),  # seed
)


def _mask(k, n, d, seed):
    return np.random.default_rng(seed).random((k, n)) < d


def _same(a: cc.Packing, b: cc.Packing) -> None:
    assert np.array_equal(a.group_of, b.group_of)
    assert np.array_equal(a.line_nnz, b.line_nnz)
    assert np.array_equal(a.groups, b.groups)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_numpy_loops_equal_reference(case):
    # The numpy twin stays checked on its own (it runs where the extension is not built).
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    got = pack_columns(w, cols, g, win, native=False).group_of
    assert np.array_equal(got, pack_reference(w, cols, g, win))


@native
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_native_equals_numpy_from_bool_and_bitmask(case):
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    want = pack_columns(w, cols, g, win, native=False)
    _same(pack_columns(w, cols, g, win), want)
    _same(pack_columns(BitMask.from_bool(w), cols, g, win), want)
    assert np.array_equal(want.group_of, pack_reference(w, cols, g, win))


@native
@pytest.mark.parametrize("density", [0.01, 0.05, 0.3, 0.9])
@pytest.mark.parametrize("cols,g,win", [(32, 8, 32), (64, 4, 3), (24, 2, 1), (72, 9, 6)])
def test_native_equals_numpy_on_large_masks(density, cols, g, win):
    # Many tiles (blocks of tiles in the compiled loop), full windows, lines empty in
    # some tiles and in all, and a last tile cut short.
    rng = np.random.default_rng(int(density * 100) + cols)
    w = rng.random((700, 20 * cols + 11)) < density
    w[rng.random(700) < 0.1] = False
    want = pack_columns(w, cols, g, win, native=False)
    _same(pack_columns(BitMask.from_bool(w), cols, g, win), want)


@native
def test_native_rejects_buffers_that_do_not_match_the_shape():
    rows = np.zeros((4, 2), np.uint8)
    out = np.full((1, 4), -1, np.int32)
    nnz = np.zeros((1, 4), np.int32)
    with pytest.raises(ValueError, match="buffer sizes"):
        cc._NATIVE.cc_first_fit(rows, 5, 2, 2, 1, 2, 4, out, nnz)  # k does not match
    with pytest.raises(ValueError, match="buffer sizes"):
        cc._NATIVE.cc_first_fit(rows, 4, 2, 1, 1, 2, 4, out, nnz)  # tiles miss a byte
    strided = np.full((1, 8), -1, np.int32)[:, ::2]
    with pytest.raises(TypeError, match="read-write"):  # outputs must be contiguous
        cc._NATIVE.cc_first_fit(rows, 4, 2, 2, 1, 2, 4, strided, nnz)


def test_without_the_extension_pack_columns_runs_the_numpy_loops(monkeypatch):
    # An install without a C compiler has no sod._native: the same packing, from numpy.
    rng = np.random.default_rng(3)
    w = rng.random((200, 100)) < 0.2
    want = pack_columns(w, 32, 8, 32)
    monkeypatch.setattr(cc, "_NATIVE", None)
    _same(pack_columns(BitMask.from_bool(w), 32, 8, 32), want)


@native
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases, st.integers(1, 40))
def test_native_fold_sums_equal_numpy(case, rows):
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    p = pack_columns(w, cols, g, win)
    want = cc.packed_tiles(w, p, rows, native=False)
    got = cc.packed_tiles(w, p, rows)
    for field in ("rows", "nnz", "members", "lines", "cols"):
        assert np.array_equal(getattr(got, field), getattr(want, field))


@native
def test_native_fold_sums_reject_a_group_past_the_folds():
    grp = np.array([[0, 5]], np.int32)
    nnz = np.ones((1, 2), np.int32)
    out = [np.zeros((1, 2), np.int64) for _ in range(2)]
    with pytest.raises(ValueError, match="past the last fold"):
        cc._NATIVE.cc_fold_sums(grp, nnz, 1, 2, 2, 2, *out)
    with pytest.raises(ValueError, match="buffer sizes"):
        cc._NATIVE.cc_fold_sums(grp, nnz, 1, 2, 2, 3, *out)
