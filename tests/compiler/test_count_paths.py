"""The count- and packed-bit paths of the compiler (issue 13 item 6) against the direct
ones: block line counts, CSC/dense tiles from counts, stream cycles from per-tile lags, and
the layout search on packed masks — all equal to measuring (or sorting) the bools."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sod.compiler as sc
from sod.compiler import reorder
from sod.compiler.plan import block_counts, fiber_counts
from sod.formats import need_bits, size_bits, widths_for_shape
from sod.models.decompressor import stream_cycles, stream_needs, tile_stream_cycles

SETTINGS = settings(max_examples=40, deadline=None)
SHAPES = {
    "k": st.integers(1, 70),
    "n": st.integers(1, 70),
    "rows": st.sampled_from([1, 3, 4, 7, 8, 16]),
    "cols": st.sampled_from([1, 5, 8, 9, 16, 24, 32]),
    "df": st.sampled_from(["ws", "os", "is"]),
    "density": st.sampled_from([0.0, 0.05, 0.3, 1.0]),
    "seed": st.integers(0, 2**31),
}


def _mask(k: int, n: int, density: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((k, n)) < density


@SETTINGS
@given(**SHAPES)
def test_block_counts_and_fiber_counts(k, n, rows, cols, df, density, seed):
    w = _mask(k, n, density, seed)
    counts = block_counts(w, rows, cols)
    grid = sc.TileGrid(k, n, rows, cols, df)
    padded = grid.blocked(w)  # (kb, nb, R, C)
    per_row = padded.sum(axis=3).transpose(0, 2, 1).reshape(-1, grid.n_blocks)  # (kb·R, nb)
    assert np.array_equal(counts.row_counts, per_row[:k])
    assert np.array_equal(counts.col_counts, padded.sum(axis=2).reshape(grid.k_blocks, -1)[:, :n])
    nnz, live_rows, live_cols = counts.block_stats()
    assert np.array_equal(nnz, padded.sum(axis=(2, 3)))
    assert np.array_equal(live_rows, padded.any(axis=3).sum(axis=2))
    assert np.array_equal(live_cols, padded.any(axis=2).sum(axis=2))
    fibers = fiber_counts(grid, counts)
    for t, (kb, nb) in enumerate(grid.order):
        kr, nc = grid.block_extent(kb, nb)
        tile = grid.orient(padded[kb, nb, :kr, :nc])  # lanes × vectors
        v = tile.shape[1]
        assert np.array_equal(fibers[t, :v], tile.sum(axis=0)) and not fibers[t, v:].any()


@SETTINGS
@given(
    **SHAPES,
    fmt=st.sampled_from(["csc", "dense"]),
    fallback=st.booleans(),
    width=st.sampled_from([8, 24, 64, 256]),
)
def test_fiber_tiles_equal_tile_by_tile(k, n, rows, cols, df, density, seed, fmt, fallback, width):
    w = _mask(k, n, density, seed)
    grid = sc.TileGrid(k, n, rows, cols, df)
    opts = sc.make_options(format=fmt, dense_fallback=fallback, read_width_bits=width)
    fast = sc.fast_tiles(w, grid, opts)
    widths = sc.image.layer_widths(grid, opts)
    padded = grid.blocked(w)
    for t, (kb, nb) in enumerate(grid.order):
        kr, nc = grid.block_extent(kb, nb)
        tile = grid.orient(padded[kb, nb, :kr, :nc])
        tw = widths_for_shape(widths, *tile.shape)
        size, need = size_bits(tile, fmt, tw)[0], need_bits(tile, fmt, tw)[0]
        dense = fallback and fmt != "dense" and size_bits(tile, "dense", tw)[0] <= size
        if dense:
            size, need = size_bits(tile, "dense", tw)[0], need_bits(tile, "dense", tw)[0]
        v = tile.shape[1]
        assert fast.format_index[t] == dense and fast.size_bits[t] == size
        assert np.array_equal(fast.need_bits[t, :v], need) and not fast.need_bits[t, v:].any()
        assert fast.vectors[t] == v
    # The stream cycles from per-tile lags are the emission model's on whole streams,
    # also with the lags taken while measuring (need bits then left out).
    want = stream_cycles(stream_needs(fast, grid, width), width)
    lagged = sc.fast_tiles(w, grid, opts, with_need="lag")
    assert lagged.lag_read_bits == width and not lagged.need_bits.any()
    for tiles in (fast, lagged):
        got = tile_stream_cycles(tiles, grid, width)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(tiles.size_bits, fast.size_bits)


@pytest.mark.parametrize("fmt", ["rle", "bitmap", "coo", "csr"])
def test_stream_cycles_from_lags_for_every_format(fmt):
    rng = np.random.default_rng(7)
    w = rng.random((45, 38)) < 0.2
    for df in ("ws", "os", "is"):
        grid = sc.TileGrid(45, 38, 8, 6, df)
        for width in (8, 40, 64):
            opts = sc.make_options(format=fmt, read_width_bits=width)
            tiles = sc.fast_tiles(w, grid, opts)
            want = stream_cycles(stream_needs(tiles, grid, width), width)
            for t in (tiles, sc.fast_tiles(w, grid, opts, with_need="lag")):
                got = tile_stream_cycles(t, grid, width)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def _reference_signature(pattern: np.ndarray, counts: np.ndarray, fewest: bool) -> np.ndarray:
    """The order the search defines, by np.unique on the packed inverted patterns."""
    packed = np.ascontiguousarray(np.packbits(~pattern, axis=1))
    as_bytes = packed.view(np.dtype((np.void, max(packed.shape[1], 1)))).ravel()
    rank = np.unique(as_bytes, return_inverse=True)[1].ravel()
    keys: tuple[np.ndarray, ...] = (np.arange(pattern.shape[0]), -counts, rank)
    if fewest:
        keys += (pattern.sum(axis=1),)
    return np.lexsort(keys)


@SETTINGS
@given(
    items=st.integers(1, 300),
    blocks=st.integers(1, 150),
    density=st.sampled_from([0.05, 0.5, 0.95]),
    fewest=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_signature_order_equals_unique_and_lexsort(items, blocks, density, fewest, seed):
    rng = np.random.default_rng(seed)
    pattern = rng.random((items, blocks)) < density
    pattern[rng.random(items) < 0.3] = pattern[0]  # repeated patterns: ties on every word
    counts = rng.integers(0, 4, items)
    got = reorder._signature_order(np.packbits(pattern, axis=1).T, counts, fewest)
    assert np.array_equal(got, _reference_signature(pattern, counts, fewest))


@SETTINGS
@given(
    k=st.integers(1, 90),
    n=st.sampled_from([1, 7, 8, 16, 40, 64, 100]),
    density=st.sampled_from([0.1, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_packed_helpers(k, n, density, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((k, n)) < density
    assert np.array_equal(reorder._pack_axis0(x), np.packbits(x, axis=0))
    p = reorder.Reorder(rng.permutation(k), rng.permutation(n))
    assert np.array_equal(p.apply_in_place(x.copy()), x[p.rows][:, p.cols])
    assert np.array_equal(reorder.take_columns(x, p.cols), x[:, p.cols])
    r, c = rng.permutation(k), rng.permutation(n)
    packed = reorder._Packed(x, 4, 8)
    cb = np.unpackbits(packed.col_blocks(r), axis=0, count=-(-k // 4)).astype(bool)
    assert np.array_equal(cb, reorder._block_any(x[r], 4, 0))
    rb = np.unpackbits(packed.row_blocks(c), axis=0, count=-(-n // 8)).astype(bool)
    assert np.array_equal(rb.T, reorder._block_any(x[:, c], 8, 1))
