"""``sod paper``: the paper's study on built-in defaults, written to an output folder."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from sod.errors import SodError
from sod.study.compare import DEFAULT_BUDGET_MM2
from sod.study.executors import InlineExecutor, check_address, check_timeout, make_executor
from sod.study.paper import PaperConfig, run_paper


def paper_command(
    out: Path = typer.Option(Path("out/paper"), "--out", "-o", help="output folder"),
    budget_mm2: float = typer.Option(
        DEFAULT_BUDGET_MM2, "--budget-mm2", help="iso-area budget every architecture is sized to"
    ),
    node_nm: int = typer.Option(45, "--node", help="technology node in nm"),
    seed: int = typer.Option(0, help="seed of the sparsity generators"),
    workers: int = typer.Option(2, help="worker processes (1 = in this process)"),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler ADDRESS (e.g. tcp://host:8786) instead of local processes",
    ),
    connect_timeout_s: float = typer.Option(
        5.0, help="seconds to reach --scheduler and hear it answer as a Dask scheduler"
    ),
) -> None:
    """Reproduce the paper's study: iso-area comparison, ablations, density sweep, report."""
    from sod.cost.sizing import check_budget
    from sod.report.paper import write_outputs

    check_budget(budget_mm2)
    check_timeout(connect_timeout_s)
    if scheduler is not None:
        check_address(scheduler)
    if scheduler is None and workers < 1:
        raise SodError(f"--workers must be a positive integer, got {workers}")
    # Check the output folder first: the study takes a minute, and nothing computed
    # should be lost to an unwritable path at the end.
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".sod-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise SodError(f"cannot write to output folder {out}: {err.strerror}") from None
    console = Console(stderr=True)
    start = time.perf_counter()
    cfg = PaperConfig(budget_mm2=budget_mm2, node_nm=node_nm, seed=seed, workers=workers)
    executor = (
        InlineExecutor()
        if scheduler is None and workers == 1
        else make_executor(workers, scheduler, connect_timeout_s)
    )
    try:
        with console.status("running the study...") as status:
            res = run_paper(
                cfg,
                progress=lambda msg: status.update(f"[{time.perf_counter() - start:5.1f} s] {msg}"),
                executor=executor,
            )
    finally:
        executor.close()
    written = write_outputs(res, out)
    from sod.report.paper import summary_text

    typer.echo(summary_text(res))
    typer.echo(
        f"wrote {len(written)} files to {out}/ (report: {out / 'report.html'}) "
        f"in {time.perf_counter() - start:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("paper")(paper_command)
