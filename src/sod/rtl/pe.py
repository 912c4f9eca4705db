"""Dense int8 multiply-accumulate PE of a weight-stationary systolic array.

One PE holds one weight ``w`` (loaded by shifting down its column while ``w_load`` is high),
forwards the activation it receives to its right neighbour one cycle later, and adds
``a_in · w`` to the partial sum arriving from above, passing the sum down one cycle later.
Registers: weight (a_bits), forwarded activation (w_bits), partial sum (acc_bits) —
48 flip-flops for int8 × int8 → int32. Golden model: :class:`sod.rtl.golden.DenseArrayModel`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError


def check_widths(**widths: int) -> None:
    """Reject non-positive or absurd bit widths with a one-line error."""
    for name, value in widths.items():
        if not isinstance(value, int) or not 1 <= value <= 64:
            raise RtlError(f"{name} must be an integer in 1..64, got {value!r}")


class DenseMacPE(wiring.Component):
    """Weight-stationary MAC PE: ``psum_out ← psum_in + a_in·w`` and ``a_out ← a_in`` each cycle."""

    def __init__(self, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32) -> None:
        check_widths(a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
        if acc_bits < a_bits + w_bits:
            raise RtlError(f"acc_bits ({acc_bits}) must be at least a_bits + w_bits")
        self.a_bits, self.w_bits, self.acc_bits = a_bits, w_bits, acc_bits
        super().__init__(
            {
                "a_in": In(signed(a_bits)),
                "w_in": In(signed(w_bits)),
                "w_load": In(1),
                "psum_in": In(signed(acc_bits)),
                "a_out": Out(signed(a_bits)),
                "w_out": Out(signed(w_bits)),
                "psum_out": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        w = Signal(signed(self.w_bits))
        a = Signal(signed(self.a_bits))
        psum = Signal(signed(self.acc_bits))
        m.d.sync += [a.eq(self.a_in), psum.eq(self.psum_in + self.a_in * w)]
        with m.If(self.w_load):
            m.d.sync += w.eq(self.w_in)
        m.d.comb += [self.a_out.eq(a), self.w_out.eq(w), self.psum_out.eq(psum)]
        return m
