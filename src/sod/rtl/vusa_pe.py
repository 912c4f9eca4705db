"""One VUSA window: ``V`` virtual PEs served by ``M`` physical MACs (VUSA, Helal et al.,
MOCAST 2025; the model is :mod:`sod.models.vusa`), in the two orientations of
``VUSAArch.window_axis``.

:class:`VusaKWindow` (``k``, the preset): part of a column, serving V virtual rows. The
window holds M weight slots (value, in-window index ⌈log2 V⌉ bits, valid), loaded by
shifting down the column while ``w_load`` is high. Each cycle MAC ``j`` selects the
activation of the virtual row its index names (a V:1 mux of a_bits), multiplies it by its
slot value, and the M products and the incoming partial sum are added into ONE registered
partial sum; the V activations are registered and passed right, as V dense PEs would.
Registers: V × a_bits activations, M × (w_bits + index + 1) slots, acc_bits partial sum.

:class:`VusaWindow` (``n``): part of a row, serving V virtual columns. Weight stationary,
like :class:`sod.rtl.pe.DenseMacPE` but for V columns at once: the
window holds M weight slots (value, in-window index ⌈log2 V⌉ bits, valid), loaded by
shifting down the column while ``w_load`` is high. Each cycle MAC ``j`` multiplies the row's
activation by its slot value and adds the product to the partial sum of the virtual column
its index names (a V:1 mux of the V incoming partial sums); each virtual column's output
takes the result of the MAC whose valid index names it, else its own partial sum passes
through (an (M+1):1 routing mux), and all V partial sums are registered, as V dense PEs
would. The compiler never gives two valid slots the same index. Registers: activation
(a_bits), M × (w_bits + index + 1) slots, V × acc_bits partial sums.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import check_widths


def index_bits(slots: int) -> int:
    return max(1, (slots - 1).bit_length())


def _check(slots: object, macs: object, a_bits: int, w_bits: int, acc_bits: int) -> None:
    check_widths(a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
    if not (isinstance(slots, int) and isinstance(macs, int) and 1 <= macs <= slots <= 64):
        raise RtlError(f"need 1 <= macs <= slots <= 64, got macs={macs!r} slots={slots!r}")
    if acc_bits < a_bits + w_bits:
        raise RtlError(f"acc_bits ({acc_bits}) must be at least a_bits + w_bits")


class VusaKWindow(wiring.Component):
    """``psum_out ← psum_in + Σ_j valid_j · a_in[idx_j] · w_j`` and ``a_out ← a_in`` (V
    activations); buses are flat: virtual row ``v`` is bits ``v·a_bits`` upward."""

    def __init__(
        self, slots: int = 5, macs: int = 3, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32
    ) -> None:
        _check(slots, macs, a_bits, w_bits, acc_bits)
        self.slots, self.macs = slots, macs
        self.a_bits, self.w_bits, self.acc_bits = a_bits, w_bits, acc_bits
        self.idx_bits = index_bits(slots)
        super().__init__(
            {
                "a_in": In(slots * a_bits),
                "a_out": Out(slots * a_bits),
                "w_load": In(1),
                "w_in": In(macs * w_bits),
                "idx_in": In(macs * self.idx_bits),
                "valid_in": In(macs),
                "w_out": Out(macs * w_bits),
                "idx_out": Out(macs * self.idx_bits),
                "valid_out": Out(macs),
                "psum_in": In(signed(acc_bits)),
                "psum_out": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        V, M, wb, ib, a_bits = self.slots, self.macs, self.w_bits, self.idx_bits, self.a_bits
        w, idx, valid = Signal(M * wb), Signal(M * ib), Signal(M)
        a = Signal(V * a_bits)
        psum = Signal(signed(self.acc_bits))
        with m.If(self.w_load):
            m.d.sync += [w.eq(self.w_in), idx.eq(self.idx_in), valid.eq(self.valid_in)]
        acts = Array([self.a_in[v * a_bits : (v + 1) * a_bits].as_signed() for v in range(V)])
        total = self.psum_in
        for j in range(M):
            chosen = Signal(signed(a_bits), name=f"act_sel{j}")
            product = Signal(signed(a_bits + wb), name=f"product{j}")
            m.d.comb += [
                chosen.eq(acts[idx[j * ib : (j + 1) * ib]]),
                product.eq(Mux(valid[j], chosen * w[j * wb : (j + 1) * wb].as_signed(), 0)),
            ]
            total = total + product
        m.d.sync += [a.eq(self.a_in), psum.eq(total)]
        m.d.comb += [
            self.a_out.eq(a),
            self.w_out.eq(w),
            self.idx_out.eq(idx),
            self.valid_out.eq(valid),
            self.psum_out.eq(psum),
        ]
        return m


class VusaWindow(wiring.Component):
    """``psum_out[v] ← psum_in[v] + a_in·w_j`` for the valid slot ``j`` indexed ``v``, else
    ``psum_in[v]``; buses are flat: column ``v`` is bits ``v·acc_bits`` upward."""

    def __init__(
        self, slots: int = 5, macs: int = 3, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32
    ) -> None:
        _check(slots, macs, a_bits, w_bits, acc_bits)
        self.slots, self.macs = slots, macs
        self.a_bits, self.w_bits, self.acc_bits = a_bits, w_bits, acc_bits
        self.idx_bits = index_bits(slots)
        super().__init__(
            {
                "a_in": In(signed(a_bits)),
                "a_out": Out(signed(a_bits)),
                "w_load": In(1),
                "w_in": In(macs * w_bits),
                "idx_in": In(macs * self.idx_bits),
                "valid_in": In(macs),
                "w_out": Out(macs * w_bits),
                "idx_out": Out(macs * self.idx_bits),
                "valid_out": Out(macs),
                "psum_in": In(slots * acc_bits),
                "psum_out": Out(slots * acc_bits),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        V, M, ab, wb, ib = self.slots, self.macs, self.acc_bits, self.w_bits, self.idx_bits
        w = Signal(M * wb)
        idx = Signal(M * ib)
        valid = Signal(M)
        a = Signal(signed(self.a_bits))
        out = Signal(V * ab)
        with m.If(self.w_load):
            m.d.sync += [w.eq(self.w_in), idx.eq(self.idx_in), valid.eq(self.valid_in)]
        m.d.sync += a.eq(self.a_in)
        psum = [self.psum_in[v * ab : (v + 1) * ab].as_signed() for v in range(V)]
        by_index = Array(psum)
        results = []
        for j in range(M):
            chosen = Signal(signed(ab), name=f"psum_sel{j}")
            result = Signal(signed(ab), name=f"mac{j}")
            m.d.comb += [
                chosen.eq(by_index[idx[j * ib : (j + 1) * ib]]),
                result.eq(chosen + self.a_in * w[j * wb : (j + 1) * wb].as_signed()),
            ]
            results.append(result)
        for v in range(V):
            col = Signal(signed(ab), name=f"col{v}")
            m.d.comb += col.eq(psum[v])
            for j in range(M):
                with m.If(valid[j] & (idx[j * ib : (j + 1) * ib] == v)):
                    m.d.comb += col.eq(results[j])
            m.d.sync += out[v * ab : (v + 1) * ab].eq(col)
        m.d.comb += [
            self.a_out.eq(a),
            self.w_out.eq(w),
            self.idx_out.eq(idx),
            self.valid_out.eq(valid),
            self.psum_out.eq(out),
        ]
        return m


class VusaWindowModel:
    """Golden model of :class:`VusaWindow` (numpy-free integer arithmetic, cycle by cycle)."""

    def __init__(self, slots: int, macs: int, a_bits: int = 8, w_bits: int = 8, acc_bits=32):
        self.V, self.M, self.wb, self.ab = slots, macs, w_bits, acc_bits
        self.ib = index_bits(slots)
        self.w = [0] * macs
        self.idx = [0] * macs
        self.valid = [0] * macs
        self.a = 0
        self.out = [0] * slots

    def _pack(self, values: list[int], bits: int) -> int:
        return sum((v & ((1 << bits) - 1)) << (i * bits) for i, v in enumerate(values))

    def _unpack(self, word: int, bits: int, count: int, signed_: bool) -> list[int]:
        vals = [(word >> (i * bits)) & ((1 << bits) - 1) for i in range(count)]
        if signed_:
            vals = [v - (1 << bits) if v >> (bits - 1) else v for v in vals]
        return vals

    def step(self, a_in, w_load, w_in, idx_in, valid_in, psum_in) -> dict:
        outputs = {
            "a_out": self.a,
            "psum_out": self._pack(self.out, self.ab),
            "w_out": self._pack(self.w, self.wb),
            "valid_out": self._pack(self.valid, 1),
        }
        psum = self._unpack(psum_in, self.ab, self.V, True)
        new = list(psum)
        for j in range(self.M):
            if self.valid[j] and self.idx[j] < self.V:
                new[self.idx[j]] = psum[self.idx[j]] + a_in * self.w[j]
        lim = 1 << self.ab
        self.out = [((x + lim // 2) % lim) - lim // 2 for x in new]
        self.a = a_in
        if w_load:
            self.w = self._unpack(w_in, self.wb, self.M, True)
            self.idx = self._unpack(idx_in, self.ib, self.M, False)
            self.valid = self._unpack(valid_in, 1, self.M, False)
        return outputs


class VusaKWindowModel(VusaWindowModel):
    """Golden model of :class:`VusaKWindow`."""

    def __init__(self, slots: int, macs: int, a_bits: int = 8, w_bits: int = 8, acc_bits=32):
        super().__init__(slots, macs, a_bits, w_bits, acc_bits)
        self.a_bits = a_bits
        self.acts = 0
        self.psum = 0

    def step(self, a_in, w_load, w_in, idx_in, valid_in, psum_in) -> dict:
        outputs = {
            "a_out": self.acts,
            "psum_out": self.psum,
            "w_out": self._pack(self.w, self.wb),
            "valid_out": self._pack(self.valid, 1),
        }
        acts = self._unpack(a_in, self.a_bits, self.V, True)
        total = psum_in + sum(
            acts[i] * w for i, w, ok in zip(self.idx, self.w, self.valid, strict=True)
            if ok and i < self.V
        )  # fmt: skip
        lim = 1 << self.ab
        self.psum = ((total + lim // 2) % lim) - lim // 2
        self.acts = a_in
        if w_load:
            self.w = self._unpack(w_in, self.wb, self.M, True)
            self.idx = self._unpack(idx_in, self.ib, self.M, False)
            self.valid = self._unpack(valid_in, 1, self.M, False)
        return outputs
