"""The paper study's matplotlib figures: one colour and marker per design everywhere,
ratios in one direction (Sparse-on-Dense's advantage), log axes where ranges span decades."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sod.study.compare import REFERENCE_ARCH
from sod.study.paper import PaperResults

ARCH_COLORS = {
    "dense": "#7f7f7f",
    "sparse-on-dense": "#d62728",
    "scnn": "#1f77b4",
    "sparten": "#2ca02c",
    "index-match": "#9467bd",
    "nm-systolic": "#8c564b",
    "vusa": "#e377c2",
    "column-combining": "#ff7f0e",
    "sparse-on-dense-reorder": "#bcbd22",
}
# Distinct markers and dashes so no curve hides another where they overlap.
ARCH_STYLE = {
    "dense": ("s", "-"),
    "sparse-on-dense": ("o", "-"),
    "scnn": ("^", "--"),
    "sparten": ("D", "-."),
    "index-match": ("v", ":"),
    "nm-systolic": ("X", "-"),
    "vusa": ("*", "--"),
    "column-combining": ("P", "-."),
    "sparse-on-dense-reorder": ("h", ":"),
}


def _line(ax: Any, xs: Sequence[float], ys: Sequence[float], arch: str) -> None:
    marker, dash = ARCH_STYLE.get(arch, ("o", "-"))
    ax.plot(
        xs,
        ys,
        marker=marker,
        linestyle=dash,
        label=arch,
        color=ARCH_COLORS.get(arch),
        alpha=0.85,
        markersize=5,
    )


def _archs(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r["arch"] not in seen:
            seen.append(r["arch"])
    return seen


def _grouped_bars(rows: Sequence[dict[str, Any]], metric: str, ylabel: str, title: str):
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    archs = [a for a in _archs(rows) if a != REFERENCE_ARCH]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / max(len(archs), 1)
    for i, arch in enumerate(archs):
        vals = []
        for w in workloads:
            ref = next(
                (r for r in rows if r["workload"] == w and r["arch"] == REFERENCE_ARCH), None
            )
            cur = next((r for r in rows if r["workload"] == w and r["arch"] == arch), None)
            # The report's one ratio direction: Sparse-on-Dense's advantage (> 1: it wins).
            vals.append(ref[metric] / cur[metric] if cur and ref and cur[metric] else 0.0)
        xs = [j + (i - (len(archs) - 1) / 2) * width for j in range(len(workloads))]
        ax.bar(xs, vals, width, label=arch, color=ARCH_COLORS.get(arch))
    ax.set_xticks(range(len(workloads)), workloads, rotation=15)
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    return fig


def _density_sweep(rows: Sequence[dict[str, Any]], crossovers: Sequence[dict[str, Any]]):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, label in (
        (axes[0], "gops_per_mm2", "throughput/area (GOP/s/mm²)"),
        (axes[1], "gops_per_w", "energy efficiency (GOP/s/W)"),
    ):
        for arch in _archs(rows):
            pts = sorted((r["weight_density"], r[metric]) for r in rows if r["arch"] == arch)
            _line(ax, [p[0] for p in pts], [p[1] for p in pts], arch)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("weight density")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for c in crossovers:
        if c.get("crossover_density"):
            axes[0].axvline(c["crossover_density"], ls=":", color=ARCH_COLORS.get(c["arch"]))
    axes[0].legend(fontsize=8)
    model = rows[0]["workload"] if rows else ""
    fig.suptitle(f"{model}: uniform magnitude pruning, iso-area")
    fig.tight_layout()
    return fig


def _ablation(rows: Sequence[dict[str, Any]]):
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.35 * len(variants) + 1.5), sharey=True)
    for ax, metric, label in (
        (axes[0], "gops_per_mm2", "throughput/area vs paper design"),
        (axes[1], "gops_per_w", "energy efficiency vs paper design"),
    ):
        h = 0.8 / max(len(workloads), 1)
        for i, w in enumerate(workloads):
            base = next(r for r in rows if r["workload"] == w)[metric]
            vals = [
                next((r[metric] for r in rows if r["workload"] == w and r["variant"] == v), 0.0)
                / base
                for v in variants
            ]
            ys = [j + (i - (len(workloads) - 1) / 2) * h for j in range(len(variants))]
            ax.barh(ys, vals, h, label=w)
        ax.axvline(1.0, color="k", lw=0.6)
        ax.set_xlabel(label)
        ax.legend(fontsize=8)
    axes[0].set_yticks(range(len(variants)), variants, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig


def _pe_ratio(rows: Sequence[dict[str, Any]]):
    fig, ax = plt.subplots(figsize=(6, 4))
    for arch in _archs(rows):
        pts = sorted(
            (r["pe_area_scale"], r["sod_advantage_gops_per_mm2"]) for r in rows if r["arch"] == arch
        )
        _line(ax, [p[0] for p in pts], [p[1] for p in pts], arch)
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sparse PE area × (1 = synthesized)")
    ax.set_ylabel("Sparse-on-Dense throughput/area advantage")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _batch(rows: Sequence[dict[str, Any]]):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, label in (
        (axes[0], "sod_advantage_gops_per_mm2", "Sparse-on-Dense throughput/area advantage"),
        (axes[1], "sod_advantage_gops_per_w", "Sparse-on-Dense energy-efficiency advantage"),
    ):
        for arch in _archs(rows):
            if arch == REFERENCE_ARCH:
                continue
            pts = sorted((r["batch"], r[metric]) for r in rows if r["arch"] == arch)
            _line(ax, [p[0] for p in pts], [p[1] for p in pts], arch)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{rows[0]['workload'].split('@')[0]}: iso-area, by batch size")
    fig.tight_layout()
    return fig


def _maps(res: PaperResults):
    """Small multiples: Sparse-on-Dense's throughput/area advantage along each map axis."""
    from sod.study.maps import verdict_rows

    variants = set(getattr(res.config, "variants", ()))
    rows = [r for r in verdict_rows(res.sections) if r["arch"] not in variants]
    axes_names = list(dict.fromkeys(r["axis"] for r in rows))
    if not axes_names:
        return None
    cols = min(3, len(axes_names))
    nrows = -(-len(axes_names) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, axes_names, strict=False):
        sub = [r for r in rows if r["axis"] == name]
        values = list(dict.fromkeys(r["value"] for r in sub))
        numeric = all(isinstance(v, int | float) for v in values)
        for arch in _archs(sub):
            pts = [(r["value"], r["sod_advantage_gops_per_mm2"]) for r in sub if r["arch"] == arch]
            if numeric:
                pts.sort()
                _line(ax, [p[0] for p in pts], [p[1] for p in pts], arch)
            else:
                _line(ax, [values.index(p[0]) for p in pts], [p[1] for p in pts], arch)
        if numeric and min(values) > 0 and max(values) / min(values) >= 8:
            ax.set_xscale("log", base=2)
        if not numeric:
            ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set_yscale("log")
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xlabel(name)
        ax.set_ylabel("SoD throughput/area advantage (×)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(axes_names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def figures(res: PaperResults) -> dict[str, Any]:
    s = res.sections
    figs: dict[str, Any] = {}
    if s.get("main"):
        figs["throughput_per_area"] = _grouped_bars(
            s["main"],
            "gops_per_mm2",
            "Sparse-on-Dense advantage (×)",
            "Throughput/area: Sparse-on-Dense advantage over each design",
        )
        figs["energy_efficiency"] = _grouped_bars(
            s["main"],
            "gops_per_w",
            "Sparse-on-Dense advantage (×)",
            "Energy efficiency: Sparse-on-Dense advantage over each design",
        )
    if s.get("beyond"):
        figs["beyond"] = _grouped_bars(
            s["beyond"],
            "gops_per_mm2",
            "Sparse-on-Dense advantage (×)",
            "Beyond the paper: throughput/area advantage over every design",
        )
    if s.get("ablation"):
        figs["ablation"] = _ablation(s["ablation"])
    if s.get("density_sweep"):
        figs["density_sweep"] = _density_sweep(s["density_sweep"], res.crossovers)
    if s.get("pe_ratio"):
        figs["pe_area_ratio"] = _pe_ratio(s["pe_ratio"])
    if s.get("batch"):
        figs["batch_sensitivity"] = _batch(s["batch"])
    if s.get("maps") or s.get("batch"):
        fig = _maps(res)
        if fig is not None:
            figs["verdict_maps"] = fig
    return figs
