"""Write the paper study's outputs: CSV/JSON of every number, PNG+SVG figures, one HTML file.

Everything lands in one output folder::

    summary.txt            the terminal summary
    results.json           every section, the configuration, crossovers, failures
    <section>.csv          one CSV per section (main, ratios, ablation, density_sweep, pe_ratio)
    figures/*.png|*.svg    matplotlib figures
    report.html            self-contained (figures inlined as SVG, tables, notes)
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
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
}


def _rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _archs(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r["arch"] not in seen:
            seen.append(r["arch"])
    return seen


def _grouped_bars(rows: Sequence[dict[str, Any]], metric: str, ylabel: str, title: str):
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    archs = _archs(rows)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / max(len(archs), 1)
    for i, arch in enumerate(archs):
        vals = []
        for w in workloads:
            ref = next(
                (r for r in rows if r["workload"] == w and r["arch"] == REFERENCE_ARCH), None
            )
            cur = next((r for r in rows if r["workload"] == w and r["arch"] == arch), None)
            vals.append(cur[metric] / ref[metric] if cur and ref and ref[metric] else 0.0)
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
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                label=arch,
                color=ARCH_COLORS.get(arch),
            )
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
        ax.plot(
            [p[0] for p in pts], [p[1] for p in pts], "o-", label=arch, color=ARCH_COLORS.get(arch)
        )
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
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                label=arch,
                color=ARCH_COLORS.get(arch),
            )
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


def figures(res: PaperResults) -> dict[str, Any]:
    s = res.sections
    figs: dict[str, Any] = {}
    if s.get("main"):
        figs["throughput_per_area"] = _grouped_bars(
            s["main"],
            "gops_per_mm2",
            "throughput/area relative to Sparse-on-Dense",
            "Iso-area throughput per mm² (higher is better)",
        )
        figs["energy_efficiency"] = _grouped_bars(
            s["main"],
            "gops_per_w",
            "energy efficiency relative to Sparse-on-Dense",
            "Energy efficiency, GOP/s/W (higher is better)",
        )
    if s.get("ablation"):
        figs["ablation"] = _ablation(s["ablation"])
    if s.get("density_sweep"):
        figs["density_sweep"] = _density_sweep(s["density_sweep"], res.crossovers)
    if s.get("pe_ratio"):
        figs["pe_area_ratio"] = _pe_ratio(s["pe_ratio"])
    if s.get("batch"):
        figs["batch_sensitivity"] = _batch(s["batch"])
    return figs


def summary_text(res: PaperResults) -> str:
    lines = [
        f"Sparse-on-Dense study at {res.config.budget_mm2:g} mm², "
        f"{res.config.node_nm} nm (iso-area)",
        "",
    ]
    for r in res.sections.get("ratios", []):
        lines.append(
            f"  {r['workload']:<16} vs {r['vs']:<12} throughput/area "
            f"{r.get('gops_per_mm2', float('nan')):6.2f}x   energy efficiency "
            f"{r.get('gops_per_w', float('nan')):6.2f}x"
        )
    shares = [
        r["decompressor_area_share"]
        for r in res.sections.get("main", [])
        if r.get("decompressor_area_share") is not None
    ]
    if shares:
        lines += [
            "",
            f"  decompressors: {min(shares) * 100:.2f}-{max(shares) * 100:.2f} % "
            "of the Sparse-on-Dense chip area",
        ]
    for c in res.crossovers:
        if c["crossover_density"]:
            lines.append(
                f"  {c['arch']} beats Sparse-on-Dense on throughput/area below "
                f"weight density {c['crossover_density']:.3f}"
            )
        elif c["sod_wins_at_all_densities"]:
            lines.append(
                f"  Sparse-on-Dense beats {c['arch']} on throughput/area at every swept density"
            )
        elif c["sparse_wins_at_all_densities"]:
            lines.append(
                f"  {c['arch']} beats Sparse-on-Dense on throughput/area at every swept density"
            )
    batch_rows = [r for r in res.sections.get("batch", []) if r["arch"] != REFERENCE_ARCH]
    if batch_rows:
        lines.append("")
        for r in batch_rows:
            lines.append(
                f"  {r['workload']:<16} vs {r['arch']:<12} throughput/area "
                f"{r['sod_advantage_gops_per_mm2']:6.2f}x   energy efficiency "
                f"{r['sod_advantage_gops_per_w']:6.2f}x"
            )
    # One line per architecture and reason (the full list is in results.json).
    seen: dict[tuple[str, str], int] = {}
    for f in res.failures:
        seen[(f["arch"], f["error"])] = seen.get((f["arch"], f["error"]), 0) + 1
    for (arch, error), count in seen.items():
        lines.append(f"  not evaluated ({count} points): {arch}: {error}")
    return "\n".join(lines) + "\n"


def _html_table(rows: Sequence[dict[str, Any]], limit_cols: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p>(none)</p>"
    cols = list(limit_cols) if limit_cols else list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.4g}"
        return html.escape(str(v))

    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


MAIN_COLS = [
    "workload",
    "arch",
    "pes",
    "area_mm2",
    "latency_ms",
    "gops_per_mm2",
    "energy_per_inference_uj",
    "gops_per_w",
    "effective_utilization",
    "decompressor_area_share",
]


def write_outputs(res: PaperResults, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    figdir = out_dir / "figures"
    figdir.mkdir(exist_ok=True)
    written: list[Path] = []
    summary = summary_text(res)
    (out_dir / "summary.txt").write_text(summary)
    written.append(out_dir / "summary.txt")
    payload = {
        "config": dataclasses.asdict(res.config),
        "sections": res.sections,
        "crossovers": res.crossovers,
        "failures": res.failures,
    }
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    written.append(out_dir / "results.json")
    for name, rows in res.sections.items():
        path = out_dir / f"{name}.csv"
        path.write_text(_rows_csv(rows))
        written.append(path)
    svgs: dict[str, str] = {}
    for name, fig in figures(res).items():
        for ext in ("png", "svg"):
            path = figdir / f"{name}.{ext}"
            fig.savefig(path, dpi=130)
            written.append(path)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        svg = buf.getvalue()
        svgs[name] = svg[svg.find("<svg") :]
        plt.close(fig)
    (out_dir / "report.html").write_text(_html(res, summary, svgs))
    written.append(out_dir / "report.html")
    return written


def _html(res: PaperResults, summary: str, svgs: dict[str, str]) -> str:
    s = res.sections
    fig = lambda name: f"<figure>{svgs[name]}</figure>" if name in svgs else ""  # noqa: E731
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Sparse-on-Dense study</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;font-size:12px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "th{background:#eee}figure{margin:1em 0}svg{max-width:100%;height:auto}"
        "pre{background:#f6f6f6;padding:1em}</style></head><body>",
        "<h1>Sparse-on-Dense: dense PEs with decompressors vs sparse PEs, at equal area</h1>",
        f"<p>Budget {res.config.budget_mm2:g} mm², node {res.config.node_nm} nm, seed "
        f"{res.config.seed}. Generated by <code>sod paper</code>. Metrics: effective "
        "throughput = dense-equivalent operations (2 × dense MACs) per second; "
        "throughput/area per mm² of chip; energy efficiency = dense-equivalent operations "
        "per joule (GOP/s/W). See docs/paper-comparison.md for assumptions.</p>",
        f"<h2>Summary</h2><pre>{html.escape(summary)}</pre>",
        "<h2>Iso-area comparison</h2>",
        fig("throughput_per_area"),
        fig("energy_efficiency"),
        _html_table(s.get("main", []), MAIN_COLS),
        "<h2>Sparse-on-Dense advantage</h2>",
        _html_table(s.get("ratios", [])),
        "<h2>Ablations</h2>",
        fig("ablation"),
        _html_table(
            s.get("ablation", []),
            [
                "workload",
                "variant",
                "gops_per_mm2",
                "gops_per_w",
                "energy_per_inference_uj",
                "dram_mbytes",
                "stall_cycles",
            ],
        ),
        "<h2>Weight-density sweep and crossover</h2>",
        fig("density_sweep"),
        _html_table(res.crossovers),
        _html_table(
            s.get("density_sweep", []),
            ["weight_density", "arch", "pes", "gops_per_mm2", "gops_per_w"],
        ),
        "<h2>Sensitivity to the sparse/dense PE area ratio</h2>",
        fig("pe_area_ratio"),
        _html_table(s.get("pe_ratio", [])),
        "<h2>Sensitivity to the batch size</h2>",
        fig("batch_sensitivity"),
        _html_table(
            s.get("batch", []),
            [
                "workload",
                "batch",
                "arch",
                "pes",
                "latency_ms",
                "gops_per_mm2",
                "gops_per_w",
                "sod_advantage_gops_per_mm2",
                "sod_advantage_gops_per_w",
            ],
        ),
        "<h2>Not evaluated</h2>",
        _html_table(res.failures),
        "</body></html>",
    ]
    return "\n".join(parts)
