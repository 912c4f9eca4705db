"""SCNN (Parashar et al., ISCA 2017): a grid of PEs, each an F×I Cartesian-product
multiplier array with accumulator banks behind a scatter crossbar."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial
from typing import Any

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.cost.area import BufferRule, ChipDescription
from sod.cost.pe import scnn_pe
from sod.cost.pe_area import pe_area
from sod.designs.base import Design, GridAxes
from sod.designs.search import best_mapping
from sod.mapping.scnn import mapping_candidates
from sod.models.accelerators import evaluate_accelerator
from sod.models.common import Counts
from sod.models.operands import operand_masks
from sod.tech import Technology, sram_cost
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def stored_bits(arch: Any, nnz: int, elements: int, fibers: int) -> float:
    """Values + an ``index_bits`` zero-run index per non-zero (weights and inputs)."""
    return nnz * (arch.value_bits + arch.index_bits)


class SCNNDesign(Design):
    kind = "scnn"
    spec = SCNNArch
    title = "SCNN: F×I Cartesian-product PEs, scatter crossbar, accumulator banks"
    grid = GridAxes("pe_rows", "pe_cols")

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        """The best of the mappings SCNN supports for this layer
        (:func:`sod.mapping.scnn.mapping_candidates`: direct or polyphase strided convs,
        plane or channel-split FC layers), by :func:`sod.designs.search.best_mapping`."""
        from sod.models.scnn import evaluate_scnn
        from sod.models.scnn_banks import WEIGHT_BITS

        # The candidates run the same GEMM's masks: unpacked once, and their weight-only
        # tables (group counts) computed once, for this call only.
        shared: dict[Hashable, np.ndarray] = {}
        wm = gemm.weight_mask
        if isinstance(wm, BitMask) and wm.shape == (gemm.k, gemm.n):
            shared[WEIGHT_BITS] = wm.packed  # the same mask, bit-packed
        compute = partial(evaluate_scnn, shared=shared)
        cands = mapping_candidates(gemm, arch)
        masks = operand_masks(gemm, tiled=True) if len(cands) > 1 else None
        return best_mapping(
            self,
            [
                (
                    label,
                    cand,
                    partial(evaluate_accelerator, gemm, cand, compute, stored_bits, masks),
                )
                for label, cand in cands
            ],
        )

    def _local_sram_port_bits(self, arch: Any) -> int:
        return arch.mult_i * (arch.value_bits + 8)

    def chip(
        self, arch: Any, tech: Technology, glb: BufferRule, pe_source: str, fixed_um2: float
    ) -> ChipDescription:
        params = {
            "f": arch.mult_f,
            "i": arch.mult_i,
            "acc_banks": arch.accumulator_banks,
            "value_bits": arch.value_bits,
            "acc_bits": arch.accumulator_bits,  # SCNN: 24-bit banks (its paper)
            "acc_entries": arch.accumulator_entries,
            "iaram_bytes": arch.iaram_bytes,
            "oaram_bytes": arch.oaram_bytes,
        }
        # Synthesized core + accumulator banks (rtl/scnn_pe.py) with the composed weight
        # FIFO and the CACTI IARAM/OARAM macros; the composition where not synthesized.
        pe = pe_area(tech, "scnn_pe", pe_source, **params)  # type: ignore[arg-type]
        comp = scnn_pe(tech, **params)  # type: ignore[arg-type]
        sram = sum(p.total_area_um2 for p in comp.parts if p.kind == "sram")
        port = self._local_sram_port_bits(arch)
        leak = sum(
            sram_cost(tech, b, port).leakage_mw for b in (arch.iaram_bytes, arch.oaram_bytes)
        )
        return ChipDescription(
            kind=self.kind,
            glb=glb,
            fixed_um2=fixed_um2,
            tile_area_um2=pe.area_um2,
            tile_sram_area_um2=sram,
            tile_sram_leakage_mw=leak,
            tile_source=pe.source,
            tile_extrapolated=pe.extrapolated,
            pes_per_tile=arch.mult_f * arch.mult_i,
            aspect=arch.pe_cols / arch.pe_rows,
        )

    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """F (value + index) weights broadcast to every PE per cycle, plus one I-wide
        activation vector (IARAM refills; a PE re-reads its tile once per output-channel
        group, amortized over the group's weight vectors)."""
        word = arch.value_bits + arch.index_bits
        return int((arch.mult_f + arch.mult_i) * word)

    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        kw = super().energy_params(arch, tech)
        # The scatter crossbar and accumulator banks carry accumulator_bits words.
        kw["acc_bits"] = arch.accumulator_bits
        kw["crossbar_inputs"] = arch.mult_f * arch.mult_i
        kw["crossbar_outputs"] = arch.accumulator_banks
        # IARAM and OARAM accesses priced by the IARAM's macro (equal sizes by default).
        kw["local_sram"] = sram_cost(tech, arch.iaram_bytes, self._local_sram_port_bits(arch))
        return kw

    def shape_text(self, arch: Any) -> str:
        return f"{arch.pe_rows}x{arch.pe_cols} PEs of {arch.mult_f}x{arch.mult_i} multipliers"
