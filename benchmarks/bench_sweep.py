"""Benchmark: a 500-point sweep (5 networks x 5 sparsities x 5 architectures x 4 budgets)
on local worker processes, in a temporary folder. Prints wall time, points/s, peak memory.

    .venv/bin/python benchmarks/bench_sweep.py [--workers 2] [--keep DIR]

Architectures: the presets whose performance model exists (probed with one LeNet-5 point),
then, to reach five, variants of the dense and Sparse-on-Dense presets written as YAML
files (bitmap weight format; output- and input-stationary dense arrays). ``--heavy``: the
dense preset and four Sparse-on-Dense variants (CSC, bitmap, before-GLB, CSR). Every one of
the 500 points must be a real evaluation: the benchmark fails if any point fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from sod.arch.presets import PRESET_NAMES, preset_text
from sod.errors import SodError
from sod.study.executors import LocalExecutor
from sod.study.point import evaluate_point
from sod.study.spec import load_sweep
from sod.study.store import ResultStore
from sod.study.sweep import run_sweep

NETWORKS = ["lenet300", "lenet5", "alexnet", "resnet50", {"model": "bert-base", "seq_len": 64}]
SPARSITY = ["uniform:0.5", "uniform:0.3", "uniform:0.2", "uniform:0.1", "uniform:0.05"]
# up to 12 mm²: beyond, the presets' fixed 512 KiB GLB cannot hold one slice of the larger
# conv layers of AlexNet/ResNet-50 on the bigger arrays (a real, reported failure)
BUDGETS_MM2 = [3.0, 6.0, 9.0, 12.0]
# (file name, base preset, overrides): used only when fewer than 5 presets have a model
VARIANTS = [
    ("sod-bitmap", "sparse-on-dense", {"weight_format": "bitmap"}),
    ("dense-os", "dense", {"dataflow": "os"}),
    ("dense-is", "dense", {"dataflow": "is"}),
    ("sod-before-glb", "sparse-on-dense", {"placement": "before_glb"}),
]


def working_presets() -> list[str]:
    ok = []
    for name in PRESET_NAMES:
        try:
            evaluate_point(
                {
                    "model": "lenet5",
                    "sparsity": "uniform:0.3",
                    "seed": 0,
                    "arch": name,
                    "budget_mm2": 8.0,
                    "node_nm": None,
                    "batch": 1,
                    "seq_len": None,
                }
            )
            ok.append(name)
        except SodError as err:
            print(f"  preset {name}: skipped ({err})")
    return ok


# --heavy: the dense preset and four Sparse-on-Dense variants (the costliest model today)
HEAVY_VARIANTS = [
    ("sod-bitmap", "sparse-on-dense", {"weight_format": "bitmap"}),
    ("sod-before-glb", "sparse-on-dense", {"placement": "before_glb"}),
    ("sod-csr", "sparse-on-dense", {"weight_format": "csr"}),
]


def architectures(folder: Path, count: int = 5, heavy: bool = False) -> list[str]:
    archs = ["dense", "sparse-on-dense"] if heavy else working_presets()[:count]
    for name, base, overrides in HEAVY_VARIANTS if heavy else VARIANTS:
        if len(archs) >= count:
            break
        data = {**yaml.safe_load(preset_text(base)), **overrides, "name": name}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
        archs.append(f"{name}.yaml")
    return archs


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest finished worker (MiB)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument(
        "--heavy",
        action="store_true",
        help="dense + four Sparse-on-Dense variants instead of the presets",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sod-bench-sweep-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        archs = architectures(folder, heavy=args.heavy)
        spec = {
            "name": "bench-500",
            "workloads": NETWORKS,
            "sparsity": SPARSITY,
            "architectures": archs,
            "budgets_mm2": BUDGETS_MM2,
            "seeds": [0],
            # 'release': files edited by others during the run must not change the
            # keys before the resume check below (see docs/sweeps.md)
            "version_policy": "release",
        }
        spec_path = folder / "bench-500.yaml"
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        for db in folder.glob("bench-500.sqlite*"):
            db.unlink()
        sweep = load_sweep(spec_path)
        names = [json.dumps(n) if isinstance(n, dict) else n for n in NETWORKS]
        print(f"networks: {', '.join(names)}")
        print(f"sparsity: {', '.join(SPARSITY)}; budgets: {BUDGETS_MM2} mm²")
        print(f"architectures: {', '.join(archs)}")
        print(f"points: {len(sweep.points)}; workers: {args.workers} local processes")

        load_before = os.getloadavg()[0]
        cpu0 = cpu_seconds()
        start = time.perf_counter()
        report = run_sweep(sweep, LocalExecutor(args.workers))
        wall = time.perf_counter() - start
        cpu = cpu_seconds() - cpu0
        me, kids = peak_rss_mib()
        load_after = os.getloadavg()[0]

        resume_start = time.perf_counter()
        again = run_sweep(load_sweep(spec_path), LocalExecutor(args.workers))
        resume = time.perf_counter() - resume_start

        with ResultStore(sweep.db_path) as store:
            rows = store.rows([p.key for p in sweep.points])
            integrity = store.integrity()
        by_arch: dict[str, list[float]] = {}
        by_model: dict[str, list[float]] = {}
        for r in rows:
            by_arch.setdefault(r.config["arch"], []).append(r.elapsed_s or 0.0)
            by_model.setdefault(r.config["model"], []).append(r.elapsed_s or 0.0)

        print(
            f"\nwall time: {wall:.1f} s for {report.ran} points "
            f"({report.ran / wall:.2f} points/s); {report.ok} ok, {report.failed} failed, "
            f"{report.errors} errors"
        )
        print(
            f"CPU time (parent + workers): {cpu:.1f} s = {cpu / wall:.2f} cores busy on "
            f"average; 1-min load average {load_before:.1f} before, {load_after:.1f} after "
            f"(a shared machine: other jobs compete for the 2 cores)"
        )
        print(f"peak memory: parent {me:.0f} MiB, largest worker {kids:.0f} MiB")
        print(
            f"rerun (resume, nothing to do): {resume:.2f} s, ran {again.ran}; "
            f"integrity_check: {integrity}"
        )
        print(
            "mean time per point inside a worker (s), by architecture: "
            + ", ".join(f"{a} {statistics.mean(v):.3f}" for a, v in by_arch.items())
        )
        print(
            "... by network (first point of a group includes building its workload): "
            + ", ".join(f"{m} {statistics.mean(v):.3f}" for m, v in by_model.items())
        )
        target = "met" if wall < 120 else "MISSED"
        print(f"target < 120 s on 2 cores: {target}")
        for message, labels in report.problems.items():
            print(f"  {len(labels)} x {message} (e.g. {labels[0]})")
        return 0 if report.ok == len(sweep.points) == 500 else 1


if __name__ == "__main__":
    sys.exit(main())
