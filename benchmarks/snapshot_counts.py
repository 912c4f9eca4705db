"""Bit-identity check for sparse-model kernel changes: record every layer's full Counts
(cycles, stalls, MACs, every action, every detail) of the mask-driven presets (SCNN,
SparTen, index match) on several zoo networks and profiles, then compare after a change.

    .venv/bin/python benchmarks/snapshot_counts.py record before.json
    ... change a kernel ...
    .venv/bin/python benchmarks/snapshot_counts.py compare before.json

``compare`` recomputes and prints the first differing layer of every differing run; it
exits 1 if anything differs. Floats are compared by ``repr`` (exact). Takes ~40 s for
the three default presets; ``--presets all`` records every preset (a few minutes).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys

CASES = [
    ("vgg16", "han2015", None, 0),
    ("alexnet", "han2015", None, 1),
    ("bert-base", "bert:0.1", 64, 0),
    ("mobilenetv2", "uniform:0.5", None, 2),
    ("resnet50", "nm:2:4", None, 0),
    ("lenet5", "global:0.2", None, 3),
]
PRESETS = ("scnn", "sparten", "index-match")


def snapshot(presets: tuple[str, ...] = PRESETS) -> dict[str, list[str]]:
    from sod.arch.presets import load_arch
    from sod.sparsity.apply import apply_sparsity
    from sod.study.run import run_arch
    from sod.workload.zoo import get_model

    out: dict[str, list[str]] = {}
    for model, profile, seq, seed in CASES:
        wl = apply_sparsity(get_model(model, seq_len=seq), profile, seed=seed)
        for name in presets:
            rows = []
            for layer in run_arch(wl, load_arch(name)).layers:
                c = layer.counts
                rows.append(
                    repr(
                        (
                            c.compute_cycles,
                            c.stall_cycles,
                            c.macs_dense,
                            c.macs_issued,
                            c.macs_effectual,
                            c.pe_count,
                            sorted(c.actions.items()),
                            sorted((k, repr(v)) for k, v in c.details.items()),
                        )
                    )
                )
            out[f"{model}|{profile}|{name}"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("path")
    parser.add_argument(
        "--presets",
        default=",".join(PRESETS),
        help="comma-separated preset names, or 'all' (every preset in PRESET_NAMES)",
    )
    args = parser.parse_args()
    presets = tuple(args.presets.split(","))
    if args.presets == "all":
        from sod.arch.presets import PRESET_NAMES

        presets = PRESET_NAMES
    now = snapshot(presets)
    if args.action == "record":
        with open(args.path, "w") as f:
            json.dump(now, f, sort_keys=True)
        print(f"recorded {len(now)} runs to {args.path}")
        return
    with open(args.path) as f:
        recorded = json.load(f)
    # Compare only the presets asked for (a baseline of every preset serves a quick check
    # of one); a run asked for but missing from the baseline is a difference.
    before = {k: v for k, v in recorded.items() if k.rsplit("|", 1)[1] in presets}
    bad = sum(1 for key in now if key not in before)
    for key in now.keys() - before.keys():
        print(f"DIFF {key}: not in the baseline {args.path}")
    for key, rows in before.items():
        new = now.get(key)
        if new != rows:
            bad += 1
            first = next(
                (i for i, (x, y) in enumerate(zip(rows, new or [], strict=False)) if x != y), 0
            )
            print(f"DIFF {key} layer {first}:\n  before {rows[first][:300]}")
            if new:
                print(f"  after  {new[first][:300]}")
    print(f"compared {len(before)} runs: " + ("identical" if not bad else f"{bad} differ"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
