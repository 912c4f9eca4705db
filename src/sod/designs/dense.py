"""The dense (TPU-like) systolic array of int8 MAC PEs, operands stored dense."""

from __future__ import annotations

from typing import Any

from sod.arch.spec import Architecture
from sod.cost.area import BufferRule, ChipDescription, EdgeUnit
from sod.cost.pe_area import PeArea, pe_area
from sod.designs.base import Design, GridAxes
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm


class DenseDesign(Design):
    kind = "dense"
    spec = Architecture
    title = "dense systolic array (WS/OS/IS), operands stored dense"
    grid = GridAxes("array_rows", "array_cols")

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        # One code path for both systolic kinds: the dense array is Sparse-on-Dense with
        # nothing compressed (docs/design.md §6).
        from sod.models.sparse_on_dense import evaluate as evaluate_systolic

        return evaluate_systolic(gemm, arch)

    def edge_units(self, arch: Any, tech: Technology, pe_source: str) -> tuple[EdgeUnit, ...]:
        """Units on the array edges (none for the plain dense array)."""
        return ()

    def pe(self, arch: Any, tech: Technology, pe_source: str) -> PeArea:
        """One PE of the grid (systolic kinds built on this one override only this)."""
        vb, ab = arch.value_bits, arch.acc_bits
        return pe_area(tech, "dense_mac_pe", pe_source, a_bits=vb, w_bits=vb, acc_bits=ab)  # type: ignore[arg-type]

    def chip(
        self, arch: Any, tech: Technology, glb: BufferRule, pe_source: str, fixed_um2: float
    ) -> ChipDescription:
        pe = self.pe(arch, tech, pe_source)
        return ChipDescription(
            kind=self.kind,
            glb=glb,
            fixed_um2=fixed_um2,
            tile_area_um2=pe.area_um2,
            tile_source=pe.source,
            tile_extrapolated=pe.extrapolated,
            aspect=arch.array_cols / arch.array_rows,
            edge_units=self.edge_units(arch, tech, pe_source),
        )

    def operand_feed_bits(self, arch: Any, operand: str, edge_len: int) -> int:
        """GLB bits per cycle feeding ``operand`` into an edge of ``edge_len`` PEs."""
        return edge_len * arch.value_bits

    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """Both edges fed every cycle: activations into the rows, weights into the
        columns (WS/OS; IS swaps), the stationary operand's refill overlapping the stream
        (a peak, the systolic arrays' SCALE-Sim fill/stream/drain order aside)."""
        act_on_rows = str(arch.dataflow) != "is"
        rows, cols = arch.array_rows, arch.array_cols
        act_edge, w_edge = (rows, cols) if act_on_rows else (cols, rows)
        return self.operand_feed_bits(arch, "act", act_edge) + self.operand_feed_bits(
            arch, "weight", w_edge
        )

    def shape_text(self, arch: Any) -> str:
        flow = "best dataflow per layer" if arch.dataflow == "auto" else str(arch.dataflow).upper()
        return f"{arch.array_rows}x{arch.array_cols}, {flow}, {arch.timing} timing"
