"""R×C weight-stationary systolic array: one :class:`DenseMacPE` module instantiated R×C times.

Row r receives activations at the left edge (``a_in[r]``, skewed by the caller: row r sees
``A[t - r, r]`` at cycle t), column c receives weights at the top (``w_in[c]``, shifted down
while ``w_load`` is high; after R load cycles row r holds the weight fed at load cycle
R-1-r) and delivers partial sums at the bottom (``psum_out[c]``). ``psum_in[c]`` enters at
the top: zero for a lone array, another array's output when arrays are cascaded along k
(and it keeps every PE general, so the area is exactly PE × R·C; the tests check a flat
synthesis of a small array against that).
"""

from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sod.rtl import RtlError
from sod.rtl.pe import DenseMacPE


class SystolicArray(wiring.Component):
    """Hierarchical R×C array of identical weight-stationary MAC PEs."""

    def __init__(
        self, rows: int, cols: int, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32
    ) -> None:
        for name, value in (("rows", rows), ("cols", cols)):
            if not isinstance(value, int) or not 1 <= value <= 1024:
                raise RtlError(f"{name} must be an integer in 1..1024, got {value!r}")
        self.rows, self.cols = rows, cols
        self.a_bits, self.w_bits, self.acc_bits = a_bits, w_bits, acc_bits
        super().__init__(
            {
                "a_in": In(data.ArrayLayout(signed(a_bits), rows)),
                "w_in": In(data.ArrayLayout(signed(w_bits), cols)),
                "w_load": In(1),
                "psum_in": In(data.ArrayLayout(signed(acc_bits), cols)),
                "psum_out": Out(data.ArrayLayout(signed(acc_bits), cols)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        pes = [
            [DenseMacPE(self.a_bits, self.w_bits, self.acc_bits) for _ in range(self.cols)]
            for _ in range(self.rows)
        ]
        for r in range(self.rows):
            for c in range(self.cols):
                pe = pes[r][c]
                m.submodules[f"pe_{r}_{c}"] = pe
                m.d.comb += [
                    pe.w_load.eq(self.w_load),
                    pe.a_in.eq(self.a_in[r] if c == 0 else pes[r][c - 1].a_out),
                    pe.w_in.eq(self.w_in[c] if r == 0 else pes[r - 1][c].w_out),
                    pe.psum_in.eq(self.psum_in[c] if r == 0 else pes[r - 1][c].psum_out),
                ]
        for c in range(self.cols):
            m.d.comb += self.psum_out[c].eq(pes[self.rows - 1][c].psum_out)
        return m
