"""Bitmask decompression unit of L lanes (between the GLB and the array edge).

Inputs are two GLB streams: masks (one L-bit mask per dense vector) and values (words of L
values, the non-zeros of consecutive vectors packed back to back, so a vector may straddle
two words). The unit keeps one value word in registers and uses the word waiting on the
GLB port (held stable until accepted) as the second half of its window. Each cycle, if a
mask is present and the window holds popcount(mask) values, the window is shifted by the
consumed offset (log shifter) and each lane i takes the value at the prefix popcount of
the mask below i (crossbar) or zero; otherwise ``out_valid`` is low and the array stalls.
The dense vector is combinational: the array's edge PEs register it. Golden model:
:class:`sod.rtl.golden.BitmaskDecompressorModel`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import check_widths


class BitmaskDecompressor(wiring.Component):
    """Bitmask → dense expansion, L lanes, one vector per cycle when data is available."""

    def __init__(self, lanes: int = 16, val_bits: int = 8, realign: bool = True) -> None:
        check_widths(val_bits=val_bits)
        if not isinstance(lanes, int) or not 2 <= lanes <= 256 or lanes & (lanes - 1):
            raise RtlError(f"lanes must be a power of two in 2..256, got {lanes!r}")
        self.lanes, self.val_bits, self.realign = lanes, val_bits, realign
        word = data.ArrayLayout(signed(val_bits), lanes)
        super().__init__(
            {
                "mask_valid": In(1),
                "mask_ready": Out(1),
                "mask": In(lanes),
                "val_valid": In(1),
                "val_ready": Out(1),
                "val_word": In(word),
                "out_valid": Out(1),
                "out_data": Out(word),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes, vb = self.lanes, self.val_bits
        port = self.val_word.as_value()

        # Prefix popcounts of the mask as a ripple chain shared by all lanes; k = total.
        prefix = [Signal(range(i + 1), name=f"prefix{i}") for i in range(lanes)]
        m.d.comb += prefix[0].eq(0)
        for i in range(1, lanes):
            m.d.comb += prefix[i].eq(prefix[i - 1] + self.mask[i - 1])
        k = Signal(range(lanes + 1))
        m.d.comb += k.eq(prefix[-1] + self.mask[-1])

        fire = Signal()
        if self.realign:
            window = self._realign(m, port, k, fire)
        else:
            # Expansion core only: the port word carries this vector's values at the front.
            window = port
            m.d.comb += [fire.eq(self.mask_valid & self.val_valid), self.val_ready.eq(fire)]
        for i in range(lanes):
            src = Array(window.word_select(j, vb) for j in range(i + 1))[prefix[i]]
            m.d.comb += self.out_data[i].eq(Mux(fire & self.mask[i], src, 0))
        m.d.comb += [self.out_valid.eq(fire), self.mask_ready.eq(fire)]
        return m

    def _realign(self, m: Module, port, k, fire):
        """Register word + port word window; returns the window shifted to offset 0."""
        lanes, vb = self.lanes, self.val_bits
        word = Signal(lanes * vb)
        have = Signal()
        off = Signal(range(lanes))
        reg_avail = Signal(range(lanes + 1))
        m.d.comb += reg_avail.eq(Mux(have, lanes - off, 0))
        m.d.comb += fire.eq(self.mask_valid & (reg_avail + Mux(self.val_valid, lanes, 0) >= k))

        # Largest shift first so each level only keeps the bits later levels need.
        shifted = Cat(word, port)
        for b in reversed(range(len(off))):
            step = (1 << b) * vb
            keep = lanes * vb + ((1 << b) - 1) * vb
            shifted = Mux(off[b], shifted[step : step + keep], shifted[:keep])
        window = Signal(lanes * vb)
        m.d.comb += window.eq(Mux(have, shifted[: lanes * vb], port))

        left = Signal(signed(len(reg_avail) + 1))
        m.d.comb += left.eq(reg_avail - Mux(fire, k, 0))
        m.d.comb += self.val_ready.eq(left <= 0)
        with m.If(left > 0):
            m.d.sync += off.eq(lanes - left)
        with m.Elif(self.val_valid):
            used = Signal(range(lanes + 1))
            m.d.comb += used.eq(-left)
            m.d.sync += [word.eq(port), have.eq(used != lanes), off.eq(Mux(used == lanes, 0, used))]
        with m.Else():
            m.d.sync += [have.eq(0), off.eq(0)]
        return window
