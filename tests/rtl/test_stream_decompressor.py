"""The bit-serial bitmap decompressor RTL against the datapath room's cycle-level reference
(sod.reference.decompressor): same vectors on the same cycles, stalls included."""

import numpy as np
import pytest

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")

from sod.formats import bitmap
from sod.formats.base import FormatSpec, resolve_widths
from sod.reference.decompressor import Decompressor, TileDesc, words_from_bits
from sod.rtl import RtlError
from sod.rtl.stream_decompressor import StreamBitmapDecompressor


def _stream(rng, lanes, word_bits, val_bits, n_tiles):
    chunks, descs, counts = [], [], []
    for _ in range(n_tiles):
        vectors = int(rng.integers(1, 8))
        dens = rng.uniform(0, 1)
        tile = rng.integers(-(1 << (val_bits - 1)), 1 << (val_bits - 1), (lanes, vectors))
        tile = tile * (rng.random((lanes, vectors)) < dens)
        widths = resolve_widths(FormatSpec(value_bits=val_bits), lanes, vectors)
        enc = bitmap.encode(tile, widths)
        chunks.append(np.concatenate([enc.bits, np.zeros(-enc.bits.size % word_bits, np.uint8)]))
        descs.append(TileDesc("bitmap", widths, int(enc.bits.size)))
        counts.append(vectors)
    return words_from_bits(np.concatenate(chunks), word_bits), descs, counts


def simulate(dut, words, counts, n_cycles):
    from amaranth.sim import Simulator

    outs, state = [], {"w": 0, "t": 0}

    async def bench(ctx):
        for _ in range(n_cycles):
            w, t = state["w"], state["t"]
            ctx.set(dut.in_valid, int(w < len(words)))
            ctx.set(dut.in_word, words[w] if w < len(words) else 0)
            ctx.set(dut.tile_valid, int(t < len(counts)))
            ctx.set(dut.tile_vectors, counts[t] if t < len(counts) else 0)
            valid = ctx.get(dut.out_valid)
            outs.append([ctx.get(dut.out_data[i]) for i in range(dut.lanes)] if valid else None)
            state["w"] += int(w < len(words) and ctx.get(dut.in_ready))
            state["t"] += int(t < len(counts) and ctx.get(dut.tile_ready))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return outs


@pytest.mark.parametrize(
    ("lanes", "word_bits", "val_bits", "seed"),
    [(4, 16, 4, 0), (8, 8, 8, 1), (8, 32, 4, 2), (3, 64, 8, 3)],
)
def test_matches_reference_cycle_by_cycle(lanes, word_bits, val_bits, seed):
    rng = np.random.default_rng(seed)
    words, descs, counts = _stream(rng, lanes, word_bits, val_bits, n_tiles=4)
    ref = Decompressor(lanes, word_bits).run(words, descs)
    dut = StreamBitmapDecompressor(lanes, word_bits, val_bits)
    got = simulate(dut, words, counts, len(ref.outputs))
    want = [None if o is None else [int(x) for x in o] for o in ref.outputs]
    assert got == want


def test_minimum_buffer_throttles_input_but_keeps_emission_cycles():
    """word_bits + one full vector of buffer: the word waits, the vectors do not."""
    rng = np.random.default_rng(7)
    lanes, word_bits, val_bits = 4, 32, 4
    words, descs, counts = _stream(rng, lanes, word_bits, val_bits, n_tiles=5)
    ref = Decompressor(lanes, word_bits).run(words, descs)
    assert ref.peak_buffered_bits > word_bits + lanes * (1 + val_bits)  # it does throttle
    dut = StreamBitmapDecompressor(
        lanes, word_bits, val_bits, buffer_bits=word_bits + lanes * (1 + val_bits)
    )
    got = simulate(dut, words, counts, len(ref.outputs))
    assert got == [None if o is None else [int(x) for x in o] for o in ref.outputs]


def test_bad_parameters():
    with pytest.raises(RtlError, match="word_bits"):
        StreamBitmapDecompressor(4, 24, 4)
    with pytest.raises(RtlError, match="buffer_bits"):
        StreamBitmapDecompressor(4, 16, 4, buffer_bits=20)
