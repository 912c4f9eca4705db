"""Cycle-level decompressor == analytic throughput model, and it emits the right vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.formats import FORMATS, FormatError, FormatSpec, encode, need_bits, resolve_widths
from sod.models.decompressor import emit_cycles, stream_need_bits, tile_timing
from sod.reference.decompressor import Decompressor, TileDesc, bits_from_words, words_from_bits


def _stream(encs, width):
    parts = []
    for e in encs:
        b = np.zeros(-(-e.size_bits // width) * width, np.uint8)
        b[: e.size_bits] = e.bits
        parts.append(b)
    return words_from_bits(np.concatenate(parts), width)


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    lanes=st.integers(1, 16),
    vectors=st.integers(1, 16),
    width=st.sampled_from([8, 24, 64, 128, 256]),
    n_tiles=st.integers(1, 3),
    run_bits=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_reference_equals_analytic(fmt, lanes, vectors, width, n_tiles, run_bits, seed):
    rng = np.random.default_rng(seed)
    w = resolve_widths(FormatSpec(run_bits=run_bits), lanes, vectors)
    tiles, encs, pads = [], [], []
    for _ in range(n_tiles):
        density = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0])
        tiles.append(
            np.where(
                rng.random((lanes, vectors)) < density, rng.integers(-128, 128, (lanes, vectors)), 0
            )
        )
        encs.append(encode(tiles[-1], fmt, w))
        pads.append(int(rng.integers(0, 3)))
    descs = [
        TileDesc(fmt, w, e.size_bits, p, f"tile {i}")
        for i, (e, p) in enumerate(zip(encs, pads, strict=True))
    ]
    trace = Decompressor(lanes + 2, width).run(_stream(encs, width), descs)
    needs = [need_bits(t != 0, fmt, w)[0] for t in tiles]
    model = emit_cycles(stream_need_bits(needs, [e.size_bits for e in encs], width, pads), width)
    assert np.array_equal(trace.emit_cycles, model.emit_cycles)
    assert trace.cycles == model.cycles and trace.stall_cycles == model.stall_cycles
    expect = np.concatenate(
        [np.concatenate([np.zeros((p, lanes), int), t.T]) for t, p in zip(tiles, pads, strict=True)]
    )
    assert np.array_equal(trace.vectors[:, :lanes], expect)
    assert not trace.vectors[:, lanes:].any()
    assert sum(o is None for o in trace.outputs) == trace.stall_cycles


def test_tile_timing_batch():
    rng = np.random.default_rng(0)
    masks = rng.random((30, 16, 16)) < 0.4
    w = resolve_widths(FormatSpec(), 16, 16)
    timing = tile_timing(masks, "csc", w, 64)
    for i in range(0, 30, 7):
        alone = emit_cycles(need_bits(masks[i], "csc", w), 64)
        assert timing.cycles[i] == alone.cycles[0]
    # 16 lanes of 8-bit values need 128 bits per vector: a 64-bit port halves throughput.
    dense = tile_timing(masks, "dense", w, 64)
    assert (dense.cycles == 32).all() and (dense.stall_cycles == 16).all()


def test_csr_waits_for_whole_tile():
    tile = np.eye(8, dtype=int)
    w = resolve_widths(FormatSpec(), 8, 8)
    enc = encode(tile, "csr", w)
    trace = Decompressor(8, 16).run(_stream([enc], 16), [TileDesc("csr", w, enc.size_bits)])
    first = -(-enc.size_bits // 16) - 1
    assert trace.emit_cycles[0] == first
    assert np.array_equal(trace.emit_cycles, first + np.arange(8))


def test_words_roundtrip_wide():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, 1000).astype(np.uint8)
    for width in (7, 32, 100, 256):
        words = words_from_bits(bits, width)
        assert np.array_equal(bits_from_words(words, width)[:1000], bits)


def test_corrupt_stream_names_tile():
    tile = np.zeros((8, 8), int)
    tile[3, 2] = 4
    w = resolve_widths(FormatSpec(), 8, 8)
    good = encode(tile, "csc", w)
    bits = good.bits.copy()
    bits[: w.pointer] = 1  # first pointer = 127 > 64
    bad = type(good)("csc", good.shape, w, bits)
    descs = [
        TileDesc("csc", w, good.size_bits, 0, "tile 0"),
        TileDesc("csc", w, bad.size_bits, 0, "tile 1"),
    ]
    with pytest.raises(FormatError, match=r"tile 1 \(csc\): pointer 127"):
        Decompressor(8, 32).run(_stream([good, bad], 32), descs)
    with pytest.raises(FormatError, match=r"need .* GLB words but the stream has"):
        Decompressor(8, 32).run(_stream([good], 32), descs)
