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
# Distinct markers and dashes so no curve hides another where they overlap.
ARCH_STYLE = {
    "dense": ("s", "-"),
    "sparse-on-dense": ("o", "-"),
    "scnn": ("^", "--"),
    "sparten": ("D", "-."),
    "index-match": ("v", ":"),
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

    rows = verdict_rows(res.sections)
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


def summary_text(res: PaperResults) -> str:
    from sod.report.findings import robustness, robustness_sentences, span_pct

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
            f"  decompressors: {span_pct(shares)} of the Sparse-on-Dense chip area",
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
    sentences = robustness_sentences(robustness(res))
    if sentences:
        lines += ["", *(f"  {x}" for x in sentences)]
    # One line per architecture and reason (the full list is in results.json).
    seen: dict[tuple[str, str], int] = {}
    for f in res.failures:
        seen[(f["arch"], f["error"])] = seen.get((f["arch"], f["error"]), 0) + 1
    for (arch, error), count in seen.items():
        lines.append(f"  not evaluated ({count} points): {arch}: {error}")
    return "\n".join(lines) + "\n"


def _html_table(
    rows: Sequence[dict[str, Any]],
    limit_cols: Sequence[str] | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """A table with unit-bearing headers (LABELS) and the report's one number format."""
    from markupsafe import escape

    from sod.report.findings import LABELS, fmt

    labels = labels or LABELS
    if not rows:
        return "<p>(none)</p>"
    cols = list(limit_cols) if limit_cols else list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(labels.get(c, c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(fmt(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


ABLATION_COLS = [
    "workload",
    "variant",
    "gops_per_mm2",
    "gops_per_w",
    "energy_per_inference_uj",
    "dram_mbytes",
    "stall_cycles",
]
MAP_COLS = [
    "axis",
    "value",
    "arch",
    "pes",
    "gops_per_mm2",
    "gops_per_w",
    "sod_advantage_gops_per_mm2",
    "sod_advantage_gops_per_w",
]
SWEEP_COLS = ["weight_density", "arch", "pes", "gops_per_mm2", "gops_per_w"]
BATCH_COLS = [
    "workload",
    "batch",
    "arch",
    "pes",
    "latency_ms",
    "gops_per_mm2",
    "gops_per_w",
    "sod_advantage_gops_per_mm2",
    "sod_advantage_gops_per_w",
]

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


CAPTIONS = {
    "throughput_per_area": "Sparse-on-Dense's throughput/area (GOP/s/mm²) over each "
    "design's, every design sized to the same budget (log scale; above the black parity "
    "line Sparse-on-Dense is better).",
    "energy_efficiency": "Sparse-on-Dense's energy efficiency (dense-equivalent GOP/s per W) "
    "over each design's (log scale; above 1 Sparse-on-Dense is better).",
    "ablation": "Sparse-on-Dense variants relative to the paper's design (1 = the paper's "
    "design; left: throughput/area, right: energy efficiency).",
    "density_sweep": "Throughput/area (GOP/s/mm²) and energy efficiency (GOP/s/W) against "
    "weight density under uniform magnitude pruning (log-log); dotted lines mark crossovers.",
    "pe_area_ratio": "Sparse-on-Dense's throughput/area advantage (×) when each sparse PE's "
    "area is scaled (1 = synthesized); the chip is re-sized to the budget each time.",
    "batch_sensitivity": "Sparse-on-Dense's advantage (×, log scale) over each design as the "
    "batch grows (above 1: Sparse-on-Dense better).",
    "verdict_maps": "Verdict maps: Sparse-on-Dense's throughput/area advantage (×, log "
    "scale) over each design along one axis at a time, around the study's point (budget "
    "with the GLB a fixed 40 % share of the chip; GLB size, banks, timing model and SRAM "
    "cells; batch; sparse PE area scale). Above 1 Sparse-on-Dense wins.",
}

SECTIONS = [
    ("main", "Iso-area comparison", ["throughput_per_area", "energy_efficiency"], None),
    ("ratios", "Sparse-on-Dense advantage", [], None),
    ("ablation", "Ablations of Sparse-on-Dense", ["ablation"], ABLATION_COLS),
    ("density_sweep", "Weight-density sweep and crossovers", ["density_sweep"], SWEEP_COLS),
    ("pe_ratio", "Sensitivity to the sparse/dense PE area ratio", ["pe_area_ratio"], None),
    ("batch", "Sensitivity to the batch size", ["batch_sensitivity"], BATCH_COLS),
    ("maps", "Verdict maps", ["verdict_maps"], MAP_COLS),
]


def _html(res: PaperResults, summary: str, svgs: dict[str, str]) -> str:
    """The report, rendered from the Jinja2 template ``templates/paper.html.j2``."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from sod.report import findings

    env = Environment(
        loader=PackageLoader("sod.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    sections, number = [], 0
    for key, title, names, cols in SECTIONS:
        rows = res.sections.get(key, [])
        if not rows:
            continue
        figs = []
        for name in names:
            if name in svgs:
                number += 1
                figs.append(
                    {"name": name, "svg": svgs[name], "caption": CAPTIONS[name], "number": number}
                )
        if key == "ratios":
            table = _html_table(rows, list(findings.RATIO_LABELS), findings.RATIO_LABELS)
        else:
            table = _html_table(rows, cols or (MAIN_COLS if key == "main" else None))
        if key == "density_sweep":
            table = _html_table(res.crossovers) + table
        sections.append({"id": key, "title": title, "figures": figs, "table": table, "text": ""})
    robust = findings.robustness(res)
    from markupsafe import Markup

    return env.get_template("paper.html.j2").render(
        ratio_direction=findings.RATIO_DIRECTION,
        findings=findings.key_findings(res),
        robustness_lines=findings.robustness_sentences(robust),
        settings=findings.settings(res),
        provenance=findings.provenance(),
        sections=[{**s, "table": Markup(s["table"])} for s in sections],
        tables={
            "configuration": Markup(_html_table(findings.configuration(res))),
            "robustness": Markup(_html_table(robust)),
            "failures": Markup(_html_table(res.failures)),
        },
    )
