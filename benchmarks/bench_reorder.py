"""Weight reordering (sod.compiler.reorder): what it gains on real and structured masks.

For AlexNet and VGG-16 under han2015 (unstructured), block:8:0.3 (block-structured) and
han2015 with half the channels pruned (channel-structured: random input channels of every
layer but the first and random output channels of every layer but the last, on top of
han2015), prints per network and profile: the fraction of all-zero 32×32 weight tiles in
the natural order and after reordering, and the total cycles of the sparse-on-dense and
sparse-on-dense-reorder presets (and their ratio).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_reorder.py [--nets alexnet,vgg16]
        [--dataflow auto|ws|os|is] [--profiles han2015,block:8:0.3,...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sod.arch.presets import load_arch
from sod.compiler.reorder import weight_reorder, zero_tile_fraction
from sod.models.operands import operand_masks
from sod.models.sparse_on_dense import evaluate
from sod.sparsity.apply import apply_sparsity
from sod.workload.gemm import LayerKind, Workload
from sod.workload.mask import BitMask
from sod.workload.zoo import get_model

ARRAY = 32


def channel_pruned(wl: Workload, keep: float, seed: int) -> Workload:
    """han2015 masks with whole channels removed: each layer keeps a random ``keep``
    fraction of its input channels (not the first layer: the image) and of its output
    channels (not the last: the classes)."""
    rng = np.random.default_rng(seed)
    gemms = list(wl)
    weights = [i for i, g in enumerate(gemms) if g.w_is_weight and g.weight_mask is not None]
    for j, i in enumerate(weights):
        g = gemms[i]
        w = g.weight_mask.to_bool()
        per_channel = g.conv.kernel_h * g.conv.kernel_w if g.kind == LayerKind.CONV else 1
        if j > 0:
            chans = rng.random(w.shape[0] // per_channel) < keep
            w = w & np.repeat(chans, per_channel)[: w.shape[0], None]
        if j < len(weights) - 1:
            w = w & (rng.random(w.shape[1]) < keep)[None, :]
        gemms[i] = g.with_(weight_mask=BitMask.from_bool(w), weight_density=float(w.mean()))
    return wl.with_gemms(gemms)


def zero_tiles(wl: Workload) -> tuple[float, float]:
    """Fraction of zero ARRAY×ARRAY tiles over all weight layers, natural and reordered
    (WS's rule: the reorder that minimizes non-zero tiles)."""
    before = after = total = 0.0
    for g in wl:
        if not g.w_is_weight:
            continue
        for w in operand_masks(g).weight:
            tiles = -(-w.shape[0] // ARRAY) * -(-w.shape[1] // ARRAY)
            perm = weight_reorder(w, ARRAY, ARRAY, "ws", "sort")
            before += zero_tile_fraction(w, ARRAY, ARRAY) * tiles
            after += zero_tile_fraction(perm.apply(w), ARRAY, ARRAY) * tiles
            total += tiles
    return before / total, after / total


def cycles(wl: Workload, preset: str, dataflow: str) -> int:
    arch = load_arch(preset, dataflow=dataflow)
    return sum(evaluate(g, arch).cycles for g in wl)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", default="alexnet,vgg16")
    ap.add_argument("--dataflow", default="auto", help="auto | ws | os | is (the cycles)")
    ap.add_argument("--profiles", default="", help="comma-separated subset of the cases")
    args = ap.parse_args()
    print(f"{ARRAY}x{ARRAY} array, dataflow {args.dataflow}, TPU timing, seed 0")
    print(
        f"{'network':9} {'profile':16} {'zero tiles':>10} {'reordered':>10} "
        f"{'cycles SoD':>12} {'SoD-reorder':>12} {'speedup':>8} {'time s':>7}"
    )
    for net in args.nets.split(","):
        base = get_model(net)
        han = apply_sparsity(base, "han2015", seed=0)
        cases = {
            "han2015": han,
            "block:8:0.3": apply_sparsity(base, "block:8:0.3", seed=0),
            "han2015+chan0.5": channel_pruned(han, 0.5, seed=0),
            "asp (2:4)": apply_sparsity(base, "asp", seed=0),
        }
        for name, wl in cases.items():
            if args.profiles and name not in args.profiles.split(","):
                continue
            t0 = time.perf_counter()
            z0, z1 = zero_tiles(wl)
            c0 = cycles(wl, "sparse-on-dense", args.dataflow)
            c1 = cycles(wl, "sparse-on-dense-reorder", args.dataflow)
            print(
                f"{net:9} {name:16} {z0:10.3f} {z1:10.3f} {c0:12,} {c1:12,} "
                f"{c0 / c1:8.3f} {time.perf_counter() - t0:7.1f}"
            )


if __name__ == "__main__":
    main()
