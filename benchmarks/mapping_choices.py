"""Print the mapping every sparse accelerator's per-layer search picks, with every
candidate's cycles (memory included), on a zoo network at iso-area; for SCNN also the
output-channel group Kc and sub-tile passes that fit its accumulators.

    PYTHONPATH=src .venv/bin/python benchmarks/mapping_choices.py [alexnet] [han2015] [4]

Arguments: network, sparsity profile, budget in mm² (docs/sparse-accelerators.md,
"Mapping search").
"""

from __future__ import annotations

import sys

import sod


def main(argv: list[str]) -> None:
    model = argv[0] if argv else "alexnet"
    sparsity = argv[1] if len(argv) > 1 else "han2015"
    budget = float(argv[2]) if len(argv) > 2 else 4.0
    for arch in ("scnn", "sparten", "index-match"):
        point = sod.run(model, arch=arch, sparsity=sparsity, budget_mm2=budget)
        print(f"{arch}: {point.metrics.cycles:,} cycles")
        for layer in point.run.layers:
            details = layer.counts.details
            cands = ", ".join(f"{k} {v:,}" for k, v in details.get("mapping_cycles", {}).items())
            # SCNN: Kc and sub-tile passes that fit its accumulators.
            acc = (
                f"  Kc {details['out_channel_group']}, {details['tile_passes']} pass(es)"
                if "tile_passes" in details
                else ""
            )
            print(f"  {layer.gemm.name:10s} {details.get('mapping')!s:18s} {cands}{acc}")


if __name__ == "__main__":
    main(sys.argv[1:])
