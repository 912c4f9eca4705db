"""``sod workload``: per-layer shapes, densities and sparsity-pattern statistics.

:func:`load_sparse_workload` turns ``--model/--onnx/--torch`` plus ``--sparsity/--seed``
into a masked :class:`~sod.workload.gemm.Workload` through the shared resolver
(:func:`sod.study.sources.load_any`) that ``run``, ``compare`` and ``paper`` use too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from sod.cli.run import ACT_IMAGES_HELP, MAX_MEMORY_HELP
from sod.errors import SodError, WorkloadError
from sod.limits import (
    DEFAULT_ACT_IMAGES,
    DEFAULT_MAX_MEMORY_GB,
    MAX_ARRAY_DIM,
    MAX_BATCH,
    check_int,
)
from sod.sparsity import pattern_stats, tile_counts
from sod.workload.gemm import Gemm, Workload


def load_sparse_workload(
    model: str | None = None,
    onnx: Path | None = None,
    torch_spec: str | None = None,
    batch: int = 1,
    seq_len: int | None = None,
    sparsity: str | None = None,
    seed: int = 0,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> Workload:
    """Exactly one of ``model`` (any source :func:`sod.study.sources.load_any` takes by
    name), ``onnx`` or ``torch_spec``, masked by ``sparsity`` (default: ``auto`` for zoo
    networks, ``keep`` for imported ones — their own pruning, measured activations)."""
    from sod.cli.run import one_source
    from sod.study.sources import load_any

    source = one_source(model, None, onnx, torch_spec, batch, seq_len, seed)
    return load_any(
        source,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity,
        seed=seed,
        max_memory_gb=max_memory_gb,
        act_images=act_images,
    ).workload


def _kernel_area(g: Gemm) -> int:
    return g.conv.kernel_h * g.conv.kernel_w if g.conv is not None else 1


def layer_rows(workload: Workload, tile: tuple[int, int]) -> list[dict[str, object]]:
    """One dict per GEMM: shape, densities, weight pattern stats, empty weight tiles."""
    rows = []
    for g in workload:
        row: dict[str, object] = {
            "layer": g.name,
            "kind": g.kind.value,
            "m": g.m,
            "k": g.k,
            "n": g.n,
            "repeat": g.repeat,
            "input": g.input_activation.value,
            "weight_density": g.weight_density,
            "act_density": g.act_density,
        }
        mask = g.weight_mask
        if mask is not None and g.w_is_weight:
            stats = pattern_stats(mask, _kernel_area(g))
            row.update(
                {
                    "out_cv": stats.out_cv,
                    "in_cv": stats.in_cv,
                    "empty_kernel_frac": stats.empty_kernel_frac,
                    "zero_run_p99": stats.zero_run_p99,
                }
            )
            # Tiles are cut from the stored mask: with stacked groups a tile may straddle
            # two groups when the tile rows do not divide k.
            counts = tile_counts(mask, *tile)
            row["empty_tile_frac"] = float(np.mean(counts == 0))
            row["stacked"] = g.operand_groups > 1
        rows.append(row)
    return rows


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def workload_command(
    model: str | None = typer.Option(None, "--model", "-m", help="zoo network (see `sod models`)"),
    onnx: Path | None = typer.Option(None, "--onnx", help="ONNX model file"),
    torch_spec: str | None = typer.Option(
        None, "--torch", help="MODULE:CALLABLE or FILE.py:CALLABLE returning (model, inputs)"
    ),
    sparsity: str | None = typer.Option(
        None,
        "--sparsity",
        "-s",
        help="profile: han2015, uniform:D, global:D, rowbal:D, nm:N:M, block:B:D, bert[:D], "
        "llama[:D|:N:M], resnet[:D], mobilenet[:D], auto, dense, keep "
        "(options ,weights=iid ,act=D); default auto (zoo) / keep (imports)",
    ),
    seed: int = typer.Option(0, "--seed", help="seed of synthetic weights and activations"),
    batch: int = typer.Option(1, help="batch size"),
    act_images: int = typer.Option(DEFAULT_ACT_IMAGES, "--act-images", help=ACT_IMAGES_HELP),
    seq_len: int | None = typer.Option(None, help="sequence length (transformers; default 128)"),
    tile: str = typer.Option("32x32", help="weight tile ROWSxCOLS for the empty-tile fraction"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    max_memory_gb: float = typer.Option(
        DEFAULT_MAX_MEMORY_GB, "--max-memory-gb", help=MAX_MEMORY_HELP
    ),
) -> None:
    """Per-layer shapes, weight/activation densities and sparsity-pattern statistics."""
    try:
        tr, tc = (int(x) for x in tile.lower().replace("×", "x").split("x"))
    except ValueError:
        raise SodError(f"--tile must be ROWSxCOLS, got {tile!r}") from None
    if tr <= 0 or tc <= 0:
        raise SodError(f"--tile must be positive, got {tile!r}")
    if max(tr, tc) > MAX_ARRAY_DIM:
        raise SodError(f"--tile sides must be at most {MAX_ARRAY_DIM:,}, got {tile!r}")
    if sparsity is not None and not sparsity.strip():
        raise SodError("--sparsity is empty")
    check_int(act_images, "--act-images", 1, MAX_BATCH, WorkloadError)
    workload = load_sparse_workload(
        model, onnx, torch_spec, batch, seq_len, sparsity, seed, max_memory_gb, act_images
    )
    rows = layer_rows(workload, (tr, tc))
    stored = workload.weight_count
    nnz = sum(g.weight_density * g.weight_count for g in workload)
    total = {
        "weights": stored,
        "nonzero_weights": round(nnz),
        "weight_density": nnz / stored if stored else float("nan"),
        "macs": workload.macs,
    }
    if as_json:
        from sod.report.jsonio import dumps as strict_json

        typer.echo(
            strict_json({"workload": workload.name, "layers": rows, "total": total}, indent=1)
        )
        return
    cols = [
        ("layer", "layer"),
        ("kind", "kind"),
        ("m", "m"),
        ("k", "k"),
        ("n", "n"),
        ("repeat", "rep"),
        ("input", "input"),
        ("weight_density", "W dens"),
        ("act_density", "A dens"),
        ("out_cv", "out CV"),
        ("in_cv", "in CV"),
        ("empty_kernel_frac", "empty kern"),
        ("zero_run_p99", "p99 0-run"),
        ("empty_tile_frac", f"empty {tr}x{tc}"),
    ]
    table = Table(title=f"{workload.name}: sparsity {sparsity or 'default'}, seed {seed}")
    for _, head in cols:
        table.add_column(head, justify="left" if head in ("layer", "kind", "input") else "right")
    for row in rows:
        table.add_row(*(_fmt(row.get(key)) for key, _ in cols))
    console = Console(width=None if Console().is_terminal else 180)
    console.print(table)
    console.print(
        f"weights {stored:,}  non-zero {round(nnz):,}  density "
        f"{_fmt(total['weight_density'], 4)}  MACs {workload.macs:,}"
    )


def register(app: typer.Typer) -> None:
    app.command("workload")(workload_command)
