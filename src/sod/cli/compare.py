"""``sod compare``: one workload on every architecture at the same silicon area."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sod.arch.presets import PRESET_NAMES
from sod.cli.run import ACT_IMAGES_HELP, MAX_MEMORY_HELP, OutputFormat, one_source
from sod.errors import SodError, WorkloadError
from sod.limits import DEFAULT_ACT_IMAGES, DEFAULT_MAX_MEMORY_GB, MAX_BATCH, check_int
from sod.report.jsonio import dumps
from sod.study.compare import DEFAULT_BUDGET_MM2, REFERENCE_ARCH, compare

METRICS = [
    ("pes", "PEs", "{:,}"),
    ("area_mm2", "area mm²", "{:.2f}"),
    ("cycles", "cycles", "{:,}"),
    ("latency_ms", "latency ms", "{:.3f}"),
    ("gops_per_mm2", "GOP/s/mm²", "{:,.1f}"),
    ("energy_per_inference_uj", "µJ/inf", "{:,.1f}"),
    ("gops_per_w", "GOP/s/W", "{:,.1f}"),
    ("effective_utilization", "eff. util", "{:.3f}"),
]


def compare_command(
    model: str | None = typer.Option(None, "--model", "-m", help="zoo network"),
    topology: Path | None = typer.Option(None, "--topology", "-t", help="SCALE-Sim topology"),
    onnx: Path | None = typer.Option(None, "--onnx", help="an ONNX model instead of --model"),
    torch_spec: str | None = typer.Option(
        None,
        "--torch",
        help="'file.py:callable' or 'module:callable' returning (torch module, example "
        "inputs), instead of --model",
    ),
    sparsity: str | None = typer.Option(
        None,
        "--sparsity",
        "-s",
        help="sparsity profile (default: auto for zoo networks, the model's own pruning for "
        "--onnx/--torch, the densities in a topology file)",
    ),
    seed: int = typer.Option(0, help="seed of the sparsity generator"),
    archs: str = typer.Option(
        ",".join(PRESET_NAMES), "--archs", help="comma-separated presets or YAML files"
    ),
    budget_mm2: float = typer.Option(
        DEFAULT_BUDGET_MM2, "--budget-mm2", help="chip area every architecture is sized to"
    ),
    node_nm: int | None = typer.Option(None, "--node", help="technology node in nm"),
    batch: int = typer.Option(1, help="batch size"),
    act_images: int = typer.Option(DEFAULT_ACT_IMAGES, "--act-images", help=ACT_IMAGES_HELP),
    seq_len: int | None = typer.Option(None, help="sequence length (transformers)"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f"),
    max_memory_gb: float = typer.Option(
        DEFAULT_MAX_MEMORY_GB, "--max-memory-gb", help=MAX_MEMORY_HELP
    ),
) -> None:
    """Dense or sparse PEs for this pruned network, at this area? Iso-area comparison."""
    from sod.cost.sizing import check_budget
    from sod.study.sources import load_any

    check_budget(budget_mm2)
    source = one_source(model, topology, onnx, torch_spec, batch, seq_len, seed)
    check_int(act_images, "--act-images", 1, MAX_BATCH, WorkloadError)
    loaded = load_any(
        source,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity,
        seed=seed,
        max_memory_gb=max_memory_gb,
        act_images=act_images,
    )
    names = [a.strip() for a in archs.split(",") if a.strip()]
    if not names:
        raise SodError("--archs is empty")
    result = compare(loaded.workload, names, budget_mm2, node_nm, loaded.masks, batch)
    if not result.results:
        raise SodError(
            "no architecture could be evaluated: "
            + "; ".join(f"{k}: {v}" for k, v in result.failures.items())
        )
    ratios = result.ratios()
    if fmt is OutputFormat.JSON:
        typer.echo(
            dumps(
                {
                    "workload": result.workload,
                    "budget_mm2": result.budget_mm2,
                    "batch": result.batch,
                    "masks": result.masks,
                    "verdict": result.verdict(),
                    "reference": REFERENCE_ARCH,
                    "results": {
                        k: {
                            **v.metrics.to_row(),
                            "area_um2": v.area_parts_um2,
                            "energy_pj_by_component": v.energy_by_component_pj,
                        }
                        for k, v in result.results.items()
                    },
                    "ratios_vs_reference": ratios,
                    "failures": result.failures,
                },
                indent=2,
            )
        )
        return
    if fmt is OutputFormat.CSV:
        keys = ["arch"] + [k for k, _, _ in METRICS]
        typer.echo(",".join(keys))
        for name, r in result.results.items():
            typer.echo(",".join([name] + [str(r.metrics.to_row().get(k, "")) for k in keys[1:]]))
        return
    console = Console(width=None if Console().is_terminal else 160)
    table = Table(title=f"{result.workload} at {budget_mm2:g} mm² (iso-area)")
    table.add_column("architecture")
    for _, label, _ in METRICS:
        table.add_column(label, justify="right")
    for name, r in result.results.items():
        table.add_row(name, *(f.format(getattr(r.metrics, k)) for k, _, f in METRICS))
    console.print(table)
    if ratios:
        rt = Table(title=f"{REFERENCE_ARCH} advantage (x; >1 = {REFERENCE_ARCH} better)")
        rt.add_column("vs")
        for col in ("gops_per_mm2", "gops_per_w", "energy_per_inference_uj", "latency_ms"):
            rt.add_column(col, justify="right")
        for name, row in ratios.items():
            if name != REFERENCE_ARCH:
                rt.add_row(
                    name,
                    *(
                        f"{row.get(c, float('nan')):.2f}"
                        for c in (
                            "gops_per_mm2",
                            "gops_per_w",
                            "energy_per_inference_uj",
                            "latency_ms",
                        )
                    ),
                )
        console.print(rt)
    at = Table(title="area breakdown (mm²)")
    parts = sorted({p for r in result.results.values() for p in r.area_parts_um2})
    at.add_column("architecture")
    for p in parts:
        at.add_column(p, justify="right")
    for name, r in result.results.items():
        at.add_row(name, *(f"{r.area_parts_um2.get(p, 0) / 1e6:.3f}" for p in parts))
    console.print(at)
    for name, why in result.failures.items():
        console.print(f"[yellow]not evaluated[/]: {name}: {why}")
    console.print(f"masks: {loaded.masks}", markup=False)
    console.print(f"verdict: {result.verdict()}", markup=False, style="bold")
    console.print(
        "the verdict moves with budget and batch (batch 1 leaves a systolic array idle on "
        "FC layers): rerun with --batch or --budget-mm2, or see `sod paper`'s sensitivity "
        "sections.",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
