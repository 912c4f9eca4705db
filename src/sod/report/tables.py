"""Render run results as rich tables, JSON or CSV text (no terminal access here)."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.table import Table

from sod.study.point import PointResult

LAYER_COLUMNS = [
    "name",
    "m",
    "k",
    "n",
    "repeat",
    "macs",
    "folds",
    "compute_cycles",
    "stall_cycles",
    "cycles",
    "utilization",
]
SPARSE_COLUMNS = ["weight_density", "act_density", "effective_utilization"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_table(result: PointResult) -> Table:
    from sod.designs import design_of

    arch = result.arch
    title = f"{result.run.workload} on {arch.name} {design_of(arch).shape_text(arch)}"
    table = Table(title=title, show_footer=True)
    data = result.to_dict()
    totals, layers = data["total"], data["layers"]
    columns = LAYER_COLUMNS + SPARSE_COLUMNS
    for col in columns:
        footer = "total" if col == "name" else _fmt(totals[col]) if col in totals else ""
        header = col.replace("effective_utilization", "eff_util").replace("_density", "_dens")
        table.add_column(header, footer=footer, justify="left" if col == "name" else "right")
    for row in layers:
        table.add_row(*(_fmt(row[c]) for c in columns))
    return table


def result_json(result: PointResult) -> str:
    from sod.report.jsonio import dumps

    return dumps(result.to_dict(), indent=2)


def result_csv(result: PointResult) -> str:
    data = result.to_dict()
    out = io.StringIO()
    fields = [f for f, v in data["layers"][0].items() if not isinstance(v, dict)]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(data["layers"])
    total = {f: data["total"].get(f, "") for f in fields}
    total["name"] = "TOTAL"
    writer.writerow(total)
    return out.getvalue()
