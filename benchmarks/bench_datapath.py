#!/usr/bin/env python3
"""Datapath benchmark: prints the issue-4 speed figures and a few agreement checks.

1. Cycle-level systolic array, 16×16, on a 256×256×256 int8 GEMM (WS, OS, IS): seconds,
   exactness against numpy, cycles against the analytic dense model (target < 5 s).
2. Exact compressed sizes of every VGG-16 layer from the masks (fast path), for each format:
   seconds (target < 5 s for CSC) and the compressed / dense ratio.
3. The real encoder on one layer, and its sizes against the fast path.
4. End to end (image -> decompressor -> array) on one pruned layer against the analytic
   timing, for several GLB read widths.

Run: ``.venv/bin/python benchmarks/bench_datapath.py`` (single-threaded numpy advised:
``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import time

import numpy as np

import sod.compiler as sc
from sod.formats import FORMATS
from sod.models.decompressor import layer_timing
from sod.models.dense import evaluate_dense
from sod.reference.sparse_on_dense import run_layer
from sod.reference.systolic import run_dense
from sod.sparsity import apply_sparsity
from sod.workload.zoo import get_model


def array_speed() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (256, 256)).astype(np.int8)
    w = rng.integers(-128, 128, (256, 256)).astype(np.int8)
    ref = a.astype(np.int32) @ w.astype(np.int32)
    print("1. cycle-level array 16x16, GEMM 256x256x256")
    for df in ("ws", "os", "is"):
        t0 = time.perf_counter()
        res = run_dense(a, w, 16, 16, df)
        dt = time.perf_counter() - t0
        model = int(evaluate_dense(256, 256, 256, 16, 16, df).compute_cycles[0])
        print(
            f"   {df}: {dt:6.2f} s  cycles {res.cycles} (analytic {model})  "
            f"exact={np.array_equal(res.output, ref)}"
        )


def vgg_sizes() -> None:
    wl = apply_sparsity(get_model("vgg16"), "auto", seed=0)
    masks = [g.weight_mask.to_bool() for g in wl]
    dense_bits = sum(m.size * 8 for m in masks)
    print(
        f"2. exact compressed sizes, VGG-16 ({len(masks)} layers, "
        f"{sum(m.size for m in masks) / 1e6:.1f} M weights, density "
        f"{sum(m.sum() for m in masks) / sum(m.size for m in masks):.3f}), 16x16 WS tiles"
    )
    for fmt in FORMATS:
        opts = sc.make_options(format=fmt)
        t0 = time.perf_counter()
        total = 0
        for m in masks:
            grid = sc.TileGrid(m.shape[0], m.shape[1], 16, 16, "ws")
            total += sc.fast_tiles(m, grid, opts, with_need=False).total_bits
        dt = time.perf_counter() - t0
        print(
            f"   {fmt:6s}: {dt:6.2f} s  {total / 8e6:8.2f} MB  ({total / dense_bits:.3f} of dense)"
        )


def encoder_check() -> None:
    wl = apply_sparsity(get_model("vgg16"), "auto", seed=0)
    g = next(x for x in wl if x.name == "conv3_1")
    keep = g.weight_mask.to_bool()
    rng = np.random.default_rng(1)
    w = np.where(keep, rng.integers(1, 128, keep.shape), 0).astype(np.int8)
    print(f"3. real encoder, VGG-16 conv3_1 ({w.shape[0]}x{w.shape[1]}), 16x16 WS")
    for fmt in FORMATS:
        opts = sc.make_options(format=fmt)
        t0 = time.perf_counter()
        img = sc.compile_layer(w, 16, 16, "ws", opts)
        dt = time.perf_counter() - t0
        fast = sc.fast_tiles(keep, img.grid, opts)
        same = np.array_equal(fast.size_bits, img.manifest["tiles"]["size_bits"])
        print(
            f"   {fmt:6s}: encode {dt:6.2f} s, {img.manifest['payload_bits']} bits, "
            f"fast path equal: {same}"
        )


def end_to_end() -> None:
    rng = np.random.default_rng(2)
    m, k, n = 64, 288, 64
    w = np.where(rng.random((k, n)) < 0.35, rng.integers(-127, 128, (k, n)), 0).astype(np.int8)
    keep = w != 0
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    ref = a.astype(np.int32) @ w.astype(np.int32)
    print(f"4. end to end, GEMM {m}x{k}x{n}, W density 0.35, 16x16 array, CSC")
    for df in ("ws", "os", "is"):
        for width in (32, 64, 128):
            opts = sc.make_options(format="csc", read_width_bits=width)
            t0 = time.perf_counter()
            run = run_layer(a, sc.compile_layer(w, 16, 16, df, opts))
            dt = time.perf_counter() - t0
            model = layer_timing(keep, m, 16, 16, df, opts)
            print(
                f"   {df} B={width:3d}: {dt:5.2f} s  cycles {run.cycles} (analytic "
                f"{model.cycles}, dense {model.dense_cycles}, stalls {run.stall_cycles})  "
                f"exact={np.array_equal(run.output, ref)}"
            )


if __name__ == "__main__":
    array_speed()
    vgg_sizes()
    encoder_check()
    end_to_end()
