"""``sod models`` and ``sod run``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from sod.errors import SodError, WorkloadError
from sod.limits import (
    DEFAULT_ACT_IMAGES,
    DEFAULT_MAX_MEMORY_GB,
    MAX_BATCH,
    MAX_FREQUENCY_MHZ,
    MAX_SEED,
    MAX_SEQ_LEN,
    check_float,
    check_int,
)

if TYPE_CHECKING:
    pass

# Heavy modules (pydantic architectures, the models, reports) are imported inside the
# commands, so `sod models` and `sod --help` start fast.


ACT_IMAGES_HELP = (
    "activation patterns drawn per layer: a larger batch repeats them, image i using image "
    "i mod N's (bounds memory; docs/large-batch.md)"
)
MAX_MEMORY_HELP = (
    "refuse a request whose sparsity masks need more memory than this (GB, estimated "
    "before anything is built)"
)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class Dataflow(StrEnum):
    """The dataflow choices of ``--dataflow`` (the values of ``sod.arch.spec.Dataflow``)."""

    WS = "ws"
    OS = "os"
    IS = "is"


class TopologyKind(StrEnum):
    AUTO = "auto"
    CONV = "conv"
    GEMM = "gemm"


def check_sizes(batch: int, seq_len: int | None, seed: int = 0) -> None:
    """Check ``--batch``, ``--seq-len`` and ``--seed`` (one line naming the option)."""
    if batch <= 0:
        raise WorkloadError(f"--batch must be positive, got {batch}")
    check_int(batch, "--batch", 1, MAX_BATCH, WorkloadError)
    if seq_len is not None:
        if seq_len <= 0:
            raise WorkloadError(f"--seq-len must be positive, got {seq_len}")
        check_int(seq_len, "--seq-len", 1, MAX_SEQ_LEN, WorkloadError)
    check_int(seed, "--seed", 0, MAX_SEED)


def one_source(
    model: str | None,
    topology: Path | None,
    onnx: Path | None,
    torch_spec: str | None,
    batch: int,
    seq_len: int | None,
    seed: int = 0,
) -> str | Path:
    """The one workload source the options name, after checking --batch, --seq-len, --seed."""
    check_sizes(batch, seq_len, seed)
    sources = [x for x in (model, topology, onnx, torch_spec) if x is not None]
    if len(sources) != 1:
        raise SodError("give exactly one of --model, --topology, --onnx or --torch")
    return sources[0]


def models_command() -> None:
    """List the built-in networks."""
    from sod.workload.zoo import ZOO, get_model

    table = Table(title="built-in networks (sod run --model NAME)")
    for col in ("name", "description", "layers", "weights (M)", "MACs (G)"):
        table.add_column(col, justify="left" if col in ("name", "description") else "right")
    for name, entry in ZOO.items():
        w = get_model(name)
        seq = f" (seq {w.seq_len})" if w.seq_len else ""
        table.add_row(
            name,
            entry.description + seq,
            str(len(w)),
            f"{w.weight_count / 1e6:,.2f}",
            f"{w.macs / 1e9:,.3f}",
        )
    Console().print(table)


def run_command(
    model: str | None = typer.Option(None, "--model", "-m", help="zoo network (see `sod models`)"),
    topology: Path | None = typer.Option(
        None, "--topology", "-t", help="SCALE-Sim topology CSV instead of --model"
    ),
    onnx: Path | None = typer.Option(None, "--onnx", help="an ONNX model instead of --model"),
    torch_spec: str | None = typer.Option(
        None,
        "--torch",
        help="'module:callable' or 'file.py:callable' returning "
        "(torch module, example inputs), instead of --model",
    ),
    topology_format: TopologyKind = typer.Option(TopologyKind.AUTO, help="topology CSV format"),
    scalesim_ofmap: bool = typer.Option(
        False, help="compute conv output sizes as SCALE-Sim does (ceil), for cross-checks"
    ),
    arch_name: str = typer.Option(
        "dense", "--arch", help="architecture preset (see `sod archs`) or YAML file"
    ),
    array: str | None = typer.Option(
        None, "--array", "-a", help="PE array ROWSxCOLS (systolic architectures)"
    ),
    dataflow: Dataflow | None = typer.Option(
        None, "--dataflow", "-d", help="ws, os or is (default: the fastest per layer)"
    ),
    timing: str | None = typer.Option(
        None,
        "--timing",
        help="systolic timing: tpu (double-buffered, default) or scalesim (SCALE-Sim v3)",
    ),
    sparsity: str | None = typer.Option(
        None,
        "--sparsity",
        "-s",
        help="sparsity profile: han2015, uniform:D, global:D, nm:N:M, bert:D, llama:2:4, "
        "asp (2:4 CNNs), auto, dense (see docs/sparsity.md)",
    ),
    seed: int = typer.Option(0, help="seed of the sparsity generator"),
    ideal_memory: bool = typer.Option(
        False, "--ideal-memory", help="ignore GLB capacity and DRAM bandwidth"
    ),
    budget_mm2: float | None = typer.Option(
        None, "--budget-mm2", help="size the architecture to this chip area (iso-area)"
    ),
    node_nm: int | None = typer.Option(None, "--node", help="technology node in nm (45 default)"),
    batch: int = typer.Option(1, help="batch size"),
    act_images: int = typer.Option(DEFAULT_ACT_IMAGES, "--act-images", help=ACT_IMAGES_HELP),
    seq_len: int | None = typer.Option(None, help="sequence length (transformers; default 128)"),
    frequency_mhz: float | None = typer.Option(None, help="clock frequency in MHz"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="output format"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the output here"),
    max_memory_gb: float = typer.Option(
        DEFAULT_MAX_MEMORY_GB, "--max-memory-gb", help=MAX_MEMORY_HELP
    ),
) -> None:
    """Evaluate a workload on an architecture; per-layer table and totals."""
    from sod.arch.presets import load_arch
    from sod.arch.spec import parse_array
    from sod.report.tables import result_csv, result_json, result_table
    from sod.study.point import evaluate_run

    check_sizes(batch, seq_len, seed)
    check_int(act_images, "--act-images", 1, MAX_BATCH, WorkloadError)
    if budget_mm2 is not None:
        from sod.cost.sizing import check_budget

        check_budget(budget_mm2)
    overrides: dict[str, object] = {}
    if array is not None:
        overrides["array_rows"], overrides["array_cols"] = parse_array(array)
    if dataflow is not None:
        overrides["dataflow"] = dataflow.value
    if timing is not None:
        if timing not in ("tpu", "scalesim"):
            raise SodError(f"--timing must be tpu or scalesim, got {timing!r}")
        overrides["timing"] = timing
    if frequency_mhz is not None:
        if frequency_mhz <= 0:
            raise SodError(f"--frequency-mhz must be positive, got {frequency_mhz}")
        overrides["frequency_mhz"] = check_float(
            frequency_mhz, "--frequency-mhz", MAX_FREQUENCY_MHZ
        )
    if ideal_memory:
        overrides["ideal_memory"] = True
    arch = load_arch(arch_name, **overrides)
    systolic_only = ("array_rows", "dataflow", "timing")
    if any(o in overrides for o in systolic_only) and not hasattr(arch, "array_rows"):
        raise SodError(f"--array/--dataflow/--timing apply to systolic arrays, not to {arch.kind}")
    from sod.study.sources import load_any

    source = one_source(model, topology, onnx, torch_spec, batch, seq_len, seed)
    # A zoo network runs unpruned unless --sparsity says otherwise; imported networks keep
    # their own (pruned) weights and measured activations; a topology keeps its densities.
    loaded = load_any(
        source,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity if sparsity is not None else ("dense" if model is not None else None),
        seed=seed,
        topology_format=topology_format.value,
        scalesim_ofmap=scalesim_ofmap,
        max_memory_gb=max_memory_gb,
        act_images=act_images,
    )
    workload = loaded.workload
    point = evaluate_run(workload, arch, budget_mm2, node_nm)
    arch = point.arch
    console = Console(width=None if Console().is_terminal else 160)
    if fmt is OutputFormat.TABLE:
        console.print(result_table(point))
        t = point.to_dict()["total"]
        line = (
            f"cycles {t['cycles']:,} (stalls {t['stall_cycles']:,})  "
            f"latency {t['latency_ms']:.3f} ms  utilization {t['utilization']:.3f}  "
        )
        if "effective_utilization" in t:
            line += f"effective utilization {t['effective_utilization']:.3f}  "
        line += f"effective {t['effective_gops']:,.1f} GOP/s at {arch.frequency_mhz:g} MHz"
        console.print(line)
        console.print(
            f"area {t['area_mm2']:.3f} mm²  {t['gops_per_mm2']:,.1f} GOP/s/mm²  "
            f"energy {t['energy_per_inference_uj']:,.1f} µJ/inference  "
            f"{t['gops_per_w']:,.1f} GOP/s/W  DRAM {t['dram_mbytes']:,.2f} MB"
        )
        for note in point.run.notes:
            console.print(f"note: {note}", markup=False)
        console.print(f"masks: {loaded.masks}", markup=False)
        text = None
    else:
        text = result_json(point) if fmt is OutputFormat.JSON else result_csv(point)
        typer.echo(text, nl=False if text.endswith("\n") else True)
    if out is not None:
        if text is None:
            text = result_json(point)
        try:
            out.write_text(text if text.endswith("\n") else text + "\n")
        except OSError as err:
            raise SodError(f"cannot write {out}: {err.strerror}") from None


def archs_command() -> None:
    """List the architecture presets."""
    from sod.arch.presets import presets

    table = Table(title="architecture presets (sod run --arch NAME)")
    for col in ("name", "kind", "PEs / multipliers", "GLB KiB", "DRAM B/cycle", "MHz"):
        # A name is what the user types: folded onto two lines, never cut short.
        table.add_column(
            col,
            justify="left" if col in ("name", "kind") else "right",
            overflow="fold" if col == "name" else "ellipsis",
        )
    for name, arch in presets().items():
        table.add_row(
            name,
            arch.kind,
            f"{arch.pe_count:,}",
            f"{arch.glb_kib:g}",
            f"{arch.dram_bandwidth_bytes_per_cycle:g}",
            f"{arch.frequency_mhz:g}",
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
    app.command("run")(run_command)
    app.command("archs")(archs_command)
