"""One study point: a workload with a sparsity profile on one architecture, optionally sized
to an area budget and moved to another technology node — performance, area and energy.

This is what ``sod compare``, ``sod paper`` and every sweep point evaluate. The metrics are
:class:`sod.study.metrics.Metrics` (docs/metrics.md), computed once per point.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sod.arch.presets import load_arch
from sod.arch.spec import ArchBase
from sod.cost.area import BufferRule, ChipArea
from sod.cost.energy import EnergyBreakdown, energy
from sod.designs import arch_area, energy_table_for, size_for_budget
from sod.limits import DEFAULT_ACT_IMAGES
from sod.study.metrics import Metrics, latency_s
from sod.study.run import RunResult, run_arch
from sod.tech import load_technology
from sod.workload.gemm import Workload


@dataclass(frozen=True)
class PointResult:
    """Metrics of one point, the (sized) architecture, the run, its area and energy."""

    metrics: Metrics
    arch: ArchBase
    run: RunResult
    area: ChipArea
    energy: EnergyBreakdown

    @property
    def area_parts_um2(self) -> dict[str, float]:
        return dict(self.area.parts_um2)

    @property
    def energy_by_component_pj(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.energy.by_component.items()}

    @property
    def energy_by_operand_pj(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.energy.by_operand.items()}

    def to_frame(self) -> Any:
        """A pandas DataFrame with one row per GEMM (its shape, densities and counts)."""
        import pandas as pd

        rows = [
            {k: v for k, v in row.items() if not isinstance(v, dict)}
            for row in self.run.layer_rows()
        ]
        return pd.DataFrame(rows).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """The run (layers and totals) with the point's metrics, area and energy."""
        out = self.run.to_dict()
        out["total"] = {**out["total"], **self.metrics.to_row()}
        out["area_um2"] = self.area_parts_um2
        out["energy_pj"] = {
            "by_component": self.energy_by_component_pj,
            "by_operand": self.energy_by_operand_pj,
        }
        return out


@lru_cache(maxsize=16)
def sparse_workload(
    model: str,
    sparsity: str,
    seed: int,
    batch: int = 1,
    seq_len: int | None = None,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> Workload:
    """A workload with masks (cached: every architecture of a comparison shares it).

    ``model`` is any source :func:`sod.study.sources.load_any` takes by name: a zoo network,
    an ``.onnx``/``.csv``/Timeloop ``.yaml`` path, ``file.py:callable``, ``torchvision:NAME``.
    ``sparsity`` ``keep`` uses an imported network's own pruning; ``act_images``: distinct
    activation patterns, repeated over a larger batch (docs/large-batch.md)."""
    from sod.study.sources import load_any

    return load_any(
        model,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity or "none",
        seed=seed,
        act_images=act_images,
    ).workload


def size_arch(
    arch: ArchBase,
    budget_mm2: float | None,
    node_nm: int | None = None,
    pe_area_scale: float = 1.0,
    glb: BufferRule | None = None,
) -> tuple[ArchBase, ChipArea]:
    """The architecture (moved to ``node_nm``) resized to ``budget_mm2`` (iso-area), and its
    chip area. ``pe_area_scale`` scales the PE area before sizing (a sensitivity); ``glb``
    is the buffer rule (default: keep the architecture's GLB capacity)."""
    if node_nm is not None and node_nm != arch.node_nm:
        arch = arch.model_copy(update={"node_nm": node_nm})
    tech = load_technology(arch.node_nm)
    if budget_mm2 is None:
        return arch, arch_area(arch, tech)
    sizing = size_for_budget(arch, budget_mm2, glb, tech=tech, tile_area_scale=pe_area_scale)
    return sizing.arch, sizing.area


def price_run(run: RunResult, area: ChipArea) -> PointResult:
    """Energy and metrics of a run on a chip of ``area``."""
    arch = run.arch
    tech = load_technology(arch.node_nm)
    seconds = latency_s(run.total.cycles, arch.frequency_mhz)
    e = energy(
        run.total.actions,
        energy_table_for(arch, tech),
        time_s=seconds,
        leakage_mw=area.leakage_mw,
    )
    return PointResult(Metrics.of(run, area, e), arch, run, area, e)


def evaluate_run(
    workload: Workload,
    arch: ArchBase,
    budget_mm2: float | None = None,
    node_nm: int | None = None,
    pe_area_scale: float = 1.0,
    glb: BufferRule | None = None,
) -> PointResult:
    """Performance, area and energy of ``workload`` on ``arch`` (sized when budgeted).

    ``pe_area_scale`` scales the PE (tile) area before iso-area sizing — the sensitivity
    of the verdict to the sparse/dense PE area ratio: a cheaper PE buys more PEs."""
    arch, area = size_arch(arch, budget_mm2, node_nm, pe_area_scale, glb)
    return price_run(run_arch(workload, arch), area)


def evaluate_point(point: dict[str, Any]) -> dict[str, Any]:
    """A sweep point (``model, sparsity, seed, arch, budget_mm2, node_nm, batch, seq_len``)
    → flat metrics. Pure: the same point always gives the same numbers."""
    workload = sparse_workload(
        point["model"],
        point.get("sparsity", "dense"),
        int(point.get("seed", 0)),
        int(point.get("batch", 1)),
        point.get("seq_len"),
        int(point.get("act_images", DEFAULT_ACT_IMAGES)),
    )
    arch = load_arch(point["arch"])
    result = evaluate_run(workload, arch, point.get("budget_mm2"), point.get("node_nm"))
    return result.metrics.to_row()
