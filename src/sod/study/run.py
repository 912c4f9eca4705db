"""Evaluate one workload on one architecture: per-layer rows and totals.

This is the glue the ``sod run`` command and the studies share. It stays free of any
terminal or file I/O; :mod:`sod.report` renders what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sod.arch.spec import Architecture
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

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "arch": self.arch, "layers": self.layers,
                "total": self.total, "notes": self.notes}


def run_dense(workload: Workload, arch: Architecture) -> RunResult:
    """Dense systolic array, ideal memory (no stalls): SCALE-Sim's compute cycles per layer."""
    shapes = workload.shapes()
    counts = evaluate_dense(shapes["m"], shapes["k"], shapes["n"], arch.array_rows,
                            arch.array_cols, arch.dataflow)
    repeat = shapes["repeat"]
    compute = counts.compute_cycles * repeat
    stall = np.zeros_like(compute)  # ideal memory: the memory model (a later issue) adds stalls
    cycles = compute + stall
    macs = counts.macs * repeat
    pes = arch.pe_count
    layers = [
        {
            "name": g.name,
            "kind": str(g.kind),
            "m": g.m, "k": g.k, "n": g.n, "repeat": g.repeat,
            "macs": int(macs[i]),
            "folds": int(counts.folds[i] * repeat[i]),
            "compute_cycles": int(compute[i]),
            "stall_cycles": int(stall[i]),
            "cycles": int(cycles[i]),
            "utilization": float(macs[i] / (pes * cycles[i])),
            "mapping_efficiency": float(counts.mapping_efficiency[i]),
        }
        for i, g in enumerate(workload.gemms)
    ]
    total_cycles = int(cycles.sum())
    total_macs = int(macs.sum())
    seconds = total_cycles / (arch.frequency_mhz * 1e6)
    total = {
        "layers": len(layers),
        "macs": total_macs,
        "weights": workload.weight_count,
        "compute_cycles": int(compute.sum()),
        "stall_cycles": int(stall.sum()),
        "cycles": total_cycles,
        "utilization": total_macs / (pes * total_cycles),
        "latency_ms": seconds * 1e3,
        # Effective throughput: dense-equivalent operations (2 × dense MACs) per second.
        "effective_gops": 2 * total_macs / seconds / 1e9,
    }
    return RunResult(workload=workload.name, arch=arch.summary(), layers=layers, total=total,
                     notes=["ideal memory: no DRAM/GLB stalls modelled for the dense array"])
