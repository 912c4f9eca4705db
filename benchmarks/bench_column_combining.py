"""Time column-combining packing on VGG-16 fc6 and a whole VGG-16 run (han2015 masks).

Packing fc6 (k = 25,088, n = 4,096) for a 32-column array with g = 8 at several packing
windows, then ``run_arch`` of the whole pruned VGG-16 on the column-combining preset.
Prints wall and CPU seconds (CPU is the steadier figure on a shared machine), the mean
packed length K' and the lines per packed row.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_column_combining.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy loads BLAS

import time

from sod.arch.presets import load_arch
from sod.mapping.column_combining import pack_columns, packed_tiles
from sod.models.operands import operand_masks
from sod.study.point import sparse_workload
from sod.study.run import run_arch


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    wl, wall, cpu = timed(lambda: sparse_workload("vgg16", "han2015", 0))
    print(f"VGG-16 han2015 masks: {wall:.2f} s wall, {cpu:.2f} s CPU")
    fc6 = next(g for g in wl if g.name == "fc6")
    w = operand_masks(fc6).weight[0]
    for window in (1, 8, 32):
        p, wall, cpu = timed(lambda window=window: pack_columns(w, 32, 8, window))
        pt = packed_tiles(w, p, 32)
        print(
            f"fc6 pack window {window:>2}: {wall:.2f} s wall, {cpu:.2f} s CPU; mean K' "
            f"{p.groups.mean():,.0f} of {w.shape[0]:,}; {pt.lines.sum() / p.groups.sum():.2f} "
            "lines per packed row"
        )
    run, wall, cpu = timed(lambda: run_arch(wl, load_arch("column-combining")))
    print(f"VGG-16 run_arch: {wall:.2f} s wall, {cpu:.2f} s CPU; {run.total.cycles:,} cycles")


if __name__ == "__main__":
    main()
