"""Every format: decode(encode(x)) == x, fast size == encoded size, need bits consistent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.formats import (
    FORMATS,
    FormatError,
    FormatSpec,
    decode,
    encode,
    need_bits,
    resolve_widths,
    size_bits,
)
from sod.formats.base import Encoded

FORMAT_NAMES = sorted(FORMATS)


@st.composite
def tiles(draw):
    lanes = draw(st.integers(1, 12))
    vectors = draw(st.integers(1, 12))
    value_bits = draw(st.integers(2, 12))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (value_bits - 1)), (1 << (value_bits - 1))
    vals = rng.integers(lo, hi, size=(lanes, vectors))
    vals[vals == 0] = 1
    tile = np.where(rng.random((lanes, vectors)) < density, vals, 0)
    spec = FormatSpec(
        value_bits=value_bits,
        run_bits=draw(st.integers(1, 5)),
        index_bits=draw(st.sampled_from([None, 4, 6])),
        pointer_bits=draw(st.sampled_from([None, 9])),
    )
    return tile, spec


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@settings(max_examples=60, deadline=None)
@given(case=tiles())
def test_roundtrip_and_fast_size(fmt, case):
    tile, spec = case
    try:
        widths = resolve_widths(spec, *tile.shape)
    except FormatError:
        # Only legitimate when a fixed width is too small for this tile.
        assert spec.index_bits is not None or spec.pointer_bits is not None
        return
    enc = encode(tile, fmt, widths)
    assert np.array_equal(decode(enc), tile)
    mask = tile != 0
    assert size_bits(mask, fmt, widths)[0] == enc.size_bits
    need = need_bits(mask, fmt, widths)[0]
    assert need.shape == (tile.shape[1],)
    assert (np.diff(need) >= 0).all() and 0 < need[-1] <= enc.size_bits


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("fill", [0, 1])
def test_empty_and_full_tiles(fmt, fill):
    widths = resolve_widths(FormatSpec(), 16, 16)
    tile = np.full((16, 16), fill, dtype=np.int8)
    enc = encode(tile, fmt, widths)
    assert np.array_equal(decode(enc), tile)
    assert size_bits(tile != 0, fmt, widths)[0] == enc.size_bits


def test_known_sizes():
    """Sizes of a hand-worked 4x2 tile (lanes x vectors), 8-bit values."""
    tile = np.array([[0, 5], [3, 0], [0, 0], [0, 0]])
    w = resolve_widths(FormatSpec(run_bits=2), 4, 2)
    assert (w.lane_index, w.vector_index, w.pointer) == (2, 1, 4)
    expect = {
        "dense": 8 * 8,
        "csc": 2 * 4 + 2 * (2 + 8),
        "csr": 4 * 4 + 2 * (1 + 8),
        "coo": 4 + 2 * (2 + 1 + 8),
        "bitmap": 2 * 4 + 2 * 8,
        # positions (vector-major): 3 at 1, 5 at 4; runs 1 and 2 fit in 2 bits
        "rle": 4 + 2 * (2 + 8),
    }
    for fmt, bits in expect.items():
        assert encode(tile, fmt, w).size_bits == bits, fmt


def test_rle_overflow_inserts_explicit_zero():
    # A run of 9 zeros with 2-bit runs (max 3): (3,0) covers 4, (3,0) 4 more, then (1, 7).
    tile = np.zeros((10, 1), dtype=np.int64)
    tile[9, 0] = 7
    w = resolve_widths(FormatSpec(run_bits=2), 10, 1)
    enc = encode(tile, "rle", w)
    assert enc.size_bits == w.pointer + 3 * (2 + 8)
    assert np.array_equal(decode(enc), tile)


def test_batch_fast_sizes_match_per_tile():
    rng = np.random.default_rng(3)
    masks = rng.random((20, 8, 6)) < rng.random((20, 1, 1))
    w = resolve_widths(FormatSpec(run_bits=2), 8, 6)
    for fmt in FORMAT_NAMES:
        batch = size_bits(masks, fmt, w)
        single = [size_bits(m, fmt, w)[0] for m in masks]
        assert np.array_equal(batch, single), fmt
        need = need_bits(masks, fmt, w)
        assert np.array_equal(need, np.stack([need_bits(m, fmt, w)[0] for m in masks])), fmt


def test_width_errors():
    with pytest.raises(FormatError, match="index width"):
        resolve_widths(FormatSpec(index_bits=3), 16, 4)
    with pytest.raises(FormatError, match="pointer width"):
        resolve_widths(FormatSpec(pointer_bits=4), 16, 16)
    w = resolve_widths(FormatSpec(value_bits=4), 2, 2)
    with pytest.raises(FormatError, match="do not fit 4-bit"):
        encode(np.array([[8, 0], [0, 0]]), "csc", w)
    with pytest.raises(FormatError, match="unknown format"):
        encode(np.zeros((2, 2), int), "zip", w)


# --- corrupt data -------------------------------------------------------------------------


def _csc_tile():
    tile = np.zeros((8, 4), dtype=np.int64)
    tile[1, 0], tile[5, 0], tile[2, 2], tile[7, 3] = 3, -4, 9, 1
    w = resolve_widths(FormatSpec(), 8, 4)
    return tile, w, encode(tile, "csc", w)


def _with_field(enc: Encoded, pos: int, width: int, value: int) -> Encoded:
    bits = enc.bits.copy()
    bits[pos : pos + width] = [(value >> (width - 1 - i)) & 1 for i in range(width)]
    return Encoded(enc.format, enc.shape, enc.widths, bits)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_truncated_stream(fmt):
    tile, w, _ = _csc_tile()
    enc = encode(tile, fmt, w)
    cut = Encoded(fmt, enc.shape, w, enc.bits[:-3])
    with pytest.raises(FormatError, match=r"truncated|ends at bit|past the end"):
        decode(cut, label="tile 7")


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_trailing_garbage(fmt):
    tile, w, _ = _csc_tile()
    enc = encode(tile, fmt, w)
    longer = Encoded(fmt, enc.shape, w, np.concatenate([enc.bits, np.zeros(40, np.uint8)]))
    with pytest.raises(FormatError, match="tile 2"):
        decode(longer, label="tile 2")


def test_csc_pointer_past_end():
    _, w, enc = _csc_tile()
    bad = _with_field(enc, 0, w.pointer, 33)  # 8x4 tile holds at most 32
    with pytest.raises(FormatError, match=r"tile 5 \(csc\): pointer 33 of fiber 0 is past"):
        decode(bad, label="tile 5")


def test_csc_pointer_beyond_stream():
    _, w, enc = _csc_tile()
    bad = _with_field(enc, 0, w.pointer, 7)  # plausible count, but the data is not there
    with pytest.raises(FormatError, match="truncated stream: records of fiber 0"):
        decode(bad)


def test_csc_non_monotonic_pointers():
    _, w, enc = _csc_tile()
    # Fiber 0 holds 2 records; set fiber 1's end pointer (right after them) to 1 < 2.
    pos = w.pointer + 2 * (w.lane_index + w.value)
    bad = _with_field(enc, pos, w.pointer, 1)
    with pytest.raises(FormatError, match="non-monotonic pointers: fiber 1"):
        decode(bad)


def test_csc_index_outside_tile():
    tile = np.zeros((6, 2), dtype=np.int64)
    tile[0, 0] = 5
    w = resolve_widths(FormatSpec(), 6, 2)  # 3-bit lane index can say 6 or 7
    enc = encode(tile, "csc", w)
    bad = _with_field(enc, w.pointer, w.lane_index, 7)
    with pytest.raises(FormatError, match="row index 7 in fiber 0 is outside the tile"):
        decode(bad)


def test_coo_and_rle_faults():
    tile = np.zeros((6, 3), dtype=np.int64)
    tile[1, 0], tile[4, 2] = 2, 3
    w = resolve_widths(FormatSpec(run_bits=3), 6, 3)
    coo = encode(tile, "coo", w)
    bad = _with_field(coo, w.pointer, w.lane_index, 6)
    with pytest.raises(FormatError, match="outside the 6x3 tile"):
        decode(bad)
    rec = w.lane_index + w.vector_index + w.value
    swap = _with_field(coo, w.pointer + rec, w.lane_index + w.vector_index, 0)  # -> (0, 0)
    with pytest.raises(FormatError, match="out of vector-major order"):
        decode(swap)
    rle = encode(tile, "rle", w)
    bad_count = _with_field(rle, 0, w.pointer, 19)
    with pytest.raises(FormatError, match="count 19 is past the end"):
        decode(bad_count)
    long_run = _with_field(rle, w.pointer + (w.run + w.value), w.run, 7)
    long_run = _with_field(long_run, w.pointer, w.run, 7)
    with pytest.raises(FormatError, match="past the end of the tile"):
        decode(long_run)


def test_bitmap_mask_claims_missing_values():
    tile = np.zeros((4, 2), dtype=np.int64)
    tile[0, 1] = 1
    w = resolve_widths(FormatSpec(), 4, 2)
    enc = encode(tile, "bitmap", w)
    bad = _with_field(enc, 4, 4, 0b1111)  # vector 1 mask claims 4 values, 1 stored
    with pytest.raises(FormatError, match="truncated stream: values of vector 1"):
        decode(bad)
