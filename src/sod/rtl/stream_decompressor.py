"""Bit-serial bitmap decompressor: the RTL of :mod:`sod.reference.decompressor` (bitmap).

Input: one GLB stream of ``word_bits``-bit words (first stream bit = the word's MSB)
holding bitmap tiles (:mod:`sod.formats.bitmap`: per vector, ``lanes`` mask bits then the
non-zero values, ``val_bits`` each, MSB first), each tile starting on a word boundary and
zero-padded to whole words; and a descriptor stream giving each tile's vector count
(``pad_before`` vectors are not supported). The unit appends the accepted word to a
bit buffer (append shifter by the fill level), and each cycle emits the next dense vector
if its mask and values are all in the buffer or the word accepted this cycle, consuming
its bits (consume shifter), plus the tile's end padding after its last vector. The
reference never throttles its input; here the word waits while the buffer is full, which
leaves the emission cycles unchanged when ``buffer_bits`` is large enough (the tests
check equality cycle by cycle).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import check_widths


class StreamBitmapDecompressor(wiring.Component):
    """Bitmap tile stream → dense ``lanes``-lane vectors, one per cycle or a stall."""

    def __init__(
        self,
        lanes: int = 16,
        word_bits: int = 128,
        val_bits: int = 8,
        buffer_bits: int | None = None,
        count_bits: int = 16,
    ) -> None:
        check_widths(val_bits=val_bits, count_bits=count_bits)
        if not isinstance(lanes, int) or not 1 <= lanes <= 256:
            raise RtlError(f"lanes must be an integer in 1..256, got {lanes!r}")
        if not isinstance(word_bits, int) or word_bits < 2 or word_bits & (word_bits - 1):
            raise RtlError(f"word_bits must be a power of two >= 2, got {word_bits!r}")
        max_vector = lanes + lanes * val_bits
        buffer_bits = buffer_bits or 2 * (word_bits + max_vector)
        if buffer_bits < word_bits + max_vector:
            raise RtlError(
                f"buffer_bits must be at least word_bits + a full vector "
                f"({word_bits + max_vector}), got {buffer_bits}"
            )
        self.lanes, self.word_bits, self.val_bits = lanes, word_bits, val_bits
        self.buffer_bits, self.count_bits = buffer_bits, count_bits
        super().__init__(
            {
                "in_valid": In(1),
                "in_ready": Out(1),
                "in_word": In(word_bits),
                "tile_valid": In(1),
                "tile_ready": Out(1),
                "tile_vectors": In(count_bits),
                "out_valid": Out(1),
                "out_data": Out(data.ArrayLayout(signed(val_bits), lanes)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes, wb, vb, cap = self.lanes, self.word_bits, self.val_bits, self.buffer_bits
        buf = Signal(cap)  # bit 0 = oldest stream bit; bits >= fill are zero
        fill = Signal(range(cap + 1))
        left = Signal(self.count_bits)  # vectors left in the current tile
        phase = Signal(range(wb))  # tile bits consumed, mod word_bits

        m.d.comb += self.in_ready.eq(fill <= cap - wb)
        in_fire = Signal()
        m.d.comb += in_fire.eq(self.in_valid & self.in_ready)
        word = Cat(*(self.in_word[wb - 1 - i] for i in range(wb)))  # MSB-first → bit 0
        window = Signal(cap + wb)
        m.d.comb += window.eq(buf | Mux(in_fire, word, 0) << fill)
        avail = Signal(range(cap + wb + 1))
        m.d.comb += avail.eq(fill + Mux(in_fire, wb, 0))

        m.d.comb += self.tile_ready.eq(left == 0)
        cur = Signal(self.count_bits)
        m.d.comb += cur.eq(Mux(left != 0, left, Mux(self.tile_valid, self.tile_vectors, 0)))

        prefix = [Signal(range(i + 1), name=f"prefix{i}") for i in range(lanes)]
        m.d.comb += prefix[0].eq(0)
        for i in range(1, lanes):
            m.d.comb += prefix[i].eq(prefix[i - 1] + window[i - 1])
        k = Signal(range(lanes + 1))
        m.d.comb += k.eq(prefix[-1] + window[lanes - 1])
        need = Signal(range(lanes + lanes * vb + 1))
        m.d.comb += need.eq(lanes + k * vb)
        fire = Signal()
        m.d.comb += fire.eq((cur != 0) & (avail >= need))

        for i in range(lanes):
            fields = [window[lanes + j * vb : lanes + (j + 1) * vb] for j in range(i + 1)]
            value = Cat(*(f[vb - 1 - b] for f in [Array(fields)[prefix[i]]] for b in range(vb)))
            m.d.comb += self.out_data[i].eq(Mux(fire & window[i], value, 0))
        m.d.comb += self.out_valid.eq(fire)

        # Consume the vector, and after a tile's last vector its padding to the word end.
        after = Signal(range(wb))
        m.d.comb += after.eq(phase + need)  # mod word_bits (power of two)
        last = Signal()
        m.d.comb += last.eq(cur == 1)
        used = Signal(range(lanes + lanes * vb + wb + 1))
        m.d.comb += used.eq(Mux(fire, need + Mux(last & (after != 0), wb - after, 0), 0))
        m.d.sync += [buf.eq((window >> used)[:cap]), fill.eq(avail - used), left.eq(cur - fire)]
        with m.If(fire):
            m.d.sync += phase.eq(Mux(last, 0, after))
        return m
