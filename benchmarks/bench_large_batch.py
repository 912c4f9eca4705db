"""Large batches within 4 GB (issue 13, item 2): VGG-16 at batch 256 and ResNet-50 at
batch 1024, every preset, each in its own process (``sod compare --archs PRESET``, the
iso-area comparison a user runs). Prints wall and CPU seconds and the peak resident set
size of each run (``resource.getrusage`` in the child), and whether it stayed under 4 GB.

Activation patterns are drawn for ``--act-images`` images (default 16) and repeated over
the batch (docs/large-batch.md). The first run of a workload also draws its masks (the
on-disk mask cache keeps them for the next runs; ``--fresh`` uses an empty cache).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_large_batch.py [--only vgg16]
        [--presets dense,scnn] [--act-images 16] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from sod.arch.presets import PRESET_NAMES

WORKLOADS = (("vgg16", "han2015", 256), ("resnet50", "auto", 1024))
LIMIT_GB = 4.0

CHILD = r"""
import json, resource, sys, time
w0, c0 = time.perf_counter(), time.process_time()
from sod.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as err:
    code = err.code if isinstance(err.code, int) else 1
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"code": code, "wall_s": time.perf_counter() - w0,
                  "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024}),
      file=sys.stderr)
"""


def run_one(model: str, profile: str, batch: int, preset: str, act_images: int, env: dict) -> dict:
    argv = [
        "compare",
        "--model",
        model,
        "--sparsity",
        profile,
        "--batch",
        str(batch),
        "--archs",
        preset,
        "--act-images",
        str(act_images),
        "--format",
        "json",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env
    )
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    if stats["code"] == 0:
        row = next(iter(json.loads(proc.stdout)["results"].values()))
        stats["cycles"] = row.get("cycles")
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="one model (vgg16 or resnet50)")
    ap.add_argument("--presets", default=",".join(PRESET_NAMES))
    ap.add_argument("--act-images", type=int, default=16)
    ap.add_argument("--fresh", action="store_true", help="an empty mask cache")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.fresh:
        env["SOD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sod-bench-cache-")
    print(f"{'workload':<22} {'preset':<24} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}  < 4 GB")
    for model, profile, batch in WORKLOADS:
        if args.only and model != args.only:
            continue
        for preset in args.presets.split(","):
            s = run_one(model, profile, batch, preset, args.act_images, env)
            ok = "yes" if s["code"] == 0 and s["maxrss_mb"] < LIMIT_GB * 1024 else "NO"
            label = f"{model} b{batch}"
            print(
                f"{label:<22} {preset:<24} {s['wall_s']:8.1f} {s['cpu_s']:8.1f} "
                f"{s['maxrss_mb']:8.0f}  {ok}" + ("" if s["code"] == 0 else f" (exit {s['code']})"),
                flush=True,
            )


if __name__ == "__main__":
    main()
