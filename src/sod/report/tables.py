"""Render run results as rich tables, JSON or CSV text (no terminal access here)."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.table import Table

from sod.study.run import RunResult

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


def result_table(result: RunResult) -> Table:
    arch = result.arch
    shape = (
        f" {arch['array_rows']}x{arch['array_cols']} {arch['dataflow'].upper()}"
        if "array_rows" in arch
        else ""
    )
    title = f"{result.workload} on {arch.get('name', 'arch')}{shape}"
    table = Table(title=title, show_footer=True)
    totals = result.total
    columns = LAYER_COLUMNS + [c for c in SPARSE_COLUMNS if c in result.layers[0]]
    for col in columns:
        footer = "total" if col == "name" else _fmt(totals[col]) if col in totals else ""
        header = col.replace("effective_utilization", "eff_util").replace("_density", "_dens")
        table.add_column(header, footer=footer, justify="left" if col == "name" else "right")
    for row in result.layers:
        table.add_row(*(_fmt(row[c]) for c in columns))
    return table


def result_json(result: RunResult) -> str:
    from sod.report.jsonio import dumps

    return dumps(result.to_dict(), indent=2)


def result_csv(result: RunResult) -> str:
    out = io.StringIO()
    fields = [f for f, v in result.layers[0].items() if not isinstance(v, dict)]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(result.layers)
    total = {f: result.total.get(f, "") for f in fields}
    total["name"] = "TOTAL"
    writer.writerow(total)
    return out.getvalue()
