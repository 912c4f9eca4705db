"""Benchmark: where ``sod paper`` spends its CPU, and its wall time.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_paper.py [--wall] [--workers 2]
        [--profile N] [--only SECTION]

Runs every task group and every verdict-map item of the default study in this process,
one after the other, and prints the CPU seconds (``time.process_time``: other jobs on a
shared machine inflate them far less than wall time, though not at all only when idle)
per task group, per section, per design
(``sod.study.run.run_arch``) and for the iso-area sizing. In one process the content memos
are shared by every group, so this total is a little lower than the sum of two workers'.
``--wall`` then runs ``sod paper`` itself (a subprocess, ``--workers`` local processes,
report and figures included; ``--out`` keeps its outputs) and prints its wall time and
the CPU of all its processes; ``--no-split`` skips the in-process split. ``--profile N`` prints
the N costliest functions (cProfile, cumulative) of the in-process run.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sod.study.point as point_mod
import sod.study.run as run_mod
from sod.study.maps import evaluate_map_item, map_items
from sod.study.paper import PaperConfig, _map_config, _run_group, _task_groups


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def in_process(cfg: PaperConfig, only: str | None) -> None:
    per_arch: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    sizing = [0.0, 0]
    orig_run, orig_size = run_mod.run_arch, point_mod.size_arch

    def timed_run(wl, arch, *a, **k):  # type: ignore[no-untyped-def]
        t = time.process_time()
        try:
            return orig_run(wl, arch, *a, **k)
        finally:
            per_arch[arch.name] += time.process_time() - t
            calls[arch.name] += 1

    def timed_size(*a, **k):  # type: ignore[no-untyped-def]
        t = time.process_time()
        try:
            return orig_size(*a, **k)
        finally:
            sizing[0] += time.process_time() - t
            sizing[1] += 1

    run_mod.run_arch = timed_run
    point_mod.run_arch = timed_run
    point_mod.size_arch = timed_size
    per_section: collections.Counter[str] = collections.Counter()
    t0 = time.process_time()
    print("task group (sections)                              CPU s")
    for group in _task_groups(cfg):
        sections = sorted({t[0] for t in group})
        if only and only not in sections:
            continue
        t = time.process_time()
        _run_group(cfg, group)
        dt = time.process_time() - t
        label = f"{group[0][1]} {group[0][2]} b{group[0][4]}"
        print(f"  {label:30s} {','.join(sections):28s} {dt:7.1f}")
        for s in sections:
            per_section[s] += dt / len(sections)
    if not only or only == "maps":
        t = time.process_time()
        for item in map_items(_map_config(cfg)):
            evaluate_map_item(item)
        per_section["maps"] += time.process_time() - t
    total = time.process_time() - t0
    print(f"total CPU in one process: {total:.1f} s")
    print("per section (a group shared by several sections split evenly):")
    for s, v in per_section.most_common():
        print(f"  {s:28s} {v:7.1f} s")
    print(f"iso-area sizing: {sizing[0]:.1f} s over {sizing[1]} calls")
    print("per design (run_arch, every section):")
    for name, v in per_arch.most_common():
        print(f"  {name:28s} {v:7.1f} s  {calls[name]:4d} runs")


def wall(workers: int, out: str | None) -> None:
    """``sod paper`` as a user runs it (a subprocess: workers, report and figures included)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = out or str(Path(tmp) / "paper")
        cmd = [sys.executable, "-m", "sod", "paper", "--out", folder, "--workers", str(workers)]
        kids0, t0 = _children_cpu_s(), time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        dt, cpu = time.perf_counter() - t0, _children_cpu_s() - kids0
    print(f"sod paper --workers {workers}: wall {dt:.1f} s, CPU {cpu:.1f} s (all processes)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wall", action="store_true", help="also time `sod paper` (subprocess)")
    p.add_argument("--out", default=None, help="with --wall: keep the outputs in this folder")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    p.add_argument("--only", default=None, help="one section (main, ablation, maps, ...)")
    p.add_argument("--no-split", action="store_true", help="skip the in-process split")
    p.add_argument("--dump", default=None, help="write the cProfile stats to this file")
    args = p.parse_args()
    cfg = PaperConfig(workers=args.workers)
    if not args.no_split:
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(in_process, cfg, args.only)
            if args.dump:
                prof.dump_stats(args.dump)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(args.profile)
        else:
            in_process(cfg, args.only)
    if args.wall:
        wall(args.workers, args.out)


if __name__ == "__main__":
    main()
