"""Render run results as rich tables, JSON or CSV text (no terminal access here)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.table import Table

from sod.study.run import RunResult

LAYER_COLUMNS = ["name", "m", "k", "n", "repeat", "macs", "folds", "compute_cycles",
                 "stall_cycles", "cycles", "utilization"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_table(result: RunResult) -> Table:
    arch = result.arch
    title = (f"{result.workload} on {arch.get('name', 'arch')} "
             f"{arch['array_rows']}x{arch['array_cols']} {arch['dataflow'].upper()}")
    table = Table(title=title, show_footer=True)
    totals = result.total
    for col in LAYER_COLUMNS:
        footer = "total" if col == "name" else _fmt(totals[col]) if col in totals else ""
        table.add_column(col, footer=footer, justify="left" if col == "name" else "right")
    for row in result.layers:
        table.add_row(*(_fmt(row[c]) for c in LAYER_COLUMNS))
    return table


def result_json(result: RunResult) -> str:
    return json.dumps(result.to_dict(), indent=2)


def result_csv(result: RunResult) -> str:
    out = io.StringIO()
    fields = list(result.layers[0].keys())
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.layers)
    total = {f: result.total.get(f, "") for f in fields}
    total["name"] = "TOTAL"
    writer.writerow(total)
    return out.getvalue()
