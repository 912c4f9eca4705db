"""The column-combining (Sparse-TPU style) systolic array: packed sparse weights on a
weight-stationary array whose PEs keep (value, member index) and mux their activation
from a ``max_combine``-wide row feed (:mod:`sod.models.column_combining`)."""

from __future__ import annotations

from typing import Any

from sod.arch.packing import ColumnCombiningArch
from sod.cost.pe_area import PeArea, pe_area
from sod.designs.dense import DenseDesign
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm


class ColumnCombiningDesign(DenseDesign):
    kind = "column_combining"
    spec = ColumnCombiningArch
    title = "column-combining systolic array (Sparse-TPU style): packed weights, g-to-1 muxes"

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        from sod.models.column_combining import evaluate_column_combining

        return evaluate_column_combining(gemm, arch)

    def pe(self, arch: Any, tech: Technology, pe_source: str) -> PeArea:
        vb = arch.value_bits
        return pe_area(
            tech,
            "cc_pe",
            pe_source,  # type: ignore[arg-type]
            a_bits=vb,
            w_bits=vb,
            acc_bits=arch.acc_bits,
            combine=arch.max_combine,
        )

    def operand_feed_bits(self, arch: Any, operand: str, edge_len: int) -> int:
        """Activations: ``max_combine`` values per row per cycle; weights: value + member
        index per column."""
        if operand == "act":
            return int(edge_len * arch.max_combine * arch.value_bits)
        return int(edge_len * (arch.value_bits + arch.member_index_bits))

    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        kw = super().energy_params(arch, tech)
        kw["act_mux_inputs"] = arch.max_combine
        if not arch.zero_gating:
            kw["mac_gated_fraction"] = 1.0
        return kw

    def shape_text(self, arch: Any) -> str:
        return (
            f"{arch.array_rows}x{arch.array_cols}, WS, {arch.timing} timing, "
            f"combine {arch.max_combine}"
        )
