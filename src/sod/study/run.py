"""Evaluate one workload on one architecture: per-layer rows and totals.

This is the glue the ``sod run`` command and the studies share. It stays free of any
terminal or file I/O; :mod:`sod.report` renders what it returns.

Metrics (defined once, here and in docs/metrics.md):

* effective throughput = dense-equivalent operations (2 × dense MACs) per second;
* utilization = MACs the hardware issues per PE-cycle;
* effective utilization = effectual MACs (both operands non-zero) per PE-cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sod.arch.spec import ArchBase, Architecture
from sod.models import evaluate
from sod.models.dense import evaluate_dense
from sod.workload.gemm import Workload


@dataclass(frozen=True)
class RunResult:
    """Per-layer results (one dict per GEMM) and totals of one workload on one architecture."""

    workload: str
    arch: dict[str, Any]
    layers: list[dict[str, Any]]
    total: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # area / energy breakdowns

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "arch": self.arch,
            "layers": self.layers,
            "total": self.total,
            **self.extra,
            "notes": self.notes,
        }


def _totals(
    layers: list[dict[str, Any]], pes: int, frequency_mhz: float, weights: int
) -> dict[str, Any]:
    cycles = sum(x["cycles"] for x in layers)
    macs = sum(x["macs"] for x in layers)
    seconds = cycles / (frequency_mhz * 1e6)
    total: dict[str, Any] = {
        "layers": len(layers),
        "macs": macs,
        "weights": weights,
        "compute_cycles": sum(x["compute_cycles"] for x in layers),
        "stall_cycles": sum(x["stall_cycles"] for x in layers),
        "cycles": cycles,
        "utilization": sum(x.get("macs_issued", x["macs"]) for x in layers) / (pes * cycles),
        "latency_ms": seconds * 1e3,
        # Effective throughput: dense-equivalent operations (2 × dense MACs) per second.
        "effective_gops": 2 * macs / seconds / 1e9,
    }
    if all("macs_effectual" in x for x in layers):
        total["macs_effectual"] = sum(x["macs_effectual"] for x in layers)
        total["effective_utilization"] = total["macs_effectual"] / (pes * cycles)
    for key in ("dram_bits", "glb_bits"):
        if all(key in x for x in layers):
            total[key] = sum(x[key] for x in layers)
    return total


def run_dense(workload: Workload, arch: Architecture) -> RunResult:
    """Dense array, ideal memory: SCALE-Sim's compute cycles per layer (vectorized)."""
    shapes = workload.shapes()
    counts = evaluate_dense(
        shapes["m"], shapes["k"], shapes["n"], arch.array_rows, arch.array_cols, arch.dataflow
    )
    repeat = shapes["repeat"]
    compute = counts.compute_cycles * repeat
    macs = counts.macs * repeat
    pes = arch.pe_count
    layers = [
        {
            "name": g.name,
            "kind": str(g.kind),
            "m": g.m,
            "k": g.k,
            "n": g.n,
            "repeat": g.repeat,
            "macs": int(macs[i]),
            "folds": int(counts.folds[i] * repeat[i]),
            "compute_cycles": int(compute[i]),
            "stall_cycles": 0,
            "cycles": int(compute[i]),
            "utilization": float(macs[i] / (pes * compute[i])),
            "mapping_efficiency": float(counts.mapping_efficiency[i]),
        }
        for i, g in enumerate(workload.gemms)
    ]
    return RunResult(
        workload.name,
        arch.summary(),
        layers,
        _totals(layers, pes, arch.frequency_mhz, workload.weight_count),
        ["ideal memory: no DRAM/GLB stalls"],
    )


def run_arch(workload: Workload, arch: ArchBase) -> RunResult:
    """Any architecture, layer by layer, with its memory system and real masks."""
    if (
        isinstance(arch, Architecture)
        and arch.kind == "dense"
        and arch.ideal_memory
        and not any(g.weight_mask is not None or g.act_mask is not None for g in workload)
    ):
        return run_dense(workload, arch)
    layers = []
    iid = []
    for g in workload:
        c = evaluate(g, arch)
        row = {
            "name": g.name,
            "kind": str(g.kind),
            "m": g.m,
            "k": g.k,
            "n": g.n,
            "repeat": g.repeat,
            "weight_density": g.weight_density,
            "act_density": g.act_density,
            "macs": c.macs_dense,
            "macs_issued": c.macs_issued,
            "macs_effectual": c.macs_effectual,
            "folds": c.details.get("folds", 0),
            "compute_cycles": c.compute_cycles,
            "stall_cycles": c.stall_cycles,
            "cycles": c.cycles,
            "utilization": c.utilization,
            "effective_utilization": c.effective_utilization,
            "dram_bits": c.action("dram_read_bits") + c.action("dram_write_bits"),
            "glb_bits": c.action("glb_read_bits") + c.action("glb_write_bits"),
            "actions": dict(c.actions),
            "details": {
                k: v for k, v in c.details.items() if isinstance(v, str | int | float | bool)
            },
        }
        if c.details.get("iid_pattern"):
            iid.append(g.name)
        layers.append(row)
    notes = []
    if arch.ideal_memory:
        notes.append("ideal memory: no DRAM/GLB stalls")
    if iid:
        more = " ..." if len(iid) > 5 else ""
        notes.append(
            f"{len(iid)} layer(s) had a density but no mask; their pattern was "
            f"drawn i.i.d. (deterministic): {', '.join(iid[:5])}{more}"
        )
    total = _totals(layers, arch.pe_count, arch.frequency_mhz, workload.weight_count)
    total["stall_cycles_by_cause"] = {
        "decompressor": int(sum(x["details"].get("decompressor_stall_cycles", 0) for x in layers)),
        "memory": int(sum(x["details"].get("memory_stall_cycles", 0) for x in layers)),
        "glb_ports": int(sum(x["details"].get("glb_stall_cycles", 0) for x in layers)),
    }
    return RunResult(workload.name, arch.summary(), layers, total, notes)


def layer_array(result: RunResult, key: str) -> np.ndarray:
    """One per-layer field as an array."""
    return np.array([x[key] for x in result.layers])
