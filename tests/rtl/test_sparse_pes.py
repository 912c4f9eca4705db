"""The windowed index-matching PE and the SCNN PE, simulated on random inputs and checked
against numpy (dot products; scattered accumulations)."""

import numpy as np
import pytest

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")

from amaranth.lib import data
from amaranth.sim import Simulator

from sod.reference.index_match import _merge
from sod.rtl import RtlError
from sod.rtl.index_match_pe import IndexMatchPE, fiber_windows, window_layout
from sod.rtl.scnn_pe import ScnnAccBank, ScnnCore, ScnnPE, core_layouts


def _run(dut, bench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


# ------------------------------------------------------------------ index-matching PE
def _fiber(vec: np.ndarray) -> list[tuple[int, int]]:
    return [(int(i), int(vec[i])) for i in np.flatnonzero(vec)]


def simulate_index_match(window, fifo_depth, idx_bits, pairs, rng, gap=0.3):
    """Stream the fibers of ``pairs`` (A, W vectors) window by window, with random input
    gaps; return the dot products the PE shows."""
    dut = IndexMatchPE(window, fifo_depth, idx_bits)
    lay = window_layout(window, idx_bits, 8)
    aw = [w for a, _ in pairs for w in fiber_windows(_fiber(a), window, idx_bits)]
    ww = [x for _, w in pairs for x in fiber_windows(_fiber(w), window, idx_bits)]
    got: list[int] = []
    compares = [0]
    gaps = rng.random((20 * (len(aw) + len(ww)) + 50, 2)) < gap

    async def bench(ctx):
        ia = iw = 0
        for g_a, g_w in gaps:
            av, wv = ia < len(aw) and not g_a, iw < len(ww) and not g_w
            ctx.set(dut.a_valid, int(av))
            ctx.set(dut.w_valid, int(wv))
            if av:
                ctx.set(dut.a_data, lay.const(aw[ia]))
            if wv:
                ctx.set(dut.w_data, lay.const(ww[iw]))
            if ctx.get(dut.out_valid):
                got.append(ctx.get(dut.out_acc))
            compares[0] += ctx.get(dut.compare)
            ready_a, ready_w = ctx.get(dut.a_ready), ctx.get(dut.w_ready)
            await ctx.tick()
            ia += int(av and ready_a)
            iw += int(wv and ready_w)
            if len(got) == len(pairs):
                return

    _run(dut, bench)
    return got, compares[0]


@pytest.mark.parametrize(
    ("window", "fifo_depth", "idx_bits", "k"),
    [(4, 8, 8, 200), (4, 8, 16, 1000), (2, 2, 8, 60), (3, 12, 8, 90)],
)
def test_index_match_pe_dot_products_equal_numpy(window, fifo_depth, idx_bits, k):
    rng = np.random.default_rng(window * 100 + idx_bits + k)
    pairs = []
    for da, dw in [(0.3, 0.5), (0.05, 0.9), (1.0, 1.0), (0.1, 0.1), (0.0, 0.5), (0.5, 0.0)]:
        a = rng.integers(-128, 128, k) * (rng.random(k) < da)
        w = rng.integers(-128, 128, k) * (rng.random(k) < dw)
        pairs.append((a, w))
    got, compares = simulate_index_match(window, fifo_depth, idx_bits, pairs, rng)
    assert got == [int(a @ w) for a, w in pairs]
    # The compare cycles are the reference merge's (sod.reference.index_match).
    want = sum(_merge(_fiber(a) or [(0, 0)], _fiber(w) or [(0, 0)], window)[0] for a, w in pairs)
    assert compares == want


def test_index_match_fiber_longer_than_the_index_width_is_refused():
    with pytest.raises(RtlError, match="index 256 does not fit 8-bit"):
        fiber_windows([(3, 1), (256, 2)], 4, 8)


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"window": 0}, "window"),
        ({"window": 4, "fifo_depth": 6}, "fifo_depth"),
        ({"window": 4, "fifo_depth": 12}, "power of two"),
        ({"idx_bits": 0}, "idx_bits"),
    ],
)
def test_index_match_bad_parameters(params, word):
    with pytest.raises(RtlError, match=word):
        IndexMatchPE(**params)


# ---------------------------------------------------------------------------- SCNN PE
def simulate_scnn(f, i, banks, entries, k_bits, acc_bits, groups, rng, gap=0.3):
    """Feed (weights, w_mask, activations, a_mask) groups with random gaps, wait until
    every product has retired, swap the buffers and read every accumulator."""
    dut = ScnnPE(f, i, 8, acc_bits, banks, entries, k_bits)
    wl, al = core_layouts(8, k_bits, dut.core.pos_bits)
    wlay, alay = data.ArrayLayout(wl, f), data.ArrayLayout(al, i)
    out = np.zeros(banks * entries, np.int64)
    cycles = [0]
    cleared = [True]

    async def bench(ctx):
        g = 0
        while g < len(groups):
            valid = bool(rng.random() > gap)
            ws, wm, acts, am = groups[g]
            ctx.set(dut.in_valid, int(valid))
            ctx.set(dut.w, wlay.const(ws))
            ctx.set(dut.w_mask, wm)
            ctx.set(dut.a, alay.const(acts))
            ctx.set(dut.a_mask, am)
            ready = ctx.get(dut.in_ready)
            await ctx.tick()
            cycles[0] += 1
            g += int(valid and ready)
        ctx.set(dut.in_valid, 0)
        while not ctx.get(dut.idle):
            await ctx.tick()
        ctx.set(dut.swap, 1)
        await ctx.tick()
        ctx.set(dut.swap, 0)
        for addr in range(banks * entries):
            ctx.set(dut.rd_addr, addr)
            ctx.set(dut.rd_clear, 1)
            out[addr] = ctx.get(dut.rd_data)
            await ctx.tick()
        ctx.set(dut.rd_clear, 0)
        for addr in range(banks * entries):  # the read cleared every drained entry
            ctx.set(dut.rd_addr, addr)
            await ctx.delay(1e-9)
            cleared[0] &= ctx.get(dut.rd_data) == 0

    _run(dut, bench)
    assert cleared[0]
    return out


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    mod = 1 << bits
    return (x + mod // 2) % mod - mod // 2


@pytest.mark.parametrize(
    ("f", "i", "banks", "entries", "k_bits", "acc_bits"),
    [(2, 2, 4, 8, 1, 24), (4, 4, 8, 4, 2, 24), (3, 2, 4, 4, 0, 16)],
)
def test_scnn_pe_accumulators_equal_numpy(f, i, banks, entries, k_bits, acc_bits):
    rng = np.random.default_rng(f * 10 + banks + acc_bits)
    pos_bits = (banks * entries).bit_length() - 1 - k_bits
    ref = np.zeros(banks * entries, np.int64)
    groups = []
    for _ in range(25):
        nw, na = int(rng.integers(1, f + 1)), int(rng.integers(1, i + 1))
        ws = [
            {
                "val": int(rng.integers(-128, 128)),
                "k": int(rng.integers(0, 2**k_bits)),
                "off": int(rng.integers(0, 2**pos_bits)),
            }
            for _ in range(f)
        ]
        acts = [
            {"val": int(rng.integers(-128, 128)), "pos": int(rng.integers(0, 2**pos_bits))}
            for _ in range(i)
        ]
        for a in acts[:na]:
            for w in ws[:nw]:
                addr = (w["k"] << pos_bits) | ((a["pos"] + w["off"]) % 2**pos_bits)
                ref[addr] += w["val"] * a["val"]
        groups.append((ws, (1 << nw) - 1, acts, (1 << na) - 1))
    got = simulate_scnn(f, i, banks, entries, k_bits, acc_bits, groups, rng)
    np.testing.assert_array_equal(got, wrap(ref, acc_bits))


def test_scnn_bank_conflicts_serialize():
    """All f·i products of a group aimed at one bank retire one per cycle: the next group
    waits f·i cycles (crossbar without queues, SCNNArch crossbar_buffering='none')."""
    f = i = 2
    dut = ScnnCore(f, i, 8, 24, 4, 4, 0)
    wl, al = core_layouts(8, 0, dut.pos_bits)
    ws = [{"val": 1, "k": 0, "off": 0}] * f
    acts = [{"val": 1, "pos": 0}] * i
    ready_trace = []

    async def bench(ctx):
        ctx.set(dut.w, data.ArrayLayout(wl, f).const(ws))
        ctx.set(dut.a, data.ArrayLayout(al, i).const(acts))
        ctx.set(dut.w_mask, 0b11)
        ctx.set(dut.a_mask, 0b11)
        ctx.set(dut.in_valid, 1)
        await ctx.tick()
        ctx.set(dut.in_valid, 0)
        for _ in range(6):
            ready_trace.append((ctx.get(dut.in_ready), ctx.get(dut.bank_en)))
            await ctx.tick()

    _run(dut, bench)
    assert [r for r, _ in ready_trace] == [0, 0, 0, 1, 1, 1]
    assert [e for _, e in ready_trace] == [1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize(
    ("cls", "params", "word"),
    [
        (ScnnCore, {"f": 0}, "f must"),
        (ScnnCore, {"banks": 12}, "banks"),
        (ScnnCore, {"k_bits": 10}, "k_bits"),
        (ScnnCore, {"acc_bits": 0}, "acc_bits"),
        (ScnnAccBank, {"entries": 3}, "entries"),
    ],
)
def test_scnn_bad_parameters(cls, params, word):
    with pytest.raises(RtlError, match=word):
        cls(**params)


def test_scnn_wide_products_keep_their_top_acc_bits():
    """16-bit operands into 24-bit accumulators (the paper's widths): product >> 8."""
    dut = ScnnCore(1, 1, 16, 24, 2, 2, 0)
    wl, al = core_layouts(16, 0, dut.pos_bits)
    seen = []

    async def bench(ctx):
        for wv, av in [(-30000, 12345), (32767, 32767), (-1, 1), (300, -7)]:
            ctx.set(dut.w, data.ArrayLayout(wl, 1).const([{"val": wv, "k": 0, "off": 0}]))
            ctx.set(dut.a, data.ArrayLayout(al, 1).const([{"val": av, "pos": 0}]))
            ctx.set(dut.w_mask, 1)
            ctx.set(dut.a_mask, 1)
            ctx.set(dut.in_valid, 1)
            await ctx.tick()
            ctx.set(dut.in_valid, 0)
            seen.append((ctx.get(dut.bank_value[0]), (wv * av) >> 8))
            await ctx.tick()

    _run(dut, bench)
    assert [g for g, _ in seen] == [w for _, w in seen]
