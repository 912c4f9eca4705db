"""Cost-model checks and speed: prints the model's errors against its references.

* component compositions vs the synthesized GE ratios (sod/tech/data/synth_ge.yaml);
* synthesized ratios vs REFERENCES.md §4;
* decompressor share of a 16×16 array;
* SCNN PE composition at 16 nm vs the published ~0.123 mm² (R);
* CACTI power-law fit vs REFERENCES.md §3; node factors vs REFERENCES.md §2;
* iso-area sizing of every architecture kind at a few budgets, and its speed.

    .venv/bin/python benchmarks/bench_cost.py
"""

from __future__ import annotations

import time

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.arch.spec import Architecture, SparseOnDenseArch
from sod.cost import BufferRule, compose, pe_area, synth_ratio
from sod.cost.pe import scnn_pe
from sod.designs import size_for_budget
from sod.tech import (
    fit_power_law,
    load_synth_table,
    load_technology,
    logic_area_factor,
    logic_energy_factor,
)

REFERENCES_S4 = [  # (kind, params, ratio to the dense MAC PE) from REFERENCES.md §4
    ("csr_match_pe", {"fifo_depth": 4, "comparators": 1}, 2.4),
    ("csr_match_pe", {"fifo_depth": 8, "comparators": 1}, 3.5),
    ("bitmask_join_pe", {"chunk": 16}, 3.9),
    ("bitmask_join_pe", {"chunk": 32}, 6.6),
    ("bitmask_join_pe", {"chunk": 64}, 12.2),
    ("decompressor", {"lanes": 8, "format": "bitmask"}, 0.84),
    ("decompressor", {"lanes": 16, "format": "bitmask"}, 2.2),
    ("decompressor", {"lanes": 32, "format": "bitmask"}, 6.9),
]


def main() -> None:
    tech = load_technology(45)
    table = load_synth_table()
    dense = compose(tech, "dense_mac_pe").cell_area_um2
    print("design                                          synth  comp  comp err  §4   synth vs §4")
    for d in table.designs:
        if d.name == "dense_mac_pe":
            continue
        try:
            comp = compose(tech, d.name, **d.params).cell_area_um2 / dense
        except Exception as err:  # a design the composition library does not know
            comp = float("nan")
            print(f"  ({d.name} {d.params}: {err})")
        syn = synth_ratio(d.name, table, **d.params)
        ref = next(
            (
                r
                for k, p, r in REFERENCES_S4
                if k == d.name and all(d.params.get(a) == b for a, b in p.items())
            ),
            None,
        )
        ref_txt = f"{ref:5.2f} {syn / ref - 1:+6.0%}" if ref else "   -       -"
        label = f"{d.name} {d.params}"
        print(f"{label:<47} {syn:5.2f} {comp:5.2f} {comp / syn - 1:+8.0%}  {ref_txt}")

    arr = 256 * pe_area(tech, "dense_mac_pe").area_um2
    for realign in (True, False):
        dec = pe_area(tech, "decompressor", lanes=16, realign=realign).area_um2
        print(
            f"16-lane decompressor (realign={realign}) / 16x16 dense array: "
            f"one {dec / arr:.2%}, two {2 * dec / arr:.2%}"
        )

    t16 = load_technology(16)
    scnn = scnn_pe(t16).placed_area_um2(t16) / 1e6
    print(
        f"SCNN PE at 16 nm (16-bit, paper defaults): {scnn:.4f} mm² vs 0.123 (R): "
        f"{scnn / 0.123 - 1:+.0%}"
    )

    c, b = fit_power_law(tech, "read_pj")
    ca, ba = fit_power_law(tech, "area_um2")
    print(
        f"CACTI 45 nm 64-bit fit: read {c:.3f}·KB^{b:.3f} pJ (ref 2.12·KB^0.51); "
        f"area {ca / 1e6:.5f}·KB^{ba:.3f} mm² (ref 0.00346·KB^0.98)"
    )
    ref_factors = {
        32: (0.460, 0.659),
        28: (0.377, 0.513),
        22: (0.252, 0.294),
        16: (0.190, 0.174),
        7: (0.059, 0.094),
    }
    for node, (ra, re) in ref_factors.items():
        print(
            f"45->{node} nm: area x{logic_area_factor(45, node):.3f} (ref {ra}), "
            f"energy x{logic_energy_factor(45, node):.3f} (ref {re})"
        )

    archs = [
        Architecture(),
        SparseOnDenseArch(),
        SCNNArch(),
        SparTenArch(chunk_bits=64),
        IndexMatchArch(),
    ]
    t0 = time.perf_counter()
    n = 0
    for budget in (2.0, 10.0, 50.0):
        for arch in archs:
            s = size_for_budget(arch, budget, BufferRule(share=0.3), tech)
            n += 1
            print(
                f"{budget:5.1f} mm² {arch.kind:<16} {s.rows:4d} x {s.cols:<4d} "
                f"PEs {s.pes:7d}  GLB {s.glb_bytes / 1024:7.0f} KiB  "
                f"leftover {s.leftover_mm2:.4f} mm²"
            )
    dt = time.perf_counter() - t0
    print(f"iso-area sizing: {n} solves in {dt:.2f} s ({dt / n * 1e3:.1f} ms each)")


if __name__ == "__main__":
    main()
