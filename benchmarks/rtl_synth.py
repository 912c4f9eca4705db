"""Synthesis figures of the RTL (needs yosys, amaranth; osu018 optional).

Prints, for sky130 (shipped area-only Liberty) and osu018 (Debian qflow-tech-osu018): each
design's GE and its ratio to the dense MAC PE, next to REFERENCES.md §4; then flat versus
hierarchical synthesis of R×C arrays (area and wall time).

    .venv/bin/python benchmarks/rtl_synth.py [--flat 2,4,8]
"""

from __future__ import annotations

import argparse
import time

from sod.rtl.array import SystolicArray
from sod.rtl.synth import liberty_path, synthesize
from sod.rtl.table import DESIGNS, make_design

REF = {  # REFERENCES.md §4, GE on sky130 (earlier measurement)
    ("dense_mac_pe", ()): 1325,
    ("csr_match_pe", (4, 1)): 3221,
    ("csr_match_pe", (8, 1)): 4644,
    ("bitmask_join_pe", (16,)): 5157,
    ("bitmask_join_pe", (32,)): 8739,
    ("bitmask_join_pe", (64,)): 16094,
    ("decompressor", (8,)): 1107,
    ("decompressor", (16,)): 2903,
    ("decompressor", (32,)): 9108,
}


def ref_key(name, params):
    if name == "csr_match_pe":
        return (name, (params["fifo_depth"], params["comparators"]))
    if name == "bitmask_join_pe":
        return (name, (params["chunk"],))
    if name == "decompressor":
        return (name, (params["lanes"],))
    return (name, ())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flat", default="2,4", help="array sizes for flat vs hierarchical")
    args = ap.parse_args()
    libs = ["sky130"]
    try:
        liberty_path("osu018")
        libs.append("osu018")
    except Exception:
        print("osu018 Liberty not installed: sky130 only")
    results = {lib: {} for lib in libs}
    for lib in libs:
        for name, params in DESIGNS:
            results[lib][(name, tuple(params.items()))] = synthesize(
                make_design(name, params), name=name, library=lib
            )
    dense = {lib: results[lib][("dense_mac_pe", tuple(DESIGNS[0][1].items()))].ge for lib in libs}
    ref_dense = REF[("dense_mac_pe", ())]
    print(
        f"{'design':<58}"
        + "".join(f"{lib + ' GE':>12}{'ratio':>7}" for lib in libs)
        + f"{'§4 GE':>8}{'§4 ratio':>9}{'Δratio':>8}"
    )
    for name, params in DESIGNS:
        key = (name, tuple(params.items()))
        if key not in results["sky130"]:
            continue
        label = name + " " + ",".join(f"{k}={v}" for k, v in params.items())
        line = f"{label:<58}"
        for lib in libs:
            r = results[lib][key]
            line += f"{r.ge:>12.0f}{r.ge / dense[lib]:>7.2f}"
        ref = REF.get(ref_key(name, params))
        if ref and (name != "decompressor" or params.get("realign") is not None):
            ours = results["sky130"][key].ge / dense["sky130"]
            line += f"{ref:>8}{ref / ref_dense:>9.2f}{ours / (ref / ref_dense) - 1:>+8.0%}"
        print(line)
    if "osu018" in libs:
        ratios = [
            (results["sky130"][k].ge / dense["sky130"])
            / (results["osu018"][k].ge / dense["osu018"])
            - 1
            for k in results["sky130"]
        ]
        print(f"sky130 vs osu018 ratio difference: max {max(map(abs, ratios)):.0%}")
    pe = dense["sky130"]
    for size in (int(s) for s in args.flat.split(",")):
        t0 = time.perf_counter()
        flat = synthesize(SystolicArray(size, size), name="array").ge
        dt = time.perf_counter() - t0
        hier = size * size * pe
        print(
            f"array {size}x{size}: flat {flat:.0f} GE in {dt:.1f} s; hierarchical "
            f"{hier:.0f} GE (PE × {size * size}); diff {flat / hier - 1:+.2%}"
        )


if __name__ == "__main__":
    main()
