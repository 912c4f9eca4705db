"""Column-combining PE (Sparse-TPU / column combining) of a weight-stationary array.

The dense MAC PE of :mod:`sod.rtl.pe` with three changes: the activation input is a row
of ``combine`` (g) lanes — the activations of the group's members — registered and
forwarded to the right neighbour as a whole (the g-times wider activation pipeline); the
stationary weight is loaded together with its member index (``⌈log2 g⌉`` bits); and a
g-to-1 mux picks the lane the weight belongs to before the multiplier:
``psum_out ← psum_in + a_in[idx]·w``. An empty slot holds w = 0 (gating is a power
matter, not modelled in the RTL). Golden model: :class:`CcPeModel`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import check_widths


def index_bits(combine: int) -> int:
    """Member-index width: ⌈log2 g⌉, at least 1 (a 1-lane PE keeps a constant-0 bit)."""
    return max(1, (combine - 1).bit_length())


class CcPE(wiring.Component):
    """``psum_out ← psum_in + a_in[idx]·w`` and ``a_out ← a_in`` (all g lanes) each cycle."""

    def __init__(
        self, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32, combine: int = 8
    ) -> None:
        check_widths(a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
        if acc_bits < a_bits + w_bits:
            raise RtlError(f"acc_bits ({acc_bits}) must be at least a_bits + w_bits")
        if not isinstance(combine, int) or not 1 <= combine <= 64:
            raise RtlError(f"combine must be an integer in 1..64, got {combine!r}")
        self.a_bits, self.w_bits, self.acc_bits, self.combine = a_bits, w_bits, acc_bits, combine
        self.idx_bits = index_bits(combine)
        lanes = data.ArrayLayout(signed(a_bits), combine)
        super().__init__(
            {
                "a_in": In(lanes),
                "w_in": In(signed(w_bits)),
                "idx_in": In(self.idx_bits),
                "w_load": In(1),
                "psum_in": In(signed(acc_bits)),
                "a_out": Out(lanes),
                "w_out": Out(signed(w_bits)),
                "idx_out": Out(self.idx_bits),
                "psum_out": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        g = self.combine
        w = Signal(signed(self.w_bits))
        idx = Signal(self.idx_bits)
        a = Signal(data.ArrayLayout(signed(self.a_bits), g))
        psum = Signal(signed(self.acc_bits))
        lanes = Array(self.a_in[i] for i in range(g))
        picked = Signal(signed(self.a_bits))
        m.d.comb += picked.eq(lanes[idx])  # the g-to-1 activation mux
        m.d.sync += [a.eq(self.a_in), psum.eq(self.psum_in + picked * w)]
        with m.If(self.w_load):
            m.d.sync += [w.eq(self.w_in), idx.eq(self.idx_in)]
        m.d.comb += [
            self.a_out.eq(a),
            self.w_out.eq(w),
            self.idx_out.eq(idx),
            self.psum_out.eq(psum),
        ]
        return m


class CcPeModel:
    """Cycle-level golden model of one :class:`CcPE` (two's-complement wrap at acc_bits)."""

    def __init__(self, acc_bits: int = 32, combine: int = 8) -> None:
        self.acc_bits, self.combine = acc_bits, combine
        self.w = self.idx = 0
        self.a = [0] * combine
        self.psum = 0

    def _wrap(self, v: int) -> int:
        half = 1 << (self.acc_bits - 1)
        return (v + half) % (1 << self.acc_bits) - half

    def step(
        self, a_in: list[int], w_in: int, idx_in: int, w_load: int, psum_in: int
    ) -> dict[str, object]:
        out = {"a_out": list(self.a), "w_out": self.w, "idx_out": self.idx, "psum_out": self.psum}
        lane = a_in[self.idx] if self.idx < self.combine else 0
        self.psum = self._wrap(psum_in + lane * self.w)
        self.a = list(a_in)
        if w_load:
            self.w, self.idx = w_in, idx_in
        return out
