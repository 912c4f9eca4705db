"""What a reader of the paper study needs first: key findings, the configuration each
design was sized to, how robust the verdict is, and where the numbers came from.

Pure functions of :class:`~sod.study.paper.PaperResults` (plus re-sizing the presets, which
is cheap and deterministic); :mod:`sod.report.paper` renders them.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sod.study.paper import PaperResults, _workloads

# Every column the report shows, with its unit (one label per key, used everywhere).
LABELS: dict[str, str] = {
    "workload": "workload",
    "arch": "architecture",
    "vs": "versus",
    "variant": "variant",
    "pes": "PEs (multipliers)",
    "area_mm2": "area (mm²)",
    "latency_ms": "latency (ms)",
    "cycles": "cycles",
    "stall_cycles": "stall cycles",
    "gops_per_mm2": "throughput/area (GOP/s/mm²)",
    "gops_per_w": "energy efficiency (GOP/s/W)",
    "energy_per_inference_uj": "energy (µJ/inference)",
    "effective_utilization": "effective utilization",
    "decompressor_area_share": "decompressor area share",
    "dram_mbytes": "DRAM traffic (MB)",
    "weight_density": "weight density",
    "batch": "batch",
    "pe_area_scale": "sparse PE area scale (×)",
    "sod_advantage_gops_per_mm2": "SoD advantage, throughput/area (×)",
    "sod_advantage_gops_per_w": "SoD advantage, energy efficiency (×)",
    "crossover_density": "crossover weight density",
    "axis": "varied",
    "value": "value",
}

RATIO_DIRECTION = (
    "Every ratio in this report is Sparse-on-Dense's advantage: its metric over the other "
    "design's for higher-is-better metrics (throughput/area, energy efficiency), so a "
    "value above 1 means Sparse-on-Dense is better."
)


# The ratios section holds Sparse-on-Dense's advantage on each metric (×, not the metric).
RATIO_LABELS: dict[str, str] = {
    "workload": "workload",
    "vs": "versus",
    "effective_gops": "SoD advantage, throughput (×)",
    "gops_per_mm2": "SoD advantage, throughput/area (×)",
    "gops_per_w": "SoD advantage, energy efficiency (×)",
    "effective_utilization": "SoD advantage, effective utilization (×)",
    "latency_ms": "SoD advantage, latency (×)",
    "energy_per_inference_uj": "SoD advantage, energy/inference (×)",
}


def fmt(value: Any) -> str:
    """One number format for the whole report."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


def span_pct(shares: Sequence[float]) -> str:
    """``1.03 %`` or ``0.57–1.04 %``: the range of some fractions, as percentages."""
    lo, hi = f"{min(shares) * 100:.2f}", f"{max(shares) * 100:.2f}"
    return f"{lo} %" if lo == hi else f"{lo}–{hi} %"


def key_findings(res: PaperResults) -> list[str]:
    """Sentences: who wins on each workload, the decompressor cost, crossovers."""
    out = []
    main = res.sections.get("main", [])
    for w in dict.fromkeys(r["workload"] for r in main):
        rows = [r for r in main if r["workload"] == w]
        for metric, what in (
            ("gops_per_mm2", "throughput/area"),
            ("gops_per_w", "energy efficiency"),
        ):
            ranked = sorted(rows, key=lambda r: r[metric], reverse=True)
            if len(ranked) > 1 and ranked[1][metric]:
                out.append(
                    f"{w}: {ranked[0]['arch']} leads {what} by "
                    f"{ranked[0][metric] / ranked[1][metric]:.2f}× over {ranked[1]['arch']}."
                )
    shares = [r["decompressor_area_share"] for r in main if r.get("decompressor_area_share")]
    if shares:
        out.append(f"The decompressors take {span_pct(shares)} of the Sparse-on-Dense chip area.")
    for c in res.crossovers:
        if c.get("crossover_density"):
            out.append(
                f"{c['arch']} overtakes Sparse-on-Dense on throughput/area below weight density "
                f"{c['crossover_density']:.3f}."
            )
    return out


def robustness(res: PaperResults) -> list[dict[str, Any]]:
    """Per other design: in how many of the study's configurations (verdict maps over
    budget and buffers, batch sizes, PE-area scales) Sparse-on-Dense wins, per metric."""
    from sod.study.maps import robustness as count
    from sod.study.maps import verdict_rows

    rows = []
    # Sparse-on-Dense's own variants (e.g. its reordering) are not verdicts against it.
    variants = set(getattr(res.config, "variants", ()))
    for e in count([r for r in verdict_rows(res.sections) if r["arch"] not in variants]):
        n = e["configurations"]
        rows.append(
            {
                "arch": e["arch"],
                "configurations": n,
                "SoD wins, throughput/area": f"{e.get('sod_wins_gops_per_mm2', 0)} of {n}",
                "SoD wins, energy efficiency": f"{e.get('sod_wins_gops_per_w', 0)} of {n}",
            }
        )
    return rows


def robustness_sentences(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [
        f"Sparse-on-Dense wins against {r['arch']} in {r['SoD wins, throughput/area']} "
        f"configurations on throughput/area and {r['SoD wins, energy efficiency']} on "
        "energy efficiency (budget, buffer, timing, batch, network and PE-area variations)."
        for r in rows
    ]


def configuration(res: PaperResults) -> list[dict[str, Any]]:
    """Each design as sized to the budget: grid, PEs, PE area, buffer, bandwidths."""
    from sod.arch.presets import load_arch
    from sod.designs import describe, design_of
    from sod.errors import SodError
    from sod.study.point import size_arch

    rows: list[dict[str, Any]] = []
    for name in res.config.archs:
        try:
            arch, area = size_arch(load_arch(name), res.config.budget_mm2, res.config.node_nm)
        except SodError as err:
            rows.append({"arch": name, "grid": f"not sized: {err}"})
            continue
        desc = describe(arch)
        rows.append(
            {
                "arch": name,
                "grid": design_of(arch).shape_text(arch),
                "PEs (multipliers)": arch.pe_count,
                "PE area (µm² per multiplier)": desc.tile_area_um2 / desc.pes_per_tile,
                "GLB (KiB)": arch.glb_kib,
                "GLB bandwidth (bits/cycle)": arch.glb_banks * arch.glb_read_width_bits,
                "DRAM bandwidth (B/cycle)": arch.dram_bandwidth_bytes_per_cycle,
                "clock (MHz)": arch.frequency_mhz,
                "area used (mm²)": area.total_mm2,
                "budget unused (mm²)": res.config.budget_mm2 - area.total_mm2,
            }
        )
    return rows


def settings(res: PaperResults) -> list[tuple[str, str]]:
    cfg = res.config
    masks = "; ".join(
        f"{label}: profile {profile!r} (synthetic masks, seed {cfg.seed})"
        for label, _, profile in _workloads(cfg)
    )
    return [
        ("area budget", f"{cfg.budget_mm2:g} mm² per design (iso-area)"),
        ("technology node", f"{cfg.node_nm} nm"),
        ("batch", f"1 (main table); {', '.join(str(b) for b in cfg.batches)} (sensitivity)"),
        ("sequence length (BERT)", str(cfg.seq_len)),
        ("operand masks", masks),
    ]


def provenance() -> list[tuple[str, str]]:
    from sod import __version__

    root = Path(__file__).resolve().parents[3]
    try:
        git = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        commit = git.stdout.strip() if git.returncode == 0 else "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "git not available"
    return [
        ("sod version", __version__),
        ("git commit", commit),
        ("command line", shlex.join(["sod", *sys.argv[1:]]) if sys.argv else "(API)"),
        ("generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
