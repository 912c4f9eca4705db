"""SparTen-like bitmask inner-join PE.

A chunk of ``chunk`` positions arrives as two bit masks plus each operand's non-zero values
packed at the front. The PE ANDs the masks; each cycle it takes the lowest remaining match
position, finds each operand's value with a prefix popcount of its mask below that position
(SparTen's prefix sums, evaluated at the one position in use), multiplies and accumulates.
A chunk with k matches occupies the PE for max(k, 1) cycles; the next chunk is accepted in
the finishing cycle. After the chunk flagged ``last`` the dot product is shown for one
cycle. Operand buffers live in PE registers (2·chunk values + 2 masks), which is what
makes this PE large. Golden model: :class:`sod.rtl.golden.BitmaskJoinModel`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.common import popcount
from sod.rtl.pe import check_widths


class BitmaskJoinPE(wiring.Component):
    """Bitmask inner-join PE with ``chunk``-position chunks and one MAC per cycle."""

    def __init__(self, chunk: int = 16, val_bits: int = 8, acc_bits: int = 32) -> None:
        check_widths(val_bits=val_bits, acc_bits=acc_bits)
        if not isinstance(chunk, int) or not 2 <= chunk <= 256:
            raise RtlError(f"chunk must be an integer in 2..256, got {chunk!r}")
        self.chunk, self.val_bits, self.acc_bits = chunk, val_bits, acc_bits
        vals = data.ArrayLayout(signed(val_bits), chunk)
        super().__init__(
            {
                "valid": In(1),
                "ready": Out(1),
                "last": In(1),
                "a_mask": In(chunk),
                "w_mask": In(chunk),
                "a_vals": In(vals),
                "w_vals": In(vals),
                "out_valid": Out(1),
                "out_acc": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.chunk
        vals = data.ArrayLayout(signed(self.val_bits), c)
        a_mask, w_mask, rem = Signal(c), Signal(c), Signal(c)
        a_vals, w_vals = Signal(vals), Signal(vals)
        busy, last, done = Signal(), Signal(), Signal()
        acc = Signal(signed(self.acc_bits))

        finishing = Signal()
        m.d.comb += finishing.eq(busy & ((rem & (rem - 1)) == 0))
        m.d.comb += [
            self.ready.eq(~busy | finishing),
            self.out_valid.eq(done),
            self.out_acc.eq(acc),
        ]

        onehot = Signal(c)
        m.d.comb += onehot.eq(rem & (~rem + 1))
        below = Signal(c)
        m.d.comb += below.eq(onehot - 1)
        a_off, w_off = Signal(range(c + 1)), Signal(range(c + 1))
        m.d.comb += [a_off.eq(popcount(a_mask & below)), w_off.eq(popcount(w_mask & below))]
        product = Signal(signed(2 * self.val_bits))
        with m.If(busy & (rem != 0)):
            m.d.comb += product.eq(a_vals[a_off] * w_vals[w_off])
            m.d.sync += rem.eq(rem & ~onehot)
        # The cycle that shows a finished dot product restarts the accumulator.
        m.d.sync += [acc.eq(Mux(done, 0, acc) + product), done.eq(finishing & last)]
        with m.If(finishing):
            m.d.sync += busy.eq(0)
        with m.If(self.valid & self.ready):
            m.d.sync += [
                busy.eq(1),
                last.eq(self.last),
                a_mask.eq(self.a_mask),
                w_mask.eq(self.w_mask),
                rem.eq(self.a_mask & self.w_mask),
                a_vals.eq(self.a_vals),
                w_vals.eq(self.w_vals),
            ]
        return m
