"""``sod sweep SPEC.yaml`` (run a grid, resumable) and ``sod results SPEC.yaml`` (CSV + Pareto)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sod.cli.run import MAX_MEMORY_HELP
from sod.errors import SodError
from sod.limits import DEFAULT_MAX_MEMORY_GB
from sod.study.executors import Executor, check_address, check_timeout, make_executor
from sod.study.spec import load_sweep
from sod.study.sweep import (
    SweepReport,
    check_sweep_memory,
    pending_points,
    run_sweep,
    sweep_rows,
)

SPEC_HELP = "sweep spec (YAML; see docs/sweeps.md and examples/sweep-*.yaml)"
MAX_MESSAGES = 8  # failure messages listed after a run (all are in the store and the CSV)
FIRST_COLUMNS = (
    "model",
    "batch",
    "seq_len",
    "act_images",
    "sparsity",
    "seed",
    "arch",
    "budget_mm2",
    "node_nm",
    "status",
    "error",
    "gops_per_mm2",
    "gops_per_w",
    "effective_gops",
    "energy_per_inference_uj",
    "area_mm2",
    "pes",
    "cycles",
)


def sweep_command(
    spec: Path = typer.Argument(..., help=SPEC_HELP),
    workers: int = typer.Option(2, "--workers", "-w", help="local worker processes"),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler ADDRESS (e.g. tcp://host:8786) instead of local processes",
    ),
    connect_timeout_s: float = typer.Option(
        5.0, help="seconds to reach --scheduler and hear it answer as a Dask scheduler"
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="progress bar with ETA (default: when stdout is a terminal)",
    ),
    retry_failed: bool = typer.Option(False, help="recompute points stored as failed"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count the points and stop"),
    max_memory_gb: float = typer.Option(
        DEFAULT_MAX_MEMORY_GB, "--max-memory-gb", help=MAX_MEMORY_HELP
    ),
) -> None:
    """Run a sweep; a rerun skips finished points (resume after an interruption).
    Several runs on one results database share the work."""
    check_timeout(connect_timeout_s)  # option mistakes first: one line, before any work
    if scheduler is not None:
        check_address(scheduler)
    if not (0 < max_memory_gb < float("inf")):
        raise SodError(f"--max-memory-gb must be a positive number, got {max_memory_gb}")
    sweep = load_sweep(spec)
    check_sweep_memory(sweep, max_memory_gb)
    out = Console(highlight=False)
    if dry_run:
        from sod.study.store import ResultStore

        todo = len(sweep.points)
        if sweep.db_path.exists():
            with ResultStore(sweep.db_path) as store:
                todo = len(pending_points(sweep, store, retry_failed))
        out.print(
            f"sweep {sweep.name!r}: {len(sweep.points)} points "
            f"({sweep.duplicates} duplicates removed), {todo} to run; "
            f"db {sweep.db_path}; model version {sweep.model_version}",
            soft_wrap=True,
        )
        return
    executor = make_executor(workers, scheduler, connect_timeout_s)
    show = sys.stdout.isatty() if progress is None else progress
    # SIGTERM (e.g. a batch system's time limit) unwinds like Ctrl-C: workers are stopped;
    # every point already committed stays (each is its own transaction).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = _run(sweep, executor, show, retry_failed, out)
    finally:
        executor.close()
    _summary(report, out)
    if report.errors:
        raise typer.Exit(code=1)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(
    sweep: Any, executor: Executor, show: bool, retry_failed: bool, out: Console
) -> SweepReport:
    if show:
        from sod.study.store import ResultStore

        with ResultStore(sweep.db_path) as store:
            show = bool(pending_points(sweep, store, retry_failed))
    if not show:
        return run_sweep(sweep, executor, retry_failed=retry_failed)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=out,
        transient=False,
    )
    state: dict[str, Any] = {"failed": 0}

    def on_start(total: int, to_run: int) -> None:
        state["task"] = bar.add_task(sweep.name, total=to_run, failed="")
        if to_run < total:
            out.print(f"resuming: {total - to_run} of {total} points already done")

    def on_result(outcome: dict[str, Any], point: Any) -> None:
        if outcome["status"] != "ok":
            state["failed"] += 1
        failed = f"[red]{state['failed']} failed" if state["failed"] else ""
        bar.update(state["task"], advance=1, failed=failed)

    with bar:
        return run_sweep(
            sweep, executor, retry_failed=retry_failed, on_start=on_start, on_result=on_result
        )


def _summary(report: SweepReport, out: Console) -> None:
    rate = f" ({report.ran / report.elapsed_s:.1f} points/s)" if report.ran else ""
    out.print(
        f"sweep {report.name!r}: {report.total} points; {report.already_done} already "
        f"done; ran {report.ran} ({report.ok} ok, {report.failed} failed, "
        f"{report.errors} errors) in {report.elapsed_s:.1f} s{rate}; "
        f"results in {report.db_path}",
        soft_wrap=True,
    )
    if report.by_others:
        out.print(f"  {report.by_others} point(s) were computed by another sweep on this database")
    if report.lock_retries:
        out.print(
            f"  the database was locked by another process: {report.lock_retries} write(s) retried"
        )
    problems = sorted(report.problems.items(), key=lambda kv: -len(kv[1]))
    for message, labels in problems[:MAX_MESSAGES]:
        more = f" and {len(labels) - 1} more" if len(labels) > 1 else ""
        out.print(f"  {len(labels)} point(s) {message} (e.g. {labels[0]}{more})", soft_wrap=True)
    if len(problems) > MAX_MESSAGES:
        rest = problems[MAX_MESSAGES:]
        out.print(
            f"  ... {sum(len(v) for _, v in rest)} more point(s) with {len(rest)} other "
            f"message(s): every message is in the CSV of `sod results`",
            soft_wrap=True,
        )
    if report.errors:
        out.print(
            "  'error' points are unexpected exceptions (bugs): they are retried on the next run"
        )


def results_command(
    spec: Path = typer.Argument(..., help=SPEC_HELP),
    csv_path: Path | None = typer.Option(
        None, "--csv", help="CSV of every point (default: <spec stem>.csv beside the spec)"
    ),
    figure: Path | None = typer.Option(
        None,
        "--figure",
        help="Pareto figure path without suffix; writes .png and .svg "
        "(default: <spec stem>-pareto beside the spec)",
    ),
    allow_stale: bool = typer.Option(
        False, help="also use results computed by another model version (newest per point)"
    ),
) -> None:
    """Export a sweep's results to CSV and draw the Pareto front (throughput/area vs
    energy efficiency), per architecture."""
    from sod.report.pareto import pareto_figure
    from sod.study.store import write_csv

    sweep = load_sweep(spec)
    rows, missing = sweep_rows(sweep, allow_stale)
    if not rows:
        hint = (
            " (or --allow-stale for results of another model version)"
            if sweep.db_path.exists()
            else ""
        )
        raise SodError(
            f"no results for {spec} in {sweep.db_path}: run `sod sweep {spec}` first{hint}"
        )
    base = sweep.source.resolve().parent
    stem = sweep.source.stem
    out = Console(highlight=False, width=None if Console().is_terminal else 160)
    csv_written = write_csv(rows, csv_path or base / f"{stem}.csv", FIRST_COLUMNS)
    ok = [r for r in rows if r["status"] == "ok"]
    status = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "error")}
    out.print(
        f"sweep {sweep.name!r}: {len(sweep.points)} points: {status['ok']} ok, "
        f"{status['failed']} failed, {status['error']} errors, {missing} not run",
        soft_wrap=True,
    )
    if missing:
        out.print(f"  run `sod sweep {spec}` to compute the missing points")
    out.print(f"wrote {csv_written}", soft_wrap=True)
    if not ok:
        out.print("no successful point: no Pareto figure")
        return
    paths = pareto_figure(ok, figure or base / f"{stem}-pareto", title=f"sweep {sweep.name}")
    out.print("wrote " + ", ".join(str(p) for p in paths), soft_wrap=True)
    out.print(_front_table(ok))


def _front_table(ok: list[dict[str, Any]]) -> Table:
    """Per workload and architecture: points, Pareto points, best of each axis."""
    from sod.report.pareto import front_summary

    table = Table(title="Pareto fronts: throughput/area vs energy efficiency")
    for col, justify in (
        ("workload", "left"),
        ("arch", "left"),
        ("points", "right"),
        ("pareto", "right"),
        ("on overall front", "right"),
        ("best GOP/s/mm²", "right"),
        ("best GOP/s/W", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in front_summary(ok):
        table.add_row(
            s["workload"],
            s["arch"],
            str(s["points"]),
            str(s["pareto_points"]),
            str(s["on_overall_front"]),
            f"{s['best_gops_per_mm2']:,.1f}",
            f"{s['best_gops_per_w']:,.1f}",
        )
    return table


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
    app.command("results")(results_command)
