"""Benchmark (issue 13 item 6): how fast every preset evaluates VGG-16 with Han et al.'s
profile, against one numpy pass over the workload's mask bits. Target: each preset within
6x that pass, peak RSS < 300 MB.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fast_sparse.py [--model M]

Prints, on one core (CPU time, the steadier figure on a shared machine):

* **one pass** over the mask bits: for every layer's weight and activation BitMask,
  ``np.count_nonzero(np.unpackbits(packed))`` — each mask bit visited once as a byte, the
  least a model taking boolean masks must do. The popcount of the packed bytes
  (``np.bitwise_count``, 8 bits per byte visited) is printed too, for scale.
* mask generation with a cold on-disk cache (a fresh temporary ``SOD_CACHE_DIR``) and a
  warm one (the same directory again);
* per preset: the CPU time of ``evaluate_run`` (performance model with its memory system,
  area and energy) and its ratio to the pass, and the peak RSS of a fresh process that
  loads the masks (warm cache) and evaluates that preset alone (the baseline: the same
  process after loading the masks, before evaluating).

The content memos of the mask kernels (:mod:`sod.models.memo`) are cleared before every
preset, so no preset reuses another's (or a previous run's) work.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy loads BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

#: Issue 13 item 6: every preset within this many one-pass times, and below this peak.
TARGET_RATIO = 6.0
TARGET_PEAK_MB = 300


def _rss_mb() -> float:
    """Peak RSS of this process in MB: ``VmHWM`` (Linux; the high-water mark of this
    process's own memory — ``ru_maxrss`` would also count the parent's at fork time),
    else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _workload(model: str, profile: str, seed: int):
    from sod.sparsity.apply import apply_sparsity
    from sod.workload.zoo import get_model

    return apply_sparsity(get_model(model), profile, seed=seed)


def _masks(workload) -> list:
    return [m for g in workload for m in (g.weight_mask, g.act_mask) if m is not None]


def one_pass_s(workload, repeats: int = 3) -> tuple[float, float, int]:
    """(unpacked pass CPU s, packed popcount CPU s, mask bits), best of ``repeats``."""
    masks = _masks(workload)
    bits = sum(m.size for m in masks)
    best_u = best_p = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        nnz_u = sum(int(np.count_nonzero(np.unpackbits(m.packed))) for m in masks)
        c1 = time.process_time()
        nnz_p = sum(int(np.bitwise_count(m.packed).sum(dtype=np.int64)) for m in masks)
        c2 = time.process_time()
        assert nnz_u == nnz_p
        best_u, best_p = min(best_u, c1 - c0), min(best_p, c2 - c1)
    return best_u, best_p, bits


def _clear_memos() -> None:
    from sod.models import memo

    memo.clear_all()


def child(model: str, profile: str, seed: int, preset: str) -> None:
    """Evaluate one preset in this (fresh) process; print a JSON line."""
    from sod.arch.presets import load_arch
    from sod.study.point import evaluate_run

    wl = _workload(model, profile, seed)
    base = _rss_mb()
    c0 = time.process_time()
    evaluate_run(wl, load_arch(preset))
    cpu = time.process_time() - c0
    print(json.dumps({"cpu_s": cpu, "base_mb": base, "peak_mb": _rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--profile", default="han2015")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.profile, args.seed, args.child)
        return

    from sod.arch.presets import PRESET_NAMES, load_arch
    from sod.study.point import evaluate_run

    with tempfile.TemporaryDirectory(prefix="sod-bench-cache-") as cache:
        os.environ["SOD_CACHE_DIR"] = cache
        c0 = time.process_time()
        _workload(args.model, args.profile, args.seed)
        cold = time.process_time() - c0
        c0 = time.process_time()
        wl = _workload(args.model, args.profile, args.seed)
        warm = time.process_time() - c0
        pass_u, pass_p, bits = one_pass_s(wl)
        print(
            f"{args.model} {args.profile} (seed {args.seed}): {len(wl)} GEMMs, "
            f"{bits / 8e6:.1f} MB of packed mask bits"
        )
        print(
            f"  one pass (unpackbits + count_nonzero) {pass_u:.3f} s CPU; "
            f"packed popcount {pass_p:.3f} s"
        )
        print(f"  masks: cold cache {cold:.2f} s CPU, warm cache {warm:.2f} s CPU")
        total = 0.0
        slow, big = [], []
        for name in PRESET_NAMES:
            _clear_memos()
            c0 = time.process_time()
            evaluate_run(wl, load_arch(name))
            cpu = time.process_time() - c0
            total += cpu
            cmd = [sys.executable, __file__, "--model", args.model, "--profile", args.profile]
            cmd += ["--seed", str(args.seed), "--child", name]
            out = subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                text=True,
                env=os.environ,
            ).stdout
            rss = json.loads(out.strip().splitlines()[-1])
            print(
                f"  {name:16s} {cpu:6.2f} s CPU = {cpu / pass_u:5.1f}x the pass   "
                f"peak RSS {rss['peak_mb']:4.0f} MB (after masks {rss['base_mb']:.0f} MB)"
            )
            if cpu > TARGET_RATIO * pass_u:
                slow.append(name)
            if rss["peak_mb"] >= TARGET_PEAK_MB:
                big.append(name)
        print(
            f"  all presets {total:.2f} s CPU; this process's peak RSS {_rss_mb():.0f} MB "
            "(the cold-cache mask generation's)"
        )
        n = len(PRESET_NAMES)
        print(
            f"  targets: within {TARGET_RATIO:g}x the pass {n - len(slow)}/{n} presets"
            + (f" (not: {', '.join(slow)})" if slow else "")
            + f"; peak RSS < {TARGET_PEAK_MB} MB {n - len(big)}/{n}"
            + (f" (not: {', '.join(big)})" if big else "")
        )


if __name__ == "__main__":
    main()
