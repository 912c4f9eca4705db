"""What an architecture kind *is*: one :class:`Design` per kind.

A design owns everything that differs between kinds — its spec class, how it evaluates a
GEMM (storage format and memory system included), how its chip is described for the area
model, the configuration numbers of its energy table, which spec fields size its grid —
so the cost models (:mod:`sod.cost`) and the studies (:mod:`sod.study`) stay kind-agnostic.
Adding a kind is one spec, one model, one design module (registered in
:mod:`sod.designs.registry`) and its tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from sod.arch.spec import ArchBase
from sod.cost.area import BufferRule, ChipDescription
from sod.models.common import Counts
from sod.tech import Technology, sram_cost
from sod.workload.gemm import Gemm


@dataclass(frozen=True)
class GridAxes:
    """The spec fields that set the size of a design's PE grid (``cols`` None: 1-D)."""

    rows: str
    cols: str | None = None


class Design(ABC):
    """One architecture kind. Instances are stateless; the registry holds one each."""

    kind: ClassVar[str]
    spec: ClassVar[type[ArchBase]]
    title: ClassVar[str]  # one line for listings
    grid: ClassVar[GridAxes]

    # ------------------------------------------------------------------ performance
    @abstractmethod
    def evaluate(self, gemm: Gemm, arch: Any) -> Counts:
        """Counts of one GEMM (all repeats) on ``arch``: compute, the design's storage
        format and the shared memory system. The GLB port bound is added by the registry
        (:func:`sod.designs.evaluate`), identically for every kind."""

    # ------------------------------------------------------------------ area
    @abstractmethod
    def chip(
        self, arch: Any, tech: Technology, glb: BufferRule, pe_source: str, fixed_um2: float
    ) -> ChipDescription:
        """The kind-agnostic :class:`ChipDescription` the area model and sizer work on."""

    # ------------------------------------------------------------------ energy
    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        """Keyword arguments of :func:`sod.cost.energy.action_energies` for ``arch``.

        The common part (word widths, GLB macro, DRAM kind); kinds add theirs."""
        return {
            "value_bits": arch.value_bits,
            "acc_bits": arch.acc_bits,
            "idx_bits": getattr(arch, "index_bits", None) or 8,
            # One access reads one bank (capacity / banks) through its own port. A bank
            # split into interleaved sub-banks (sod.cost.area.glb_arrays) is still priced
            # as the whole bank's macro: its routing spans the bank.
            "glb": sram_cost(
                tech,
                arch.glb_kib * 1024 / arch.glb_banks,
                arch.glb_read_width_bits,
                arch.glb_cell,
            ),
            "dram_kind": arch.dram_kind,
        }

    # ------------------------------------------------------------------ GLB bandwidth
    def glb_bandwidth_bits_per_cycle(self, arch: Any) -> int:
        """Bits per cycle the PE array reads from the GLB when every PE runs at full
        rate (an estimate from the design's dataflow; docs/cost.md). The GLB needs
        ``ceil(need / glb_read_width_bits)`` banks to supply it
        (:func:`sod.designs.glb_banks_for_need`). Default: what the spec provisions."""
        return int(arch.glb_banks * arch.glb_read_width_bits)

    # ------------------------------------------------------------------ sizing
    def shape(self, arch: Any) -> tuple[int, int]:
        """(rows, cols) of the PE grid as specified (cols = 1 for a 1-D grid)."""
        rows = int(getattr(arch, self.grid.rows))
        cols = int(getattr(arch, self.grid.cols)) if self.grid.cols else 1
        return rows, cols

    def resized(self, arch: Any, rows: int, cols: int, glb_kib: float | None = None) -> Any:
        """``arch`` with its grid (and GLB, when given) set to a new size."""
        update: dict[str, Any] = {self.grid.rows: int(rows)}
        if self.grid.cols:
            update[self.grid.cols] = int(cols)
        if glb_kib is not None and glb_kib > 0:
            update["glb_kib"] = float(glb_kib)
        return arch.model_copy(update=update)

    def shape_text(self, arch: Any) -> str:
        """A short human description of the grid (``32x32``, ``8x8 PEs``...)."""
        rows, cols = self.shape(arch)
        return f"{rows}x{cols}" if self.grid.cols else f"{rows}"
