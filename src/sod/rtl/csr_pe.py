"""Comparator index-matching PE (SNAP/SPRITE-like CSR intersection).

Two operand FIFOs (``fifo_depth`` entries of index, value, last) hold sorted sparse
vectors; each cycle the head index of W is compared with the first ``comparators`` A
entries (one comparator each): smaller A indices are dropped, an equal index feeds the
multiplier and both heads pop, a larger one pops W. One MAC per cycle at most; when both
vectors' last entries have popped the dot product is shown for one cycle
(``out_valid``). Golden model: :class:`sod.rtl.golden.CsrMatchModel`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.common import is_power_of_two
from sod.rtl.pe import check_widths


def entry_layout(idx_bits: int, val_bits: int) -> data.StructLayout:
    return data.StructLayout({"idx": idx_bits, "val": signed(val_bits), "last": 1})


class _WindowFifo(wiring.Component):
    """Circular-buffer FIFO that exposes its first ``window`` entries and pops 0..window."""

    def __init__(self, layout: data.StructLayout, depth: int, window: int) -> None:
        self.layout, self.depth, self.window = layout, depth, window
        super().__init__(
            {
                "push_valid": In(1),
                "push_ready": Out(1),
                "push_data": In(layout),
                "count": Out(range(depth + 1)),
                "head": Out(data.ArrayLayout(layout, window)),
                "pop": In(range(window + 1)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        mem = Array(Signal(self.layout, name=f"entry{i}") for i in range(self.depth))
        rd = Signal(range(self.depth))
        ptr_bits = max(1, (self.depth - 1).bit_length())
        for j in range(self.window):
            m.d.comb += self.head[j].eq(mem[(rd + j)[:ptr_bits]])
        m.d.comb += self.push_ready.eq(self.count < self.depth)
        push = Signal()
        m.d.comb += push.eq(self.push_valid & self.push_ready)
        with m.If(push):
            m.d.sync += mem[(rd + self.count)[:ptr_bits]].eq(self.push_data)
        m.d.sync += [rd.eq((rd + self.pop)[:ptr_bits]), self.count.eq(self.count + push - self.pop)]
        return m


class CsrMatchPE(wiring.Component):
    """CSR/comparator index-matching PE with ``fifo_depth``-entry FIFOs and
    ``comparators`` index comparisons per cycle."""

    def __init__(
        self,
        fifo_depth: int = 4,
        comparators: int = 1,
        idx_bits: int = 8,
        val_bits: int = 8,
        acc_bits: int = 32,
    ) -> None:
        check_widths(idx_bits=idx_bits, val_bits=val_bits, acc_bits=acc_bits)
        if not is_power_of_two(fifo_depth) or fifo_depth < 2:
            raise RtlError(f"fifo_depth must be a power of two >= 2, got {fifo_depth!r}")
        if not isinstance(comparators, int) or not 1 <= comparators <= fifo_depth:
            raise RtlError(
                f"comparators must be in 1..fifo_depth ({fifo_depth}), got {comparators!r}"
            )
        self.fifo_depth, self.comparators = fifo_depth, comparators
        self.idx_bits, self.val_bits, self.acc_bits = idx_bits, val_bits, acc_bits
        layout = entry_layout(idx_bits, val_bits)
        super().__init__(
            {
                "a_valid": In(1),
                "a_ready": Out(1),
                "a_data": In(layout),
                "w_valid": In(1),
                "w_ready": Out(1),
                "w_data": In(layout),
                "out_valid": Out(1),
                "out_acc": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.comparators
        layout = entry_layout(self.idx_bits, self.val_bits)
        m.submodules.fa = fa = _WindowFifo(layout, self.fifo_depth, p)
        m.submodules.fw = fw = _WindowFifo(layout, self.fifo_depth, 1)
        for f, pre in ((fa, "a"), (fw, "w")):
            m.d.comb += [
                f.push_valid.eq(getattr(self, f"{pre}_valid")),
                f.push_data.eq(getattr(self, f"{pre}_data")),
                getattr(self, f"{pre}_ready").eq(f.push_ready),
            ]

        acc = Signal(signed(self.acc_bits))
        a_done, w_done = Signal(), Signal()
        w_head = fw.head[0]
        w_nonempty = fw.count != 0

        # Comparator chain over the A window: take_j = entry j is dropped below W's index.
        valid = [fa.count > j for j in range(p)]
        lt = [valid[j] & (w_done | (fa.head[j].idx < w_head.idx)) for j in range(p)]
        eq = [fa.head[j].idx == w_head.idx for j in range(p)]
        cont = [Signal(name=f"cont{j}") for j in range(p + 1)]
        take = [Signal(name=f"take{j}") for j in range(p)]
        at = [Signal(name=f"at{j}") for j in range(p)]
        m.d.comb += cont[0].eq(1)
        for j in range(p):
            m.d.comb += [
                take[j].eq(cont[j] & lt[j]),
                at[j].eq(cont[j] & valid[j] & ~lt[j]),
                cont[j + 1].eq(take[j] & ~fa.head[j].last),
            ]
        n = Signal(range(p + 1))
        m.d.comb += n.eq(sum(take[j] for j in range(p)))
        last_hit = Cat(*(take[j] & fa.head[j].last for j in range(p))).any()
        eq_hit = Cat(*(at[j] & eq[j] for j in range(p))).any()
        gt_hit = Cat(*(at[j] & ~eq[j] for j in range(p))).any()
        a_val = Signal(signed(self.val_bits))
        a_last = Signal()
        m.d.comb += [a_val.eq(0), a_last.eq(0)]
        for j in range(p):
            with m.If(at[j]):
                m.d.comb += [a_val.eq(fa.head[j].val), a_last.eq(fa.head[j].last)]

        m.d.comb += [
            fa.pop.eq(0),
            fw.pop.eq(0),
            self.out_valid.eq(a_done & w_done),
            self.out_acc.eq(acc),
        ]
        with m.If(a_done & w_done):
            m.d.sync += [a_done.eq(0), w_done.eq(0), acc.eq(0)]
        with m.Elif(a_done):
            with m.If(w_nonempty):
                m.d.comb += fw.pop.eq(1)
                m.d.sync += w_done.eq(w_head.last)
        with m.Elif(w_done | w_nonempty):
            with m.If(last_hit):
                m.d.comb += fa.pop.eq(n)
                m.d.sync += a_done.eq(1)
            with m.Elif(eq_hit):
                m.d.comb += [fa.pop.eq(n + 1), fw.pop.eq(1)]
                m.d.sync += [
                    acc.eq(acc + a_val * w_head.val),
                    a_done.eq(a_last),
                    w_done.eq(w_head.last),
                ]
            with m.Elif(gt_hit):
                m.d.comb += [fa.pop.eq(n), fw.pop.eq(1)]
                m.d.sync += w_done.eq(w_head.last)
            with m.Else():
                m.d.comb += fa.pop.eq(n)
        return m
