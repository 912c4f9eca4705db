"""``sod paper``: the paper's study on built-in defaults, written to an output folder."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from sod.cli.run import MAX_MEMORY_HELP
from sod.errors import SodError
from sod.limits import DEFAULT_MAX_MEMORY_GB
from sod.study.compare import DEFAULT_BUDGET_MM2
from sod.study.executors import InlineExecutor, check_address, check_timeout, make_executor
from sod.study.paper import PaperConfig, check_memory, run_paper


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
    workloads: list[str] = typer.Option(
        [],
        "--workload",
        "-w",
        help="a network to study instead of the paper's (repeatable): a zoo name, an .onnx, "
        ".csv or Timeloop .yaml file, 'file.py:callable' or torchvision:NAME; the first "
        "one also drives the ablation, density, batch and map sections",
    ),
    sparsity: str | None = typer.Option(
        None,
        "--sparsity",
        help="profile for every --workload (default: auto for zoo networks, the network's "
        "own pruning otherwise)",
    ),
    max_memory_gb: float = typer.Option(
        DEFAULT_MAX_MEMORY_GB, "--max-memory-gb", help=MAX_MEMORY_HELP
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
    if not (0 < max_memory_gb < float("inf")):
        raise SodError(f"--max-memory-gb must be a positive number, got {max_memory_gb}")
    if workloads:
        cfg = _with_workloads(cfg, workloads, sparsity, max_memory_gb)
    check_memory(cfg, max_memory_gb)
    executor = (
        InlineExecutor()
        if scheduler is None and workers == 1
        else make_executor(workers, scheduler, connect_timeout_s)
    )
    try:
        with _progress(console, start) as on_count:
            res = run_paper(cfg, executor=executor, on_count=on_count)
    finally:
        executor.close()
    written = write_outputs(res, out)
    from sod.report.paper import summary_text

    typer.echo(summary_text(res))
    typer.echo(
        f"wrote {len(written)} files to {out}/ (report: {out / 'report.html'}) "
        f"in {time.perf_counter() - start:.1f} s"
    )


def _with_workloads(
    cfg: PaperConfig, sources: list[str], sparsity: str | None, max_memory_gb: float
) -> PaperConfig:
    """The study on the user's networks: each is checked now (a one-line error before the
    study starts), the first drives the single-network sections."""
    import dataclasses

    from sod.study.sources import load_any
    from sod.workload.zoo import zoo_key

    entries = []
    for source in sources:
        profile = sparsity or ("auto" if zoo_key(source) else "keep")
        # fail early, with one line
        load_any(source, sparsity=profile, seed=cfg.seed, max_memory_gb=max_memory_gb)
        entries.append((source, source, profile))
    first, _, profile = entries[0]
    return dataclasses.replace(
        cfg,
        workloads=tuple(entries),
        ablation_models=((first, profile),),
        batch_model=(first, profile),
        sweep_model=first,
        beyond_workloads=(),  # the study is about the user's networks
    )


@contextlib.contextmanager
def _progress(console: Console, start: float) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with ETA on a terminal; a plain line every ~10 % otherwise."""
    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("sod paper"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("task groups"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("study", total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update
        return
    last = [0.0]

    def line(done: int, total: int) -> None:
        if done < total and done / total < last[0] + 0.1:
            return
        last[0] = done / total
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (total - done)
        console.print(
            f"[{elapsed:6.1f} s] {done}/{total} task groups done, ETA {eta:.0f} s",
            markup=False,
            highlight=False,
        )

    yield line


def register(app: typer.Typer) -> None:
    app.command("paper")(paper_command)
