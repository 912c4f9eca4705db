"""Benchmark: every zoo network on all three dataflows with the analytic dense model.

Target (issue 2): all of them together in under 1 s of CPU. For scale, SCALE-Sim 3.0.0
takes ~150 CPU-s and ~2.5 GB for AlexNet alone on a 32×32 array.

    .venv/bin/python benchmarks/bench_dense.py [--array 32x32] [--repeat 5]
"""

from __future__ import annotations

import argparse
import resource
import time

from sod.arch.spec import Architecture, Dataflow, parse_array
from sod.models.dense import evaluate_dense
from sod.workload.zoo import ZOO, get_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--array", default="32x32")
    parser.add_argument("--repeat", type=int, default=5, help="best of N timings")
    args = parser.parse_args()
    rows, cols = parse_array(args.array)

    def one_pass() -> tuple[int, int]:
        layers = cycles = 0
        for name in ZOO:
            workload = get_model(name)
            for df in Dataflow:
                arch = Architecture(array_rows=rows, array_cols=cols, dataflow=df)
                s = workload.shapes()
                counts = evaluate_dense(
                    s["m"], s["k"], s["n"], arch.array_rows, arch.array_cols, arch.dataflow
                )
                layers += len(workload.gemms)
                cycles += int((counts.compute_cycles * s["repeat"]).sum())
        return layers, cycles

    best_cpu = best_wall = float("inf")
    for _ in range(args.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        layers, _cycles = one_pass()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"dense model: {len(ZOO)} zoo networks x 3 dataflows on {rows}x{cols} "
        f"({layers} layer evaluations, workload construction included)"
    )
    print(f"  CPU time  {best_cpu * 1e3:8.1f} ms (best of {args.repeat}; target < 1000 ms)")
    print(f"  wall time {best_wall * 1e3:8.1f} ms")
    print(f"  peak RSS  {peak_mb:8.1f} MB")


if __name__ == "__main__":
    main()
