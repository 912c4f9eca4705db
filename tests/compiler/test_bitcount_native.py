"""The compiled kernels of the layout search and the tile measurement (sod._native:
bitcount's block counts and ORs, the bit and byte transposes, the row spreading, the CSC
lag pass, the block stats) against their numpy twins, bit for bit; and the numpy paths
alone (the extension monkeypatched away) against the definitions."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.compiler import bitcount, image, plan, reorder
from sod.compiler.bitcount import (
    block_bit_counts,
    block_or,
    pack_axis0,
    spread_rows,
    transpose_bytes,
)
from sod.compiler.image import CompileOptions, _fiber_tiles
from sod.compiler.plan import TileGrid, block_counts, packed_block_counts
from sod.compiler.reorder import weight_reorder
from sod.formats import FormatSpec

native = pytest.mark.skipif(bitcount._NATIVE is None, reason="sod._native is not built")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

masks = st.tuples(
    st.integers(1, 90),  # k
    st.integers(1, 90),  # n
    st.floats(0.0, 1.0),  # density
    st.integers(1, 40),  # block
    st.integers(0, 2**31),  # seed
)


def _mask(k: int, n: int, d: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((k, n)) < d


def _counts_ref(m: np.ndarray, idx: np.ndarray, block: int) -> np.ndarray:
    """Definition: per block of items idx, how many have each bit (column) set."""
    n = m.shape[1]
    blocks = -(-idx.size // block)
    pad = np.zeros((blocks * block, n), np.int64)
    pad[: idx.size] = m[idx]
    return pad.reshape(blocks, block, n).sum(axis=1)


@SETTINGS
@given(masks, st.booleans())
def test_block_counts_and_ors(case, use_native):
    k, n, d, block, seed = case
    if use_native and bitcount._NATIVE is None:
        return
    m = _mask(k, n, d, seed)
    packed = np.packbits(m, axis=1)
    idx = np.random.default_rng(seed).permutation(k)
    want = _counts_ref(m, idx, block)
    got = block_bit_counts(packed, idx, block, native=use_native)
    assert got.dtype == np.uint8 and got.shape == (want.shape[0], packed.shape[1] * 8)
    assert np.array_equal(got[:, :n], want) and not got[:, n:].any()
    ors = block_or(packed, idx, block, native=use_native)
    assert np.array_equal(np.unpackbits(ors, axis=1, count=n).astype(bool), want > 0)


@SETTINGS
@given(masks, st.booleans())
def test_packing_and_transposes(case, use_native):
    k, n, d, _, seed = case
    if use_native and bitcount._NATIVE is None:
        return
    m = _mask(k, n, d, seed)
    by8 = pack_axis0(np.packbits(m, axis=1), k, native=use_native)
    assert by8.shape == (-(-k // 8), 8 * -(-n // 8))
    assert np.array_equal(by8[:, :n], np.packbits(m, axis=0)) and not by8[:, n:].any()
    stride = by8.shape[0] + seed % 5
    t = transpose_bytes(by8, stride, native=use_native)
    assert np.array_equal(t[:, : by8.shape[0]], by8.T) and not t[:, by8.shape[0] :].any()


@SETTINGS
@given(masks, st.booleans())
def test_spread_rows(case, use_native):
    k, n, d, _, seed = case
    if use_native and bitcount._NATIVE is None:
        return
    width = -(-n // 8)
    m = _mask(k, 8 * width, d, seed)
    by8 = np.packbits(m, axis=0)
    q = -(-by8.shape[0] // 8) * 8  # whole words of eight columns
    words = np.zeros((by8.shape[0], width), np.uint64)
    words.view(np.uint8)[:] = by8[:, : 8 * width]
    src = np.random.default_rng(seed).integers(0, k, size=q)
    out = np.empty((src.size, width), np.uint64)
    spread_rows(words, src, out, native=use_native)
    assert np.array_equal(out.view(np.uint8).view(bool), m[src])


@native
def test_kernels_check_their_buffers():
    n8 = bitcount._NATIVE
    p = np.zeros((4, 2), np.uint8)
    with pytest.raises(ValueError, match="out of range"):
        n8.bc_block_counts(p, 4, 2, np.array([0, 4]), 2, 2, np.zeros((1, 16), np.uint8))
    with pytest.raises(ValueError, match="sizes"):
        n8.bc_block_counts(p, 4, 2, np.array([0, 1]), 2, 2, np.zeros((2, 16), np.uint8))
    with pytest.raises(ValueError, match="sizes"):
        n8.bc_block_or(p, 4, 3, np.array([0]), 1, 1, np.zeros((1, 3), np.uint8))
    with pytest.raises(ValueError, match="sizes"):
        n8.bc_pack_axis0(p, 4, 2, np.zeros((2, 16), np.uint8))
    with pytest.raises(ValueError, match="sizes"):
        n8.bc_transpose_bytes(p, 4, 2, np.zeros((2, 3), np.uint8), 3)
    with pytest.raises(ValueError, match="out of range"):
        n8.bc_spread_rows(
            np.zeros((1, 1), np.uint64), 1, 1, np.array([8]), 1, np.zeros(1, np.uint64)
        )
    with pytest.raises(ValueError, match="sizes"):
        n8.bc_group_stats(p, 4, 2, 2, 2, np.zeros(4, np.int64), np.zeros(4, np.int64))


@native
@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_large_fc_mask(df):
    # A block-pruned FC-like mask: the search's permutations, the reordered block
    # counts and the CSC lags all equal the numpy twins'.
    rng = np.random.default_rng(7)
    k, n = 2304, 640
    m = (rng.random((k, n)) < 0.08) & (rng.random((k // 32, 1)) < 0.7).repeat(32, 0)
    m[:, rng.random(n) < 0.2] = False
    got = weight_reorder(m, 32, 32, df, "sort", np.packbits(m, axis=1))
    _check_against_numpy(m, got, df, 32, 32)


def _check_against_numpy(m, got, df, rows, cols):
    nat = reorder._NATIVE
    reorder._NATIVE = None
    try:
        want = weight_reorder(m, rows, cols, df, "sort")
    finally:
        reorder._NATIVE = nat
    assert np.array_equal(got.rows, want.rows) and np.array_equal(got.cols, want.cols)
    counts = got.block_counts(rows, cols)
    if counts is not None:
        ref = block_counts(got.apply(m), rows, cols)
        for a, b in ((counts.row_counts, ref.row_counts), (counts.col_counts, ref.col_counts)):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        grid = TileGrid(*m.shape, rows, cols, df)
        opts = CompileOptions(format="csc", read_width_bits=256)
        a, b = _fiber_tiles(ref, grid, opts, "lag"), _fiber_tiles(ref, grid, opts, "lag", False)
        for f in ("format_index", "size_bits", "lags", "vectors", "need_bits"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
        for x, y in zip(ref.block_stats(), ref.block_stats(native=False), strict=True):
            assert np.array_equal(x, y) and x.dtype == y.dtype


@SETTINGS
@given(masks, st.sampled_from(["ws", "os", "is"]), st.integers(1, 40))
def test_search_and_counts_equal_numpy(case, df, cols):
    k, n, d, rows, seed = case
    m = _mask(k, n, d * 0.4, seed)
    rng = np.random.default_rng(seed)
    m[rng.random(k) < 0.3] = False  # pruned channels: zero tiles to gather
    m[:, rng.random(n) < 0.3] = False
    got = weight_reorder(None, rows, cols, df, "sort", np.packbits(m, axis=1), n=n)
    _check_against_numpy(m, got, df, rows, cols)


@SETTINGS
@given(
    masks,
    st.sampled_from(["ws", "os", "is"]),
    st.booleans(),
    st.sampled_from([8, 24, 64, 256]),
    st.sampled_from([4, 8, 16]),
)
def test_csc_lags_and_block_stats_equal_numpy(case, df, fallback, read_bits, value_bits):
    k, n, d, rows, seed = case
    cols = 1 + seed % 37
    m = _mask(k, n, d, seed)
    grid = TileGrid(k, n, rows, cols, df)
    counts = block_counts(m, rows, cols)
    spec = FormatSpec(value_bits=value_bits)
    opts = CompileOptions(
        format="csc", dense_fallback=fallback, read_width_bits=read_bits, spec=spec
    )
    a = _fiber_tiles(counts, grid, opts, "lag")
    b = _fiber_tiles(counts, grid, opts, "lag", native=False)
    for f in ("format_index", "size_bits", "lags", "vectors", "need_bits", "pad_before"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    for x, y in zip(counts.block_stats(), counts.block_stats(native=False), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    packed = packed_block_counts(np.packbits(m, axis=1), n, rows, cols)
    assert np.array_equal(packed.row_counts, counts.row_counts)
    assert np.array_equal(packed.col_counts, counts.col_counts)


def test_numpy_paths_run_without_the_extension(monkeypatch):
    # Every caller falls back to the numpy twins when sod._native is missing.
    for module in (bitcount, reorder, plan, image):
        monkeypatch.setattr(module, "_NATIVE", None)
    rng = np.random.default_rng(3)
    m = (rng.random((300, 130)) < 0.1) & (rng.random((300, 1)) < 0.6)
    for df in ("ws", "os", "is"):
        p = weight_reorder(m, 32, 32, df, "sort", np.packbits(m, axis=1))
        q = weight_reorder(None, 32, 32, df, "sort", np.packbits(m, axis=1), n=130)
        assert np.array_equal(p.rows, q.rows) and np.array_equal(p.cols, q.cols)
        counts = p.block_counts(32, 32)
        assert counts is not None
        ref = block_counts(p.apply(m), 32, 32)
        assert np.array_equal(counts.row_counts, ref.row_counts)
        assert np.array_equal(counts.col_counts, ref.col_counts)
        stats = ref.block_stats()
        assert int(stats[0].sum()) == int(m.sum())


@SETTINGS
@given(
    st.integers(0, 20),  # pattern bytes
    st.integers(0, 200),  # items
    st.sampled_from([1, 3, 300, 70000, 2**40]),  # count range
    st.booleans(),
    st.integers(0, 2**31),
)
def test_signature_order_equals_numpy(nbytes, items, top, fewest_first, seed):
    # Few distinct patterns and counts: ties at every key, broken the same way.
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 3, (nbytes, items)).astype(np.uint8) * (seed % 2 * 80 + 1)
    counts = rng.integers(0, top, items)
    got = reorder._signature_order(blocks, counts, fewest_first)
    want = reorder._signature_order(blocks, counts, fewest_first, native=False)
    assert got.dtype == want.dtype == np.int64 and np.array_equal(got, want)
