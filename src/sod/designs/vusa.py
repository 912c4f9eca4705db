"""VUSA: a weight-stationary array whose windows of M MACs serve V virtual PEs each, so the
array grows virtually with the unstructured sparsity of the loaded weights
(:mod:`sod.arch.vusa`, :mod:`sod.models.vusa`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sod.arch.vusa import VUSAArch
from sod.cost.pe_area import PeArea, pe_area
from sod.designs.dense import DenseDesign
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm


class VUSADesign(DenseDesign):
    kind = "vusa"
    spec = VUSAArch
    title = "VUSA: WS systolic array, windows of M MACs serving V virtual PEs (sparse weights)"

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        from sod.models.vusa import evaluate as evaluate_vusa

        return evaluate_vusa(gemm, arch)

    def pe(self, arch: Any, tech: Technology, pe_source: str) -> PeArea:
        """The grid is the physical MACs; a tile is one MAC's share of its window (the
        synthesized window of :mod:`sod.rtl.vusa_pe` ÷ M)."""
        vb, ab, M = arch.value_bits, arch.acc_bits, arch.window_macs
        window = pe_area(
            tech,
            f"vusa_{arch.window_axis}window",
            pe_source,  # type: ignore[arg-type]
            slots=arch.window_slots,
            macs=M,
            a_bits=vb,
            w_bits=vb,
            acc_bits=ab,
        )
        return replace(
            window,
            area_um2=window.area_um2 / M,
            cell_area_um2=window.cell_area_um2 / M,
            source=f"{window.source} / {M} MACs",
        )

    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """Activations into the (virtual) rows: ``R·V/M`` of them when the windows run
        along k, ``R`` along n; weights (value + in-window index) into the ``C`` columns."""
        rows = arch.virtual_shape[0]
        return int(rows * arch.value_bits + arch.array_cols * (arch.value_bits + arch.index_bits))

    def shape_text(self, arch: Any) -> str:
        vr, vc = arch.virtual_shape
        return (
            f"{arch.array_rows}x{arch.array_cols} MACs, {arch.window_macs} MACs per "
            f"{arch.window_slots} virtual PEs along {arch.window_axis} (up to {vr}x{vc}), "
            f"WS, {arch.timing} timing"
        )
