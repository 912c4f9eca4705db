"""One study point: a workload with a sparsity profile on one architecture, optionally sized
to an area budget and moved to another technology node — performance, area and energy.

This is what ``sod compare``, ``sod paper`` and every sweep point evaluate. Metrics are
defined once here (and in docs/metrics.md):

* ``effective_gops``: dense-equivalent operations (2 × dense MACs) per second, /1e9;
* ``gops_per_mm2``: effective throughput per mm² of chip area (throughput/area);
* ``gops_per_w``: effective operations per joule / 1e9 (= GOP/s per W: energy efficiency);
* ``energy_per_inference_uj``: energy of one pass of the workload (batch included);
* ``effective_utilization``: effectual MACs / (PEs × cycles), never above 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sod.arch.presets import load_arch
from sod.arch.spec import ArchBase
from sod.study.run import RunResult, run_arch
from sod.workload.gemm import Workload
from sod.workload.zoo import get_model


@dataclass(frozen=True)
class PointResult:
    """Metrics of one point, and the run behind them."""

    metrics: dict[str, Any]
    arch: ArchBase
    run: RunResult
    area_parts_um2: dict[str, float] = field(default_factory=dict)
    energy_by_component_pj: dict[str, float] = field(default_factory=dict)
    energy_by_operand_pj: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=16)
def sparse_workload(
    model: str, sparsity: str, seed: int, batch: int = 1, seq_len: int | None = None
) -> Workload:
    """A zoo network with masks (cached: every architecture of a comparison shares it)."""
    workload = get_model(model, batch=batch, seq_len=seq_len)
    if sparsity in ("", "none"):
        return workload
    from sod.sparsity.apply import apply_sparsity

    return apply_sparsity(workload, sparsity, seed=seed)


def size_arch(
    arch: ArchBase, budget_mm2: float | None, node_nm: int | None = None
) -> tuple[ArchBase, Any]:
    """The architecture resized to ``budget_mm2`` (iso-area), and its chip area."""
    from sod.cost.area import arch_area
    from sod.cost.sizing import size_for_budget
    from sod.tech import load_technology

    if node_nm is not None and node_nm != arch.node_nm:
        arch = arch.model_copy(update={"node_nm": node_nm})
    tech = load_technology(arch.node_nm)
    if budget_mm2 is None:
        return arch, arch_area(arch, tech)
    sizing = size_for_budget(arch, budget_mm2, tech=tech)
    return sizing.arch, sizing.area


def evaluate_run(
    workload: Workload, arch: ArchBase, budget_mm2: float | None = None, node_nm: int | None = None
) -> PointResult:
    """Performance, area and energy of ``workload`` on ``arch`` (sized when budgeted)."""
    from sod.cost.energy import energy, energy_table_for
    from sod.tech import load_technology

    arch, area = size_arch(arch, budget_mm2, node_nm)
    run = run_arch(workload, arch)
    tech = load_technology(arch.node_nm)
    actions: dict[str, float] = {}
    for layer in run.layers:
        for key, value in layer.get("actions", {}).items():
            actions[key] = actions.get(key, 0.0) + value
    seconds = run.total["cycles"] / (arch.frequency_mhz * 1e6)
    e = energy(actions, energy_table_for(arch, tech), time_s=seconds, leakage_mw=area.leakage_mw)
    total_pj = float(e.total_pj)
    ops = 2 * run.total["macs"]
    area_mm2 = area.total_mm2
    metrics: dict[str, Any] = {
        "workload": workload.name,
        "arch": arch.name,
        "kind": arch.kind,
        "pes": arch.pe_count,
        "glb_kib": arch.glb_kib,
        "node_nm": arch.node_nm,
        "area_mm2": area_mm2,
        "cycles": run.total["cycles"],
        "stall_cycles": run.total["stall_cycles"],
        "latency_ms": seconds * 1e3,
        "macs": run.total["macs"],
        "macs_effectual": run.total.get("macs_effectual", run.total["macs"]),
        "effective_gops": ops / seconds / 1e9,
        "gops_per_mm2": ops / seconds / 1e9 / area_mm2,
        "energy_per_inference_uj": total_pj / 1e6,
        "gops_per_w": ops / (total_pj * 1e-12) / 1e9,
        "utilization": run.total["utilization"],
        "effective_utilization": run.total.get("effective_utilization", run.total["utilization"]),
        "dram_mbytes": run.total.get("dram_bits", 0.0) / 8e6,
        "leakage_share": float(e.leakage_pj) / total_pj if total_pj else 0.0,
    }
    if arch.kind == "sparse_on_dense":
        decomp = sum(v for k, v in area.parts_um2.items() if "decompress" in k)
        metrics["decompressor_area_share"] = decomp / area.total_um2
    return PointResult(
        metrics,
        arch,
        run,
        dict(area.parts_um2),
        {k: float(v) for k, v in e.by_component.items()},
        {k: float(v) for k, v in e.by_operand.items()},
    )


def evaluate_point(point: dict[str, Any]) -> dict[str, Any]:
    """A sweep point (``model, sparsity, seed, arch, budget_mm2, node_nm, batch, seq_len``)
    → flat metrics. Pure: the same point always gives the same numbers."""
    workload = sparse_workload(
        point["model"],
        point.get("sparsity", "dense"),
        int(point.get("seed", 0)),
        int(point.get("batch", 1)),
        point.get("seq_len"),
    )
    arch = load_arch(point["arch"])
    result = evaluate_run(workload, arch, point.get("budget_mm2"), point.get("node_nm"))
    return result.metrics


def evaluate_run_scaled(
    workload: Workload,
    arch: ArchBase,
    budget_mm2: float,
    pe_area_scale: float,
    node_nm: int | None = None,
) -> PointResult:
    """Like :func:`evaluate_run`, with the architecture's PE (tile) area scaled by
    ``pe_area_scale`` before iso-area sizing — the sensitivity of the verdict to the
    sparse/dense PE area ratio. The chip is re-sized, so a cheaper sparse PE buys more PEs.
    """
    from sod.cost.area import describe
    from sod.cost.sizing import size_description
    from sod.tech import load_technology

    if node_nm is not None and node_nm != arch.node_nm:
        arch = arch.model_copy(update={"node_nm": node_nm})
    tech = load_technology(arch.node_nm)
    desc = describe(arch, tech)
    desc = desc.model_copy(update={"tile_area_um2": desc.tile_area_um2 * pe_area_scale})
    sizing = size_description(desc, tech, budget_mm2)
    shape = {
        "dense": ("array_rows", "array_cols"),
        "sparse_on_dense": ("array_rows", "array_cols"),
        "scnn": ("pe_rows", "pe_cols"),
        "index_match": ("pe_rows", "pe_cols"),
        "sparten": ("clusters", None),
    }[arch.kind]
    update: dict[str, Any] = {shape[0]: sizing.rows}
    if shape[1]:
        update[shape[1]] = sizing.cols
    resized = arch.model_copy(update=update)
    result = evaluate_run(workload, resized, None, None)
    metrics = {**result.metrics, "area_mm2": sizing.area.total_mm2}
    seconds = metrics["latency_ms"] / 1e3
    metrics["gops_per_mm2"] = 2 * metrics["macs"] / seconds / 1e9 / sizing.area.total_mm2
    return PointResult(
        metrics,
        resized,
        result.run,
        dict(sizing.area.parts_um2),
        result.energy_by_component_pj,
        result.energy_by_operand_pj,
    )
