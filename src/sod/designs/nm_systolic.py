"""The N:M structured-sparsity systolic array: a weight-stationary array whose PEs hold
one N:M-compressed (value, index) pair and an M-to-1 activation mux (STA / S2TA-DBB /
NVIDIA sparse tensor core style)."""

from __future__ import annotations

from typing import Any

from sod.arch.structured import NMSystolicArch
from sod.cost.pe_area import PeArea, pe_area
from sod.designs.dense import DenseDesign
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm


class NMSystolicDesign(DenseDesign):
    kind = "nm_systolic"
    spec = NMSystolicArch
    title = "weight-stationary systolic array, N:M weights + M-to-1 activation mux per PE"

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        from sod.models.nm_systolic import evaluate as evaluate_nm

        return evaluate_nm(gemm, arch)

    def pe(self, arch: Any, tech: Technology, pe_source: str) -> PeArea:
        vb, ab = arch.value_bits, arch.acc_bits
        return pe_area(
            tech,
            "nm_pe",
            pe_source,  # type: ignore[arg-type]
            a_bits=vb,
            w_bits=vb,
            acc_bits=ab,
            m_group=arch.m_group,
        )

    def operand_feed_bits(self, arch: Any, operand: str, edge_len: int) -> int:
        """Activations: each group of N rows takes M activations per cycle (M/N x the
        dense feed); weights: values and their log2(M)-bit indices."""
        if operand == "act":
            groups = edge_len // arch.n_keep
            return int(groups * arch.m_group * arch.value_bits)
        return int(edge_len * (arch.value_bits + arch.index_bits))

    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        kw = super().energy_params(arch, tech)
        if not arch.zero_gating:
            kw["mac_gated_fraction"] = 1.0
        return kw

    def shape_text(self, arch: Any) -> str:
        return (
            f"{arch.array_rows}x{arch.array_cols}, WS, {arch.n_keep}:{arch.m_group} weights, "
            f"{arch.timing} timing"
        )
