"""Benchmark (issue 6): every architecture preset on BERT-base (seq 128, 90 % weight
sparsity) and on VGG-16 with Han et al.'s profile — performance models with their memory
system, area and energy. Targets: BERT-base < 10 s, VGG-16 < 20 s, one core, < 4 GB.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_presets.py

Times are split into building the sparse workload (masks; ``sod.sparsity``) and
evaluating the five presets, and both are reported.
"""

from __future__ import annotations

import os
import resource
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from sod.arch.presets import PRESET_NAMES, load_arch
from sod.sparsity.apply import apply_sparsity
from sod.study.point import evaluate_run
from sod.workload.zoo import get_model


def bench(model: str, profile: str, seq_len: int | None, target_s: float) -> None:
    c0, w0 = time.process_time(), time.perf_counter()
    workload = apply_sparsity(get_model(model, seq_len=seq_len), profile, seed=0)
    mask_cpu, mask_wall = time.process_time() - c0, time.perf_counter() - w0
    per_arch = {}
    for name in PRESET_NAMES:
        c1 = time.process_time()
        evaluate_run(workload, load_arch(name))
        per_arch[name] = time.process_time() - c1
    total_cpu = time.process_time() - c0
    print(
        f"{model} ({profile}): masks {mask_cpu:.2f} s CPU ({mask_wall:.2f} s wall); "
        + ", ".join(f"{k} {v:.2f} s" for k, v in per_arch.items())
    )
    print(f"  all five presets incl. masks: {total_cpu:.2f} s CPU (target < {target_s:g} s)")


def main() -> None:
    bench("bert-base", "bert:0.1", 128, 10.0)
    bench("vgg16", "han2015", None, 20.0)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS {peak_gb:.2f} GB (target < 4 GB)")


if __name__ == "__main__":
    main()
