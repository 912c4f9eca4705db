"""``sod compile``: write the GLB image (``.bin`` + ``.json`` manifest) of one pruned layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from sod.errors import SodError, WorkloadError


def layer_weights(gemm, group: int, seed: int) -> np.ndarray:
    """int8 W (k × n) of one layer: its real weights quantized, or seeded synthetic values
    on the layer's pruning mask (the compiler only cares where the non-zeros are)."""
    from sod.sparsity.apply import real_weight_matrix

    groups = gemm.operand_groups
    if not 0 <= group < groups:
        raise WorkloadError(
            f"layer {gemm.name!r} has {groups} weight group(s); --group {group} is out of range"
        )
    rows = slice(group * gemm.k, (group + 1) * gemm.k)
    real = real_weight_matrix(gemm)
    if real is not None:
        w = np.asarray(real, dtype=np.float64)[rows]
        scale = np.abs(w).max() / 127 if np.abs(w).max() > 0 else 1.0
        return np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    if gemm.weight_mask is None:
        keep = np.ones((gemm.k, gemm.n), dtype=bool)
    else:
        keep = gemm.stacked_weight_mask(groups)[group]
    rng = np.random.default_rng(seed)
    vals = rng.integers(1, 128, keep.shape) * rng.choice(np.array([-1, 1]), keep.shape)
    return np.where(keep, vals, 0).astype(np.int8)


def register(app: typer.Typer) -> None:
    @app.command("compile")
    def compile_cmd(
        out: Path = typer.Option(..., "--out", help="output path: writes OUT.bin and OUT.json"),
        model: str = typer.Option(None, "--model", help="zoo network (see `sod models`)"),
        layer: str = typer.Option(None, "--layer", help="layer name (default: the first)"),
        weights: Path = typer.Option(
            None, "--weights", help="a k x n integer .npy instead of --model"
        ),
        array: str = typer.Option("16x16", help="PE array ROWSxCOLS"),
        dataflow: str = typer.Option("ws", help="ws | os | is"),
        fmt: str = typer.Option("csc", "--format", help="csc | csr | coo | bitmap | rle | dense"),
        read_width: int = typer.Option(64, help="GLB read width in bits (multiple of 8)"),
        fallback: bool = typer.Option(True, help="store a tile dense when that is smaller"),
        reorder: str = typer.Option(
            "none", help="none | sort: permute W's rows and columns so zero tiles appear"
        ),
        value_bits: int = typer.Option(8, help="bits per stored value"),
        run_bits: int = typer.Option(4, help="RLE zero-run width"),
        sparsity: str = typer.Option(None, help="pruning profile (as `sod workload`)"),
        group: int = typer.Option(0, help="weight group of a grouped convolution"),
        seed: int = typer.Option(0, help="seed of pruning and synthetic values"),
    ) -> None:
        """Compile one pruned layer into the compressed GLB image a Sparse-on-Dense array holds."""
        from sod.arch.spec import parse_array
        from sod.compiler import compile_layer, make_options
        from sod.formats import FormatSpec

        rows, cols = parse_array(array)
        if (model is None) == (weights is None):
            raise WorkloadError("give exactly one of --model or --weights")
        from pydantic import ValidationError

        try:
            spec = FormatSpec(value_bits=value_bits, run_bits=run_bits)
        except ValidationError as err:
            raise SodError(f"bad width option: {err.errors()[0]['msg']}") from None
        opts = make_options(
            format=fmt,
            read_width_bits=read_width,
            dense_fallback=fallback,
            spec=spec,
            reorder=reorder,
        )
        if weights is not None:
            from sod.workload.npy import read_matrix

            w = read_matrix(weights)
            name = weights.stem
        else:
            from sod.cli.workload import load_sparse_workload

            wl = load_sparse_workload(model=model, sparsity=sparsity, seed=seed)
            names = [g.name for g in wl]
            pick = names[0] if layer is None else layer
            if pick not in names:
                raise WorkloadError(
                    f"model {model!r} has no layer {pick!r}; layers: "
                    f"{', '.join(names[:12])}{' ...' if len(names) > 12 else ''}"
                )
            gemm = wl.gemms[names.index(pick)]
            if not gemm.w_is_weight:
                raise WorkloadError(f"layer {pick!r} multiplies two activations: no weights")
            w = layer_weights(gemm, group, seed)
            name = pick
        image = compile_layer(w, rows, cols, dataflow, opts, name=name)
        bin_path, json_path = image.write(out)
        mf = image.manifest
        nnz = int(np.count_nonzero(w))
        typer.echo(
            f"{name}: W {mf['k']}x{mf['n']}, {nnz / w.size:.3f} dense, "
            f"{mf['tile_count']} tiles ({sum(mf['tiles']['format'])} stored dense), "
            f"{mf['payload_bits']} bits of {mf['dense_bits']} dense "
            f"({mf['payload_bits'] / mf['dense_bits']:.3f}); image {mf['image_bytes']} B"
        )
        if image.reorder is not None:
            from sod.compiler.reorder import zero_tile_fraction

            before = zero_tile_fraction(w != 0, rows, cols)
            after = zero_tile_fraction(image.reorder.apply(w != 0), rows, cols)
            typer.echo(
                f"reordered ({mf['reorder']}): zero tiles {before:.3f} -> {after:.3f} "
                "(permutations in the manifest)"
            )
        typer.echo(f"wrote {bin_path} and {json_path}")
