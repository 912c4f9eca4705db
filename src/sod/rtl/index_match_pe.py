"""Windowed comparator index-matching PE (the PE of :class:`sod.arch.sparse.IndexMatchArch`).

Each operand (A: an activation row fiber, W: a weight column fiber) arrives as *windows*:
up to ``window`` consecutive (index, value) entries of one sorted CSR fiber, aligned to
the fiber's start (a fiber of n entries is ⌈n/window⌉ windows, the last one partial),
with a prefix mask of the valid entries and a ``last`` flag on the fiber's final window.
Each operand FIFO holds ``fifo_depth // window`` windows (``fifo_depth`` entries).

Every cycle in which both head windows are present, all ``window²`` index pairs are
compared; each A entry selects the W value it matched (indices are unique within a fiber,
so at most one; AND-OR select) and the ``window`` products are summed into the
accumulator. Then the window whose last valid index is smaller is popped (both on a tie).
Once one fiber's last window has popped, the other fiber's remaining windows are dropped
one per cycle; when both have ended the dot product is shown for one cycle
(``out_valid``) and the accumulator clears. This is the merge of
:mod:`sod.reference.index_match` (same compare cycles); the drain and the output cycle
are the RTL's own. An empty fiber is sent as one entry of value 0.

FIFO storage is flip-flops: 2 · fifo_depth · (index_bits + val_bits) bits plus a
valid/last bit per entry and window, and the window-granular pointers.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.common import is_power_of_two
from sod.rtl.pe import check_widths


def window_layout(window: int, idx_bits: int, val_bits: int) -> data.StructLayout:
    """One window of a fiber: entries, a prefix mask of the valid ones, the fiber's end."""
    entry = data.StructLayout({"idx": idx_bits, "val": signed(val_bits)})
    return data.StructLayout(
        {"entries": data.ArrayLayout(entry, window), "valid": window, "last": 1}
    )


class _WindowQueue(wiring.Component):
    """FIFO of whole windows (``slots`` deep); the head window is visible, pop 0 or 1."""

    def __init__(self, layout: data.StructLayout, slots: int) -> None:
        self.layout, self.slots = layout, slots
        super().__init__(
            {
                "push_valid": In(1),
                "push_ready": Out(1),
                "push_data": In(layout),
                "nonempty": Out(1),
                "head": Out(layout),
                "pop": In(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        push = Signal()
        if self.slots == 1:
            slot = Signal(self.layout, name="slot0")
            full = Signal()
            m.d.comb += [
                self.head.eq(slot),
                self.nonempty.eq(full),
                self.push_ready.eq(~full | self.pop),
                push.eq(self.push_valid & self.push_ready),
            ]
            with m.If(push):
                m.d.sync += [slot.eq(self.push_data), full.eq(1)]
            with m.Elif(self.pop):
                m.d.sync += full.eq(0)
            return m
        mem = Array(Signal(self.layout, name=f"slot{i}") for i in range(self.slots))
        bits = (self.slots - 1).bit_length()
        rd = Signal(bits)
        count = Signal(range(self.slots + 1))
        m.d.comb += [
            self.head.eq(mem[rd]),
            self.nonempty.eq(count != 0),
            self.push_ready.eq(count < self.slots),
            push.eq(self.push_valid & self.push_ready),
        ]
        with m.If(push):
            m.d.sync += mem[(rd + count)[:bits]].eq(self.push_data)
        m.d.sync += [rd.eq(rd + self.pop), count.eq(count + push - self.pop)]
        return m


class IndexMatchPE(wiring.Component):
    """Windowed index-matching PE: ``window²`` comparators, ``window`` multipliers,
    two ``fifo_depth``-entry operand FIFOs of ``idx_bits``-wide indices."""

    def __init__(
        self,
        window: int = 4,
        fifo_depth: int = 8,
        idx_bits: int = 8,
        val_bits: int = 8,
        acc_bits: int = 32,
    ) -> None:
        check_widths(idx_bits=idx_bits, val_bits=val_bits, acc_bits=acc_bits)
        if not isinstance(window, int) or not 1 <= window <= 64:
            raise RtlError(f"window must be an integer in 1..64, got {window!r}")
        if not isinstance(fifo_depth, int) or fifo_depth < window or fifo_depth % window:
            raise RtlError(
                f"fifo_depth must be a positive multiple of window ({window}), got {fifo_depth!r}"
            )
        slots = fifo_depth // window
        if not is_power_of_two(slots):
            raise RtlError(f"fifo_depth / window must be a power of two, got {slots}")
        self.window, self.fifo_depth, self.slots = window, fifo_depth, slots
        self.idx_bits, self.val_bits, self.acc_bits = idx_bits, val_bits, acc_bits
        layout = window_layout(window, idx_bits, val_bits)
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
                "compare": Out(1),  # this cycle compares two windows (a merge cycle)
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.window
        layout = window_layout(p, self.idx_bits, self.val_bits)
        m.submodules.qa = qa = _WindowQueue(layout, self.slots)
        m.submodules.qw = qw = _WindowQueue(layout, self.slots)
        for q, pre in ((qa, "a"), (qw, "w")):
            m.d.comb += [
                q.push_valid.eq(getattr(self, f"{pre}_valid")),
                q.push_data.eq(getattr(self, f"{pre}_data")),
                getattr(self, f"{pre}_ready").eq(q.push_ready),
            ]
        ha, hw = qa.head, qw.head

        # window² comparators; each A entry selects the W value it matched (one-hot).
        products = []
        for j in range(p):
            sel = Signal(signed(self.val_bits), name=f"w_sel{j}")
            terms = []
            for k in range(p):
                hit = Signal(name=f"hit{j}_{k}")
                m.d.comb += hit.eq(
                    ha.valid[j] & hw.valid[k] & (ha.entries[j].idx == hw.entries[k].idx)
                )
                terms.append(hw.entries[k].val.as_unsigned() & hit.replicate(self.val_bits))
            acc_or = terms[0]
            for t in terms[1:]:
                acc_or = acc_or | t
            m.d.comb += sel.eq(acc_or)
            prod = Signal(signed(2 * self.val_bits), name=f"prod{j}")
            m.d.comb += prod.eq(ha.entries[j].val * sel)
            products.append(prod)
        # Adder tree of the window's products.
        while len(products) > 1:
            nxt = []
            for i in range(0, len(products) - 1, 2):
                s = Signal(signed(len(products[i]) + 1), name=f"sum{len(products)}_{i}")
                m.d.comb += s.eq(products[i] + products[i + 1])
                nxt.append(s)
            if len(products) % 2:
                nxt.append(products[-1])
            products = nxt
        total = products[0]

        # Last valid index of each window (valid entries are a prefix).
        def end_index(h, name):
            end = Signal(self.idx_bits, name=name)
            m.d.comb += end.eq(h.entries[0].idx)
            for j in range(1, p):
                with m.If(h.valid[j]):
                    m.d.comb += end.eq(h.entries[j].idx)
            return end

        end_a, end_w = end_index(ha, "end_a"), end_index(hw, "end_w")

        acc = Signal(signed(self.acc_bits))
        a_done, w_done = Signal(), Signal()
        m.d.comb += [
            qa.pop.eq(0),
            qw.pop.eq(0),
            self.compare.eq(0),
            self.out_valid.eq(a_done & w_done),
            self.out_acc.eq(acc),
        ]
        with m.If(a_done & w_done):
            m.d.sync += [a_done.eq(0), w_done.eq(0), acc.eq(0)]
        with m.Elif(a_done):
            with m.If(qw.nonempty):
                m.d.comb += qw.pop.eq(1)
                m.d.sync += w_done.eq(hw.last)
        with m.Elif(w_done):
            with m.If(qa.nonempty):
                m.d.comb += qa.pop.eq(1)
                m.d.sync += a_done.eq(ha.last)
        with m.Elif(qa.nonempty & qw.nonempty):
            m.d.comb += self.compare.eq(1)
            pop_a = end_a <= end_w
            pop_w = end_w <= end_a
            m.d.sync += acc.eq(acc + total)
            with m.If(pop_a):
                m.d.comb += qa.pop.eq(1)
                m.d.sync += a_done.eq(ha.last)
            with m.If(pop_w):
                m.d.comb += qw.pop.eq(1)
                m.d.sync += w_done.eq(hw.last)
        return m


def fiber_windows(
    fiber: list[tuple[int, int]], window: int, idx_bits: int | None = None
) -> list[dict]:
    """The windows of one sorted (index, value) fiber as port values of ``a_data``/``w_data``
    (an empty fiber becomes one entry (0, 0)). With ``idx_bits``, an index that does not
    fit (a fiber longer than 2^idx_bits) is refused: the RTL would alias it."""
    fiber = list(fiber) or [(0, 0)]
    if idx_bits is not None:
        too_big = [i for i, _ in fiber if not 0 <= i < 1 << idx_bits]
        if too_big:
            raise RtlError(
                f"index {too_big[0]} does not fit {idx_bits}-bit indices "
                f"(fibers up to {1 << idx_bits} positions)"
            )
    out = []
    for s in range(0, len(fiber), window):
        chunk = fiber[s : s + window]
        entries = [{"idx": i, "val": v} for i, v in chunk]
        entries += [{"idx": 0, "val": 0}] * (window - len(chunk))
        out.append(
            {
                "entries": entries,
                "valid": (1 << len(chunk)) - 1,
                "last": int(s + window >= len(fiber)),
            }
        )
    return out
