"""SparTen (Gondimalla et al., MICRO 2019): bitmask inner join with prefix sums, clusters
of asynchronous compute units, greedy load balancing."""

from __future__ import annotations

from typing import Any

from sod.arch.sparse import SparTenArch
from sod.cost.area import BufferRule, ChipDescription
from sod.cost.pe_area import pe_area
from sod.designs.base import Design, GridAxes
from sod.designs.search import best_mapping, oriented_candidates
from sod.mapping.sparten import mapping_candidates
from sod.models.common import Counts
from sod.tech import Technology
from sod.workload.gemm import Gemm


def stored_bits(arch: Any, nnz: int, elements: int, fibers: int) -> float:
    """One bitmask bit per element + the values of the non-zeros."""
    return elements + nnz * arch.value_bits


class SparTenDesign(Design):
    kind = "sparten"
    spec = SparTenArch
    title = "SparTen: bitmask inner join with prefix sums, clusters of compute units"
    # Clusters x units per cluster, both free at iso-area (equal clusters of any size):
    # the model takes any units_per_cluster, and whole clusters of 32 units left up to a
    # cluster's area (~16 % of 4 mm²) unused. The spec's cluster shape is the tie-break.
    grid = GridAxes("clusters", "units_per_cluster")

    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        """The best of the mappings the hardware supports for this layer
        (:func:`sod.mapping.sparten.mapping_candidates`), by
        :func:`sod.designs.search.best_mapping`; a transposed mapping runs the model on
        ``Oᵀ = Wᵀ·Aᵀ`` (:func:`sod.models.accelerators.transposed`)."""
        from sod.models.sparten import evaluate_sparten

        candidates = mapping_candidates(arch)
        return best_mapping(
            self, oriented_candidates(gemm, candidates, evaluate_sparten, stored_bits)
        )

    def chip(
        self, arch: Any, tech: Technology, glb: BufferRule, pe_source: str, fixed_um2: float
    ) -> ChipDescription:
        pe = pe_area(
            tech,
            "bitmask_join_pe",
            pe_source,  # type: ignore[arg-type]
            chunk=arch.chunk_bits,
            value_bits=arch.value_bits,
            acc_bits=arch.acc_bits,
        )
        return ChipDescription(
            kind=self.kind,
            glb=glb,
            fixed_um2=fixed_um2,
            tile="compute unit",
            tile_area_um2=pe.area_um2,
            tile_source=pe.source,
            tile_extrapolated=pe.extrapolated,
            aspect=arch.units_per_cluster / arch.clusters,
        )

    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """Each cluster's broadcast input: a ``chunk_bits`` mask and its values, at most
        one chunk per cycle (a chunk with at most one match), one value per cycle beyond
        (filters stay in the compute units' buffers)."""
        return int(arch.clusters * (arch.chunk_bits + arch.value_bits))

    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        kw = super().energy_params(arch, tech)
        kw["prefix_chunk"] = arch.chunk_bits
        return kw

    def shape_text(self, arch: Any) -> str:
        return f"{arch.clusters} clusters x {arch.units_per_cluster} units"
