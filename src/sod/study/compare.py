"""Iso-area comparison: one workload on several architectures, each sized to one budget.

Ratios are against Sparse-on-Dense (the paper's machine): a ratio above 1 means
Sparse-on-Dense is better by that factor on that metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sod.arch.presets import PRESET_NAMES, load_arch
from sod.errors import SodError
from sod.study.point import PointResult, evaluate_run
from sod.workload.gemm import Workload

# Default budget: a small edge accelerator at 45 nm (the dense preset — 32×32 int8 MACs
# and 512 KiB of GLB — is 2.8 mm²; 4 mm² buys ~2,100 dense PEs with the same GLB).
DEFAULT_BUDGET_MM2 = 4.0
REFERENCE_ARCH = "sparse-on-dense"

# Metrics where more is better, and where less is better (ratios are oriented so that
# > 1 means Sparse-on-Dense wins).
HIGHER_IS_BETTER = ("effective_gops", "gops_per_mm2", "gops_per_w", "effective_utilization")
LOWER_IS_BETTER = ("latency_ms", "energy_per_inference_uj")


@dataclass(frozen=True)
class Comparison:
    workload: str
    budget_mm2: float
    results: dict[str, PointResult]
    failures: dict[str, str] = field(default_factory=dict)

    def ratios(self, reference: str = REFERENCE_ARCH) -> dict[str, dict[str, float]]:
        """Per architecture: reference's advantage on each metric (>1: reference better)."""
        if reference not in self.results:
            return {}
        ref = self.results[reference].metrics.to_row()
        out: dict[str, dict[str, float]] = {}
        for name, res in self.results.items():
            m = res.metrics.to_row()
            row = {k: ref[k] / m[k] for k in HIGHER_IS_BETTER if m.get(k)}
            row.update({k: m[k] / ref[k] for k in LOWER_IS_BETTER if ref.get(k)})
            out[name] = row
        return out


def compare(
    workload: Workload,
    archs: Sequence[str] = PRESET_NAMES,
    budget_mm2: float | None = DEFAULT_BUDGET_MM2,
    node_nm: int | None = None,
) -> Comparison:
    """Evaluate ``workload`` on each architecture sized to ``budget_mm2``.

    An architecture that cannot be evaluated (no model for its kind yet, a budget too small
    for one PE) is reported in ``failures`` with its one-line reason; the others stand.
    """
    results: dict[str, PointResult] = {}
    failures: dict[str, str] = {}
    for name in archs:
        try:
            results[name] = evaluate_run(workload, load_arch(name), budget_mm2, node_nm)
        except SodError as err:
            failures[name] = str(err)
    return Comparison(workload.name, budget_mm2 or 0.0, results, failures)
