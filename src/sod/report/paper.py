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

from sod.report.figures import figures
from sod.study.compare import REFERENCE_ARCH
from sod.study.paper import PaperResults


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
    beyond = res.sections.get("beyond_ratios", [])
    if beyond:
        lines += ["", "  beyond the paper (an LLM block, 2:4 CNNs):"]
    for r in beyond:
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
    "beyond": "Beyond the paper: Sparse-on-Dense's throughput/area advantage (×, log scale) "
    "over every design, the middle-ground ones included, on an LLM decoder block "
    "(LLaMA-2-7B, 50 % unstructured and 2:4) and a CNN pruned 2:4 (above 1 Sparse-on-Dense "
    "is better).",
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
    ("beyond", "Beyond the paper: every design on an LLM block and 2:4 CNNs", ["beyond"], None),
    ("beyond_ratios", "Sparse-on-Dense advantage beyond the paper", [], None),
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
        if key in ("ratios", "beyond_ratios"):
            table = _html_table(rows, list(findings.RATIO_LABELS), findings.RATIO_LABELS)
        else:
            table = _html_table(rows, cols or (MAIN_COLS if key in ("main", "beyond") else None))
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
