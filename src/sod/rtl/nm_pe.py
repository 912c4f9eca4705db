"""The PE of an N:M structured-sparsity weight-stationary array, and a small array of them.

Organisation (decided here, used by the area model): ONE multiplier per PE, as in the dense
MAC PE (:class:`sod.rtl.pe.DenseMacPE`), so multipliers per area compare honestly. The PE
holds one kept weight and its ``log2(M)``-bit position in its group of M, receives the M
activations of that group along its row, multiplies the one its index selects (an M-to-1
mux on the activation path) and forwards all M to its right neighbour one cycle later.
N consecutive PE rows hold the N kept weights of one group and receive the same M
activations. Against the dense PE it adds: (M − 1)·a_bits activation pipeline registers,
the index register (and its load chain), and the mux. At int8/int32 and M = 4:
74 flip-flops (dense: 48).

:class:`NMSystolicArray` is R×C of these PEs (hierarchical, as :mod:`sod.rtl.array`): row r
takes ``a_in[r]`` (M activations, skewed by the caller), column c loads (value, index)
pairs from the top while ``w_load`` is high and delivers partial sums at the bottom.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import check_widths


def nm_index_bits(m_group: int) -> int:
    """Bits of a position in a group of ``m_group``: log2(M)."""
    if not isinstance(m_group, int) or m_group < 2 or m_group > 64 or m_group & (m_group - 1):
        raise RtlError(f"m_group must be a power of 2 in 2..64, got {m_group!r}")
    return (m_group - 1).bit_length()


class NMPE(wiring.Component):
    """``psum_out ← psum_in + a_in[idx]·w`` and ``a_out ← a_in`` (all M) each cycle;
    ``(w, idx) ← (w_in, idx_in)`` while ``w_load``."""

    def __init__(
        self, m_group: int = 4, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32
    ) -> None:
        check_widths(a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
        if acc_bits < a_bits + w_bits:
            raise RtlError(f"acc_bits ({acc_bits}) must be at least a_bits + w_bits")
        self.idx_bits = nm_index_bits(m_group)
        self.m_group, self.a_bits, self.w_bits, self.acc_bits = m_group, a_bits, w_bits, acc_bits
        vec = data.ArrayLayout(signed(a_bits), m_group)
        super().__init__(
            {
                "a_in": In(vec),
                "w_in": In(signed(w_bits)),
                "idx_in": In(unsigned(self.idx_bits)),
                "w_load": In(1),
                "psum_in": In(signed(acc_bits)),
                "a_out": Out(vec),
                "w_out": Out(signed(w_bits)),
                "idx_out": Out(unsigned(self.idx_bits)),
                "psum_out": Out(signed(acc_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        w = Signal(signed(self.w_bits))
        idx = Signal(unsigned(self.idx_bits))
        a = Signal(data.ArrayLayout(signed(self.a_bits), self.m_group))
        psum = Signal(signed(self.acc_bits))
        picked = Signal(signed(self.a_bits))
        m.d.comb += picked.eq(self.a_in[idx])  # the M-to-1 activation mux
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


class NMSystolicArray(wiring.Component):
    """Hierarchical R×C array of :class:`NMPE` (N is the caller's mapping: which rows
    receive the same group of activations)."""

    def __init__(
        self,
        rows: int,
        cols: int,
        m_group: int = 4,
        a_bits: int = 8,
        w_bits: int = 8,
        acc_bits: int = 32,
    ) -> None:
        for name, value in (("rows", rows), ("cols", cols)):
            if not isinstance(value, int) or not 1 <= value <= 1024:
                raise RtlError(f"{name} must be an integer in 1..1024, got {value!r}")
        self.idx_bits = nm_index_bits(m_group)
        self.rows, self.cols, self.m_group = rows, cols, m_group
        self.a_bits, self.w_bits, self.acc_bits = a_bits, w_bits, acc_bits
        vec = data.ArrayLayout(signed(a_bits), m_group)
        super().__init__(
            {
                "a_in": In(data.ArrayLayout(vec, rows)),
                "w_in": In(data.ArrayLayout(signed(w_bits), cols)),
                "idx_in": In(data.ArrayLayout(unsigned(self.idx_bits), cols)),
                "w_load": In(1),
                "psum_out": Out(data.ArrayLayout(signed(acc_bits), cols)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        pes = [
            [NMPE(self.m_group, self.a_bits, self.w_bits, self.acc_bits) for _ in range(self.cols)]
            for _ in range(self.rows)
        ]
        for r in range(self.rows):
            for c in range(self.cols):
                pe = pes[r][c]
                m.submodules[f"pe_{r}_{c}"] = pe
                top = r == 0
                m.d.comb += [
                    pe.w_load.eq(self.w_load),
                    pe.a_in.eq(self.a_in[r] if c == 0 else pes[r][c - 1].a_out),
                    pe.w_in.eq(self.w_in[c] if top else pes[r - 1][c].w_out),
                    pe.idx_in.eq(self.idx_in[c] if top else pes[r - 1][c].idx_out),
                    pe.psum_in.eq(0 if top else pes[r - 1][c].psum_out),
                ]
        for c in range(self.cols):
            m.d.comb += self.psum_out[c].eq(pes[self.rows - 1][c].psum_out)
        return m
