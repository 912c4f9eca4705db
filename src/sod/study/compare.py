"""Iso-area comparison: one workload on several architectures, each sized to one budget.

Ratios are against Sparse-on-Dense (the paper's machine): a ratio above 1 means
Sparse-on-Dense is better by that factor on that metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
    masks: str = ""  # where the operand masks came from (sod.study.sources)
    batch: int = 1

    @property
    def node_nm(self) -> int:
        return next(iter(self.results.values())).arch.node_nm if self.results else 45

    def winner(self, metric: str) -> tuple[str, float]:
        """The best architecture on ``metric`` and its margin over the runner-up (×)."""
        lower = metric in LOWER_IS_BETTER
        ranked = sorted(
            self.results.items(),
            key=lambda kv: getattr(kv[1].metrics, metric),
            reverse=not lower,
        )
        best = getattr(ranked[0][1].metrics, metric)
        if len(ranked) < 2:
            return ranked[0][0], 1.0
        second = getattr(ranked[1][1].metrics, metric)
        margin = (second / best if lower else best / second) if best and second else float("inf")
        return ranked[0][0], margin

    def verdict(self) -> str:
        """One sentence: who wins throughput/area and energy efficiency, by how much, where."""
        if not self.results:
            return f"{self.workload}: no architecture could be evaluated"
        where = (
            f"at {self.budget_mm2:g} mm², {self.node_nm} nm, batch {self.batch}"
            if self.budget_mm2
            else f"at {self.node_nm} nm, batch {self.batch} (architectures as specified)"
        )
        tpa, tpa_x = self.winner("gops_per_mm2")
        eff, eff_x = self.winner("gops_per_w")
        text = (
            f"{where} on {self.workload}: {tpa} wins throughput/area by {tpa_x:.2f}x"
            f"{' and' if tpa == eff else ';'} "
            + (
                f"energy efficiency by {eff_x:.2f}x"
                if tpa == eff
                else f"{eff} wins energy efficiency by {eff_x:.2f}x"
            )
            + " over the runner-up"
        )
        if self.masks.startswith("densities only"):
            text += " (densities only: real masks may change the verdict)"
        return text

    def to_rows(self) -> list[dict[str, object]]:
        """One flat row per architecture: its metrics and Sparse-on-Dense's advantage."""
        ratios = self.ratios()
        rows = []
        for name, res in self.results.items():
            row: dict[str, object] = {"arch_preset": name, **res.metrics.to_row()}
            for metric, value in ratios.get(name, {}).items():
                row[f"sod_advantage_{metric}"] = value
            rows.append(row)
        return rows

    def to_frame(self) -> Any:
        """A pandas DataFrame of :meth:`to_rows`, indexed by architecture."""
        import pandas as pd

        return pd.DataFrame(self.to_rows()).set_index("arch_preset")

    def _repr_html_(self) -> str:  # notebook display
        from html import escape

        return f"<p><b>{escape(self.verdict())}</b></p>" + self.to_frame().to_html(
            float_format=lambda v: f"{v:,.4g}"
        )

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
    masks: str = "",
    batch: int = 1,
) -> Comparison:
    """Evaluate ``workload`` on each architecture sized to ``budget_mm2``.

    An architecture that cannot be evaluated (no model for its kind yet, a budget too small
    for one PE) is reported in ``failures`` with its one-line reason; the others stand.
    """
    # An unknown name is the user's mistake (raised here), not a failed evaluation.
    specs = {name: load_arch(name) for name in archs}
    results: dict[str, PointResult] = {}
    failures: dict[str, str] = {}
    for name, arch in specs.items():
        try:
            results[name] = evaluate_run(workload, arch, budget_mm2, node_nm)
        except SodError as err:
            failures[name] = str(err)
    return Comparison(workload.name, budget_mm2 or 0.0, results, failures, masks, batch)
