"""The GLB image: round trip, fast sizes == encoded sizes, manifest checks, corrupt images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sod.compiler as sc
from sod.formats import FORMATS, FormatError


def _weights(rng, k, n, density):
    vals = rng.integers(-128, 128, (k, n))
    vals[vals == 0] = 3
    return np.where(rng.random((k, n)) < density, vals, 0).astype(np.int8)


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    df=st.sampled_from(["ws", "os", "is"]),
    fmt=st.sampled_from(sorted(FORMATS)),
    density=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    fallback=st.booleans(),
    width=st.sampled_from([8, 32, 64, 256]),
    seed=st.integers(0, 2**31),
)
def test_roundtrip_and_fast_path(k, n, rows, cols, df, fmt, density, fallback, width, seed):
    w = _weights(np.random.default_rng(seed), k, n, density)
    opts = sc.make_options(format=fmt, dense_fallback=fallback, read_width_bits=width)
    img = sc.compile_layer(w, rows, cols, df, opts)
    assert np.array_equal(img.decode_weights(), w)
    fast = sc.fast_tiles(w != 0, img.grid, opts)
    tiles = img.manifest["tiles"]
    assert np.array_equal(fast.size_bits, tiles["size_bits"])
    assert np.array_equal(fast.format_index, tiles["format"])
    assert fast.image_bits(width) == 8 * len(img.data)
    if fallback:  # a tile is never bigger than dense
        dense = sc.make_options(format="dense", read_width_bits=width)
        assert (fast.size_bits <= sc.fast_tiles(w != 0, img.grid, dense).size_bits).all()


def test_tile_order_and_orientation():
    w = np.arange(1, 5 * 7 + 1, dtype=np.int8).reshape(5, 7)
    img = sc.compile_layer(w, 2, 3, "ws", sc.make_options(format="dense"))
    grid = img.grid
    assert grid.order.tolist()[:4] == [[0, 0], [1, 0], [2, 0], [0, 1]]  # nb outer, kb inner
    # WS: first vector of tile 0 is W row 1 (the last k row, shifted to the bottom).
    assert img.decode_tile(0)[:, 0].tolist() == w[1, 0:3].tolist()
    assert grid.pad_before(2, 0) == 1  # k edge: 5 = 2 + 2 + 1
    is_img = sc.compile_layer(w, 2, 3, "is", sc.make_options(format="dense"))
    assert is_img.grid.order.tolist()[:3] == [[0, 0], [0, 1], [0, 2]]  # kb outer
    assert is_img.decode_tile(0)[:, 0].tolist() == w[0:2, 0].tolist()  # a column of W


def test_sparse_image_is_smaller():
    rng = np.random.default_rng(0)
    w = _weights(rng, 64, 64, 0.1)
    img = sc.compile_layer(w, 16, 16, "ws")
    assert img.manifest["payload_bits"] < 0.5 * img.manifest["dense_bits"]
    dense_img = sc.compile_layer(_weights(rng, 64, 64, 1.0), 16, 16, "ws")
    assert set(dense_img.manifest["tiles"]["format"]) == {1}  # fallback everywhere


def test_write_and_read(tmp_path):
    rng = np.random.default_rng(1)
    w = _weights(rng, 20, 30, 0.3)
    img = sc.compile_layer(w, 8, 8, "os", sc.make_options(format="rle"), name="fc")
    bin_path, json_path = img.write(tmp_path / "fc")
    assert bin_path.name == "fc.bin" and json_path.name == "fc.json"
    back = sc.read_image(tmp_path / "fc")
    assert np.array_equal(back.decode_weights(), w)


def _image():
    w = _weights(np.random.default_rng(2), 24, 24, 0.3)
    return sc.compile_layer(w, 8, 8, "ws", sc.make_options(format="csc"))


def test_manifest_disagreements():
    img = _image()
    mf = json.loads(json.dumps(img.manifest))
    mf["tiles"]["offset_bytes"][3] += 8
    with pytest.raises(FormatError, match="disagrees with the image: tile 3 at byte"):
        sc.check_image(img.data, mf)
    with pytest.raises(FormatError, match=r"tiles need .* bytes"):
        sc.check_image(img.data[:-8], img.manifest)
    mf = json.loads(json.dumps(img.manifest))
    mf["k"] = 30
    with pytest.raises(FormatError, match=r"tiles\.format must list 12 integers"):
        sc.check_image(img.data, mf)
    mf = json.loads(json.dumps(img.manifest))
    del mf["widths"]
    with pytest.raises(FormatError, match="missing field 'widths'"):
        sc.check_image(img.data, mf)
    mf = json.loads(json.dumps(img.manifest))
    mf["tiles"]["formats"] = ["zip", "dense"]
    with pytest.raises(FormatError, match="unknown format 'zip'"):
        sc.check_image(img.data, mf)


def test_corrupt_image_is_caught():
    img = _image()
    data = bytearray(img.data)
    off = img.manifest["tiles"]["offset_bytes"][5]
    data[off] ^= 0x40
    with pytest.raises(FormatError, match=r"tile 5 \(csc\) fails its CRC-32"):
        sc.check_image(bytes(data), img.manifest)


def test_corrupt_tile_named_on_decode():
    """Bypassing the CRC (a manifest that was regenerated over bad data), decode still
    refuses a malformed tile and names it."""
    img = _image()
    data = bytearray(img.data)
    off = img.manifest["tiles"]["offset_bytes"][2]
    data[off] = 0xFF  # first pointer of tile 2 = 0b1111111 = 127 > 64
    bad = sc.GlbImage(bytes(data), img.manifest)
    with pytest.raises(FormatError, match=r"tile 2 \(csc\): pointer 127"):
        bad.decode_weights()


def test_bad_options_and_weights():
    with pytest.raises(FormatError, match="read_width_bits"):
        sc.make_options(read_width_bits=12)
    with pytest.raises(FormatError, match="unknown format"):
        sc.make_options(format="zip")
    with pytest.raises(FormatError, match="2-D integer"):
        sc.compile_layer(np.zeros((4, 4), float), 2, 2)
    with pytest.raises(FormatError, match=r"tile 0: .*do not fit 8-bit"):
        sc.compile_layer(np.full((4, 4), 300), 2, 2)
    with pytest.raises(FormatError, match="unknown dataflow"):
        sc.compile_layer(np.zeros((4, 4), np.int8), 2, 2, "rs")


@settings(max_examples=25, deadline=None)
@given(
    df=st.sampled_from(["ws", "os", "is"]),
    fmt=st.sampled_from(sorted(FORMATS)),
    fallback=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_fast_tiles_in_chunks_equal_one_pass(df, fmt, fallback, seed):
    # fast_tiles measures tiles a chunk at a time (bounded scratch): any chunk size gives
    # the same formats, sizes and need bits as all tiles at once.
    import sod.compiler.image as image

    rng = np.random.default_rng(seed)
    w = _weights(rng, 37, 29, 0.3) != 0
    opts = sc.make_options(format=fmt, dense_fallback=fallback, read_width_bits=32)
    grid = sc.compile_layer(w.astype(np.int8), 4, 5, df, opts).grid
    whole = sc.fast_tiles(w, grid, opts)
    saved = image._CHUNK_ELEMENTS
    try:
        image._CHUNK_ELEMENTS = 1 + int(rng.integers(0, 60))  # 1 to 3 tiles per chunk
        part = sc.fast_tiles(w, grid, opts)
    finally:
        image._CHUNK_ELEMENTS = saved
    for field in ("format_index", "size_bits", "need_bits", "vectors", "pad_before"):
        assert np.array_equal(getattr(part, field), getattr(whole, field)), field
