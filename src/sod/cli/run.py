"""``sod models`` and ``sod run``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sod.arch.spec import Architecture, Dataflow, parse_array
from sod.errors import SodError, WorkloadError
from sod.report.tables import result_csv, result_json, result_table
from sod.study.run import run_dense
from sod.workload.gemm import Workload
from sod.workload.topology_csv import read_topology
from sod.workload.zoo import ZOO, get_model


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class TopologyKind(StrEnum):
    AUTO = "auto"
    CONV = "conv"
    GEMM = "gemm"


def load_workload(model: str | None, topology: Path | None, batch: int, seq_len: int | None,
                  topology_format: str = "auto", scalesim_ofmap: bool = False) -> Workload:
    """The workload named on the command line (exactly one source)."""
    if (model is None) == (topology is None):
        raise WorkloadError("give exactly one of --model or --topology")
    if batch <= 0:
        raise WorkloadError(f"--batch must be positive, got {batch}")
    if seq_len is not None and seq_len <= 0:
        raise WorkloadError(f"--seq-len must be positive, got {seq_len}")
    if model is not None:
        return get_model(model, batch=batch, seq_len=seq_len)
    assert topology is not None
    return read_topology(topology, fmt=topology_format, scalesim_ofmap=scalesim_ofmap)  # type: ignore[arg-type]


def models_command() -> None:
    """List the built-in networks."""
    table = Table(title="built-in networks (sod run --model NAME)")
    for col in ("name", "description", "layers", "weights (M)", "MACs (G)"):
        table.add_column(col, justify="left" if col in ("name", "description") else "right")
    for name, entry in ZOO.items():
        w = get_model(name)
        seq = f" (seq {w.seq_len})" if w.seq_len else ""
        table.add_row(name, entry.description + seq, str(len(w)), f"{w.weight_count / 1e6:,.2f}",
                      f"{w.macs / 1e9:,.3f}")
    Console().print(table)


def run_command(
    model: str | None = typer.Option(None, "--model", "-m", help="zoo network (see `sod models`)"),
    topology: Path | None = typer.Option(None, "--topology", "-t",
                                         help="SCALE-Sim topology CSV instead of --model"),
    topology_format: TopologyKind = typer.Option(TopologyKind.AUTO, help="topology CSV format"),
    scalesim_ofmap: bool = typer.Option(
        False, help="compute conv output sizes as SCALE-Sim does (ceil), for cross-checks"),
    array: str = typer.Option("32x32", "--array", "-a", help="PE array ROWSxCOLS"),
    dataflow: Dataflow = typer.Option(Dataflow.WS, "--dataflow", "-d", help="ws, os or is"),
    batch: int = typer.Option(1, help="batch size"),
    seq_len: int | None = typer.Option(None, help="sequence length (transformers; default 128)"),
    frequency_mhz: float = typer.Option(1000.0, help="clock frequency in MHz"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="output format"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the output here"),
) -> None:
    """Evaluate a workload on a systolic array; per-layer table and totals."""
    rows, cols = parse_array(array)
    if frequency_mhz <= 0:
        raise SodError(f"--frequency-mhz must be positive, got {frequency_mhz}")
    workload = load_workload(model, topology, batch, seq_len, topology_format.value,
                             scalesim_ofmap)
    arch = Architecture(array_rows=rows, array_cols=cols, dataflow=dataflow,
                        frequency_mhz=frequency_mhz, ideal_memory=True)
    result = run_dense(workload, arch)
    console = Console(width=None if Console().is_terminal else 160)
    if fmt is OutputFormat.TABLE:
        console.print(result_table(result))
        t = result.total
        console.print(f"cycles {t['cycles']:,}  latency {t['latency_ms']:.3f} ms  "
                      f"utilization {t['utilization']:.3f}  "
                      f"effective {t['effective_gops']:,.1f} GOP/s at {frequency_mhz:g} MHz")
        text = None
    else:
        text = result_json(result) if fmt is OutputFormat.JSON else result_csv(result)
        typer.echo(text, nl=False if text.endswith("\n") else True)
    if out is not None:
        if text is None:
            text = result_json(result)
        try:
            out.write_text(text if text.endswith("\n") else text + "\n")
        except OSError as err:
            raise SodError(f"cannot write {out}: {err.strerror}") from None


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
    app.command("run")(run_command)
