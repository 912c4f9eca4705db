"""Evaluate one workload on one architecture: typed per-layer results and their total.

This is the glue the ``sod run`` command and the studies share. It stays free of any
terminal or file I/O; rows and dicts are made only at the edges (:meth:`RunResult.to_dict`,
:mod:`sod.report`). Metric formulas live in :mod:`sod.study.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sod.arch.spec import ArchBase
from sod.designs import evaluate
from sod.models.common import Counts, sum_counts
from sod.study.metrics import effective_gops, latency_s
from sod.workload.gemm import Gemm, Workload

# Stall causes the models report in their details, by the name the totals use.
STALL_CAUSES = {
    "decompressor": "decompressor_stall_cycles",
    "memory": "memory_stall_cycles",
    "glb_ports": "glb_stall_cycles",
}


@dataclass(frozen=True)
class LayerResult:
    """One GEMM (all its repeats) and the counts of running it."""

    gemm: Gemm
    counts: Counts

    def row(self, frequency_mhz: float) -> dict[str, Any]:
        """A flat row for tables, CSV and JSON."""
        g, c = self.gemm, self.counts
        return {
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
            "latency_ms": latency_s(c.cycles, frequency_mhz) * 1e3,
            "utilization": c.utilization,
            "effective_utilization": c.effective_utilization,
            "dram_bits": dram_bits(c),
            "glb_bits": c.action("glb_read_bits") + c.action("glb_write_bits"),
            "actions": dict(c.actions),
            "details": {
                k: v for k, v in c.details.items() if isinstance(v, str | int | float | bool)
            },
        }


def dram_bits(counts: Counts) -> float:
    return counts.action("dram_read_bits") + counts.action("dram_write_bits")


@dataclass(frozen=True)
class RunResult:
    """Per-layer results and totals of one workload on one architecture."""

    workload: str
    arch: ArchBase
    layers: tuple[LayerResult, ...]
    weights: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @cached_property
    def total(self) -> Counts:
        return sum_counts([x.counts for x in self.layers], self.arch.pe_count)

    @property
    def dram_bits(self) -> float:
        return dram_bits(self.total)

    def stall_cycles_by_cause(self) -> dict[str, int]:
        return {
            cause: int(sum(x.counts.details.get(key, 0) for x in self.layers))
            for cause, key in STALL_CAUSES.items()
        }

    def layer_rows(self) -> list[dict[str, Any]]:
        return [x.row(self.arch.frequency_mhz) for x in self.layers]

    def total_row(self) -> dict[str, Any]:
        t = self.total
        seconds = latency_s(t.cycles, self.arch.frequency_mhz)
        return {
            "layers": len(self.layers),
            "macs": t.macs_dense,
            "macs_issued": t.macs_issued,
            "macs_effectual": t.macs_effectual,
            "weights": self.weights,
            "compute_cycles": t.compute_cycles,
            "stall_cycles": t.stall_cycles,
            "cycles": t.cycles,
            "utilization": t.utilization,
            "effective_utilization": t.effective_utilization,
            "latency_ms": seconds * 1e3,
            "effective_gops": effective_gops(t.macs_dense, seconds),
            "dram_bits": self.dram_bits,
            "glb_bits": t.action("glb_read_bits") + t.action("glb_write_bits"),
            "stall_cycles_by_cause": self.stall_cycles_by_cause(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "arch": self.arch.summary(),
            "layers": self.layer_rows(),
            "total": self.total_row(),
            "notes": list(self.notes),
        }


def run_arch(workload: Workload, arch: ArchBase) -> RunResult:
    """Any architecture, layer by layer, through its design (memory system and real masks
    included): one code path for every kind, so every result carries its actions."""
    layers = tuple(LayerResult(g, evaluate(g, arch)) for g in workload)
    notes = []
    if arch.ideal_memory:
        notes.append("ideal memory: no DRAM/GLB stalls")
    iid = [x.gemm.name for x in layers if x.counts.details.get("iid_pattern")]
    if iid:
        more = " ..." if len(iid) > 5 else ""
        notes.append(
            f"{len(iid)} layer(s) had a density but no mask; their pattern was "
            f"drawn i.i.d. (deterministic): {', '.join(iid[:5])}{more}"
        )
    return RunResult(workload.name, arch, layers, workload.weight_count, tuple(notes))
