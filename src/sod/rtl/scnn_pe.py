"""SCNN processing element (Parashar et al., ISCA 2017): F×I Cartesian-product multiplier
array, scatter crossbar, banked double-buffered accumulators.

Each accepted input group is up to ``f`` non-zero weights and ``i`` non-zero activations
(prefix masks ``w_mask``, ``a_mask``). A weight carries its output channel ``k``
(``k_bits``, the PE's output-channel group Kc = 2^k_bits) and its spatial offset ``off``;
an activation carries its position ``pos`` in the PE's output tile (planar, linearized,
halo included). Every one of the f·i products is scattered to output
``addr = {k, (pos + off) mod 2^pos_bits}`` (one coordinate adder per product; a
linearized x − r, y − s), i.e. bank ``addr mod banks`` and entry ``addr // banks``;
``pos_bits = log2(banks · entries) − k_bits``.

Scatter crossbar (no bank queues: SCNNArch ``crossbar_buffering="none"``): each bank
takes the lowest-numbered pending product addressed to it per cycle (a fixed-priority
f·i:1 arbiter and select per bank); products not granted wait in place and the array
accepts the next group once all products of the current one have retired, so a group
lasts as long as its most loaded bank. A product wider than ``acc_bits`` (16-bit operands,
24-bit accumulators in the paper) keeps its top ``acc_bits`` bits (fixed point). Each bank
adds the product into the addressed entry of its active buffer (read–modify–write, one
adder per bank).

Accumulator banks (:class:`ScnnAccBank`): two buffers of ``entries`` × ``acc_bits``
flip-flops (double buffering: the PE accumulates into one while the other drains);
``swap`` exchanges them, the drain port reads the inactive buffer and ``rd_clear`` zeroes
the entry read. SCNN's 96-byte banks are far below any SRAM macro, so they are flip-flops
here (as in :func:`sod.cost.pe.scnn_pe`).

Synthesized as two modules (:class:`ScnnCore`: operand registers, multipliers, coordinate
adders, arbiters and crossbar; :class:`ScnnAccBank`: one double-buffered bank), the PE
being core + ``banks`` × bank. Not in the RTL (composed in :mod:`sod.cost.pe`): the weight
FIFO, the IARAM/OARAM SRAMs and the PE's drain select (a banks:1 mux).
"""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Array, Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.common import is_power_of_two
from sod.rtl.pe import check_widths


def _log2(n: int) -> int:
    return (n - 1).bit_length()


class ScnnAccBank(wiring.Component):
    """One double-buffered accumulator bank: ``entries`` × ``acc_bits`` per buffer."""

    def __init__(self, entries: int = 32, acc_bits: int = 24) -> None:
        check_widths(acc_bits=acc_bits)
        if not is_power_of_two(entries) or entries < 2:
            raise RtlError(f"entries must be a power of two >= 2, got {entries!r}")
        self.entries, self.acc_bits = entries, acc_bits
        eb = _log2(entries)
        super().__init__(
            {
                "add_en": In(1),
                "add_entry": In(eb),
                "add_value": In(signed(acc_bits)),
                "swap": In(1),
                "rd_entry": In(eb),
                "rd_clear": In(1),
                "rd_data": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        bufs = [
            Array(Signal(signed(self.acc_bits), name=f"b{b}_e{e}") for e in range(self.entries))
            for b in range(2)
        ]
        active = Signal()  # buffer accumulating; the other drains
        with m.If(self.swap):
            m.d.sync += active.eq(~active)
        for b in range(2):
            acc_here = active == b
            with m.If(acc_here):
                with m.If(self.add_en):
                    cur = bufs[b][self.add_entry]
                    m.d.sync += cur.eq(cur + self.add_value)
            with m.Else():
                m.d.comb += self.rd_data.eq(bufs[b][self.rd_entry])
                with m.If(self.rd_clear):
                    m.d.sync += bufs[b][self.rd_entry].eq(0)
        return m


def core_layouts(
    val_bits: int, k_bits: int, pos_bits: int
) -> tuple[data.StructLayout, data.StructLayout]:
    """(weight, activation) entry layouts."""
    w = data.StructLayout({"val": signed(val_bits), "k": max(k_bits, 1), "off": pos_bits})
    a = data.StructLayout({"val": signed(val_bits), "pos": pos_bits})
    return w, a


def _check(f, i, banks, entries, k_bits) -> tuple[int, int, int]:
    for name, v in (("f", f), ("i", i)):
        if not isinstance(v, int) or not 1 <= v <= 16:
            raise RtlError(f"{name} must be an integer in 1..16, got {v!r}")
    for name, v in (("banks", banks), ("entries", entries)):
        if not is_power_of_two(v) or v < 2:
            raise RtlError(f"{name} must be a power of two >= 2, got {v!r}")
    addr_bits = _log2(banks * entries)
    if not isinstance(k_bits, int) or not 0 <= k_bits < addr_bits:
        raise RtlError(f"k_bits must be in 0..{addr_bits - 1}, got {k_bits!r}")
    return addr_bits, addr_bits - k_bits, _log2(banks)


class ScnnCore(wiring.Component):
    """SCNN PE datapath without the accumulator storage: f×i multipliers, coordinate
    adders, per-bank arbiters and the scatter crossbar to ``banks`` bank ports."""

    def __init__(
        self,
        f: int = 4,
        i: int = 4,
        val_bits: int = 8,
        acc_bits: int = 24,
        banks: int = 32,
        entries: int = 32,
        k_bits: int = 3,
    ) -> None:
        check_widths(val_bits=val_bits, acc_bits=acc_bits)
        self.addr_bits, self.pos_bits, self.bank_bits = _check(f, i, banks, entries, k_bits)
        self.f, self.i, self.val_bits, self.acc_bits = f, i, val_bits, acc_bits
        self.banks, self.entries, self.k_bits = banks, entries, k_bits
        wl, al = core_layouts(val_bits, k_bits, self.pos_bits)
        eb = _log2(entries)
        super().__init__(
            {
                "in_valid": In(1),
                "in_ready": Out(1),
                "w": In(data.ArrayLayout(wl, f)),
                "w_mask": In(f),
                "a": In(data.ArrayLayout(al, i)),
                "a_mask": In(i),
                "idle": Out(1),
                "bank_en": Out(banks),
                "bank_entry": Out(data.ArrayLayout(eb, banks)),
                "bank_value": Out(data.ArrayLayout(signed(acc_bits), banks)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        f, i, nb = self.f, self.i, self.banks
        wl, al = core_layouts(self.val_bits, self.k_bits, self.pos_bits)
        w_reg = Signal(data.ArrayLayout(wl, f))
        a_reg = Signal(data.ArrayLayout(al, i))
        pending = Signal(f * i)
        # Products and their destinations.
        prods, banks_of, entries_of = [], [], []
        for fi in range(f):
            for ii in range(i):
                w, a = w_reg[fi], a_reg[ii]
                prod = Signal(signed(2 * self.val_bits), name=f"prod{fi}_{ii}")
                pos = Signal(self.pos_bits, name=f"pos{fi}_{ii}")
                m.d.comb += [prod.eq(w.val * a.val), pos.eq(a.pos + w.off)]
                addr = Cat(pos, w.k[: self.k_bits]) if self.k_bits else pos
                prods.append(prod)
                banks_of.append(addr[: self.bank_bits])
                entries_of.append(addr[self.bank_bits :])
        n = f * i
        # Products wider than the accumulator keep their top acc_bits (fixed point: SCNN's
        # 16-bit operands into 24-bit accumulators); the crossbar carries xbits per product.
        shift = max(0, 2 * self.val_bits - self.acc_bits)
        xbits = 2 * self.val_bits - shift
        granted = []
        grant_of_bank = []
        for b in range(nb):
            req = [Signal(name=f"req{b}_{p}") for p in range(n)]
            gnt = [Signal(name=f"gnt{b}_{p}") for p in range(n)]
            for p in range(n):
                m.d.comb += req[p].eq(pending[p] & (banks_of[p] == b))
            # Fixed priority: the lowest pending product wins.
            free = Signal(n + 1, name=f"free{b}")
            m.d.comb += free[0].eq(1)
            for p in range(n):
                m.d.comb += [gnt[p].eq(req[p] & free[p]), free[p + 1].eq(free[p] & ~req[p])]
            grant_of_bank.append(gnt)
            value = Signal(signed(self.acc_bits), name=f"val{b}")
            entry = Signal(len(entries_of[0]), name=f"ent{b}")
            v_or: Any = 0
            e_or: Any = 0
            for p in range(n):
                v_or = v_or | (prods[p][shift:].as_unsigned() & gnt[p].replicate(xbits))
                e_or = e_or | (entries_of[p] & gnt[p].replicate(len(entry)))
            # The one-hot OR is unsigned: sign-extend from the crossbar width.
            m.d.comb += [
                value.eq(v_or[:xbits].as_signed()),
                entry.eq(e_or),
                self.bank_en[b].eq(Cat(*req).any()),
                self.bank_entry[b].eq(entry),
                self.bank_value[b].eq(value),
            ]
        for p in range(n):
            g = Signal(name=f"granted{p}")
            m.d.comb += g.eq(Cat(*(grant_of_bank[b][p] for b in range(nb))).any())
            granted.append(g)
        remaining = Signal(n)
        m.d.comb += [
            remaining.eq(pending & ~Cat(*granted)),
            self.in_ready.eq(remaining == 0),
            self.idle.eq(pending == 0),
        ]
        with m.If(self.in_valid & self.in_ready):
            outer = Cat(*(self.w_mask[fi] & self.a_mask[ii] for fi in range(f) for ii in range(i)))
            m.d.sync += [w_reg.eq(self.w), a_reg.eq(self.a), pending.eq(outer)]
        with m.Else():
            m.d.sync += pending.eq(remaining)
        return m


class ScnnPE(wiring.Component):
    """Core + ``banks`` double-buffered accumulator banks + a drain port (``rd_addr`` is
    the linear output address {k, pos}; reads the inactive buffers)."""

    def __init__(
        self,
        f: int = 4,
        i: int = 4,
        val_bits: int = 8,
        acc_bits: int = 24,
        banks: int = 32,
        entries: int = 32,
        k_bits: int = 3,
    ) -> None:
        self.core = ScnnCore(f, i, val_bits, acc_bits, banks, entries, k_bits)
        self.bank_list = [ScnnAccBank(entries, acc_bits) for _ in range(banks)]
        c = self.core
        super().__init__(
            {
                "in_valid": In(1),
                "in_ready": Out(1),
                "w": In(data.ArrayLayout(core_layouts(val_bits, k_bits, c.pos_bits)[0], f)),
                "w_mask": In(f),
                "a": In(data.ArrayLayout(core_layouts(val_bits, k_bits, c.pos_bits)[1], i)),
                "a_mask": In(i),
                "idle": Out(1),
                "swap": In(1),
                "rd_addr": In(c.addr_bits),
                "rd_clear": In(1),
                "rd_data": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.core
        m.submodules.core = c
        m.d.comb += [
            c.in_valid.eq(self.in_valid),
            self.in_ready.eq(c.in_ready),
            c.w.eq(self.w),
            c.w_mask.eq(self.w_mask),
            c.a.eq(self.a),
            c.a_mask.eq(self.a_mask),
            self.idle.eq(c.idle),
        ]
        rd_bank = self.rd_addr[: c.bank_bits]
        rd_entry = self.rd_addr[c.bank_bits :]
        for b, bank in enumerate(self.bank_list):
            m.submodules[f"bank{b}"] = bank
            m.d.comb += [
                bank.add_en.eq(c.bank_en[b]),
                bank.add_entry.eq(c.bank_entry[b]),
                bank.add_value.eq(c.bank_value[b]),
                bank.swap.eq(self.swap),
                bank.rd_entry.eq(rd_entry),
                bank.rd_clear.eq(self.rd_clear & (rd_bank == b)),
            ]
            with m.If(rd_bank == b):
                m.d.comb += self.rd_data.eq(bank.rd_data)
        return m
