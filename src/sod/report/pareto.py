"""Pareto fronts of sweep results: throughput/area against energy efficiency.

Both axes are "more is better": ``gops_per_mm2`` (effective GOP/s per mm²) and
``gops_per_w`` (effective GOP/s per W = GOP per J). A point is Pareto-optimal when no
other point is at least as good on both axes and strictly better on one. The figure has
one panel per workload (comparing networks with each other means little) and marks each
architecture's own front; the dashed line is the front over all architectures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

X_METRIC = "gops_per_w"
Y_METRIC = "gops_per_mm2"
AXIS_LABELS = {
    "gops_per_w": "energy efficiency (GOP/s per W)",
    "gops_per_mm2": "throughput/area (GOP/s per mm²)",
}


def pareto_mask(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> np.ndarray:
    """Boolean mask of the Pareto-optimal points when maximizing both ``x`` and ``y``.

    Exact duplicates are all optimal (neither dominates the other); NaN/inf points are
    never optimal and never dominate. O(n log n), no Python loop over points.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D and the same length, got {x.shape}, {y.shape}")
    out = np.zeros(x.shape, dtype=bool)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if finite.size == 0:
        return out
    order = finite[np.argsort(-x[finite], kind="stable")]
    xs, ys = x[order], y[order]
    group = np.cumsum(np.r_[True, xs[1:] != xs[:-1]]) - 1  # equal-x groups, x descending
    group_max = np.full(group[-1] + 1, -np.inf)
    np.maximum.at(group_max, group, ys)
    # best y among points with strictly larger x
    before = np.r_[-np.inf, np.maximum.accumulate(group_max)[:-1]]
    dominated = (before[group] >= ys) | (group_max[group] > ys)
    out[order] = ~dominated
    return out


def _ok_rows(rows: Sequence[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    return [
        r
        for r in rows
        if r.get("status", "ok") == "ok"
        and isinstance(r.get(x), int | float)
        and isinstance(r.get(y), int | float)
    ]


def _panel_name(row: dict[str, Any]) -> str:
    name = str(row.get("model", row.get("workload", "?")))
    if row.get("seq_len"):
        name += f" seq {row['seq_len']}"
    if row.get("batch", 1) not in (1, None):
        name += f" batch {row['batch']}"
    return name


def front_summary(
    rows: Sequence[dict[str, Any]], x: str = X_METRIC, y: str = Y_METRIC
) -> list[dict[str, Any]]:
    """Per (workload, architecture): points, Pareto points, best of each axis, and how
    many points of the overall (all-architecture) front of the workload it holds."""
    ok = _ok_rows(rows, x, y)
    out = []
    for panel in dict.fromkeys(_panel_name(r) for r in ok):
        prow = [r for r in ok if _panel_name(r) == panel]
        overall = pareto_mask([r[x] for r in prow], [r[y] for r in prow])
        for arch in dict.fromkeys(r["arch"] for r in prow):
            idx = [i for i, r in enumerate(prow) if r["arch"] == arch]
            xs = np.array([prow[i][x] for i in idx])
            ys = np.array([prow[i][y] for i in idx])
            out.append(
                {
                    "workload": panel,
                    "arch": arch,
                    "points": len(idx),
                    "pareto_points": int(pareto_mask(xs, ys).sum()),
                    "on_overall_front": int(overall[idx].sum()),
                    f"best_{x}": float(xs.max()),
                    f"best_{y}": float(ys.max()),
                }
            )
    return out


def pareto_figure(
    rows: Sequence[dict[str, Any]],
    stem: str | Path,
    title: str = "",
    x: str = X_METRIC,
    y: str = Y_METRIC,
) -> list[Path]:
    """Draw the fronts to ``stem``.png and ``stem``.svg; return the paths written.

    Rows are flat result dicts (``model``, ``arch``, ``status``, metrics); rows that did
    not succeed are skipped. Raises ValueError when no row has both metrics.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ok = _ok_rows(rows, x, y)
    if not ok:
        raise ValueError(f"no successful point has both {x} and {y}")
    panels = list(dict.fromkeys(_panel_name(r) for r in ok))
    archs = list(dict.fromkeys(r["arch"] for r in ok))
    cols = min(3, len(panels))
    nrows = (len(panels) + cols - 1) // cols
    fig = Figure(figsize=(4.6 * cols, 3.9 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    colors = {a: f"C{i % 10}" for i, a in enumerate(archs)}
    markers = "osD^v<>pPX*h"
    for n, panel in enumerate(panels):
        ax = fig.add_subplot(nrows, cols, n + 1)
        prow = [r for r in ok if _panel_name(r) == panel]
        px = np.array([r[x] for r in prow])
        py = np.array([r[y] for r in prow])
        for i, arch in enumerate(archs):
            sel = np.array([r["arch"] == arch for r in prow])
            if not sel.any():
                continue
            ax_, ay_ = px[sel], py[sel]
            front = pareto_mask(ax_, ay_)
            color, marker = colors[arch], markers[i % len(markers)]
            ax.scatter(
                ax_[~front],
                ay_[~front],
                s=14,
                alpha=0.35,
                linewidths=0,
                color=color,
                marker=marker,
            )
            order = np.argsort(ax_[front])
            ax.plot(
                ax_[front][order],
                ay_[front][order],
                linestyle="-",
                linewidth=1.2,
                markersize=6,
                markeredgecolor="black",
                markeredgewidth=0.6,
                label=arch if n == 0 else None,
                color=color,
                marker=marker,
            )
        overall = pareto_mask(px, py)
        order = np.argsort(px[overall])
        ax.plot(
            px[overall][order],
            py[overall][order],
            linestyle="--",
            color="0.3",
            linewidth=0.9,
            zorder=0,
            label="front, all architectures" if n == 0 else None,
        )
        for axis, values in (("x", px), ("y", py)):
            positive = values[values > 0]
            if positive.size and positive.max() / positive.min() > 20:
                (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel(AXIS_LABELS.get(x, x), fontsize=8)
        ax.set_ylabel(AXIS_LABELS.get(y, y), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3, linewidth=0.5)
    fig.legend(loc="outside lower center", ncol=min(6, len(archs) + 1), fontsize=8, frameon=False)
    fig.suptitle(title or "Pareto fronts (filled, joined: optimal per architecture)", fontsize=11)
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".svg"):
        path = stem.with_name(stem.name + suffix)
        fig.savefig(path, dpi=130)
        paths.append(path)
    return paths
