"""A comparator-based CSR-intersection PE array (SNAP/SPRITE-like)."""

from __future__ import annotations

from typing import Any

from sod.arch.sparse import IndexMatchArch
from sod.cost.area import BufferRule, ChipDescription
from sod.cost.pe_area import pe_area
from sod.designs.base import Design, GridAxes
from sod.designs.search import best_mapping, oriented_candidates
from sod.mapping.index_match import mapping_candidates
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm

POINTER_BITS = 32  # one CSR pointer per fiber


def stored_bits(arch: Any, nnz: int, elements: int, fibers: int) -> float:
    """CSR: values + an ``index_bits`` index per non-zero + a pointer per fiber."""
    return nnz * (arch.value_bits + arch.index_bits) + fibers * POINTER_BITS


class IndexMatchDesign(Design):
    kind = "index_match"
    spec = IndexMatchArch
    title = "comparator-based CSR-intersection PEs (SNAP/SPRITE-like)"
    grid = GridAxes("pe_rows", "pe_cols")

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        """The best of the mappings the hardware supports for this layer
        (:func:`sod.mapping.index_match.mapping_candidates`), by
        :func:`sod.designs.search.best_mapping`; a transposed mapping runs the model on
        ``Oᵀ = Wᵀ·Aᵀ`` (:func:`sod.models.accelerators.transposed`)."""
        from sod.models.index_match import evaluate_index_match

        # Indices must address every position of a fiber (a row of A, a column of W).
        arch.check_fiber_length(gemm.k)
        candidates = mapping_candidates(arch)
        return best_mapping(
            self, oriented_candidates(gemm, candidates, evaluate_index_match, stored_bits)
        )

    def chip(
        self, arch: Any, tech: Technology, glb: BufferRule, pe_source: str, fixed_um2: float
    ) -> ChipDescription:
        window = arch.window
        pe = pe_area(
            tech,
            "csr_match_pe",
            pe_source,  # type: ignore[arg-type]
            fifo_depth=arch.fifo_depth,
            comparators=window * window,
            w_window=window,
            idx_bits=arch.index_bits,
            value_bits=arch.value_bits,
            acc_bits=arch.acc_bits,
        )
        return ChipDescription(
            kind=self.kind,
            glb=glb,
            fixed_um2=fixed_um2,
            tile_area_um2=pe.area_um2,
            tile_source=pe.source,
            tile_extrapolated=pe.extrapolated,
            pes_per_tile=window,
            tile=f"PE ({window} multipliers)",
            aspect=arch.pe_cols / arch.pe_rows,
        )

    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """Activation fibers into the rows and weight fibers into the columns, a window
        of ``window`` (index, value) entries per edge PE per cycle."""
        word = arch.value_bits + arch.index_bits
        return int((arch.pe_rows + arch.pe_cols) * arch.window * word)

    def shape_text(self, arch: Any) -> str:
        return f"{arch.pe_rows}x{arch.pe_cols} PEs, window {arch.window}"
