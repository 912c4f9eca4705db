"""Start-up cost of the ``sod`` command: CPU seconds of ``sod --help`` and ``sod models``.

Each command runs as a child process, several times; the CPU time (user + system) of the
children comes from ``resource.getrusage(RUSAGE_CHILDREN)``, so load on the machine from
other processes does not count. Target: ``sod --help`` ≤ 0.4 CPU-s (subcommand modules
are imported lazily, only the invoked one).

    .venv/bin/python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys

COMMANDS = (("--help",), ("models",), ("run", "--help"))
TARGET_HELP_CPU_S = 0.4


def child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(args: tuple[str, ...], runs: int) -> list[float]:
    """CPU seconds of each of ``runs`` runs of ``python -m sod ARGS``."""
    env = {**os.environ, "COLUMNS": "100"}
    times = []
    for _ in range(runs):
        before = child_cpu_s()
        subprocess.run(
            [sys.executable, "-m", "sod", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        times.append(child_cpu_s() - before)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median shown)")
    runs = parser.parse_args().runs
    print(f"{'command':<16} {'median CPU-s':>12} {'min':>8} {'max':>8}")
    medians = {}
    for args in COMMANDS:
        t = sorted(cpu_seconds(args, runs))
        medians[args] = t[len(t) // 2]
        print(f"sod {' '.join(args):<12} {medians[args]:>12.3f} {t[0]:>8.3f} {t[-1]:>8.3f}")
    ok = medians[("--help",)] <= TARGET_HELP_CPU_S
    print(f"sod --help target <= {TARGET_HELP_CPU_S} CPU-s: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
