"""How each claim of :mod:`sod.study.validate` is modelled: the published paper's setup
built with sod's models (its network, sparsity, PE counts and node), returning a
:class:`Modelled`. None reads back the constant it is compared with."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Modelled:
    """A claim function's answer: the modelled value, what it was computed from, and
    (rarely) a relative error that is not ``|value − published| / published`` (e.g. the
    worst layer of a cycle-exact comparison)."""

    value: float
    detail: str = ""
    rel_err: float | None = None


# --- shared setups -----------------------------------------------------------------------


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


NETWORKS = ("alexnet", "vgg16")  # the pruned CNNs SCNN and SparTen both report (Han 2015)


@lru_cache(maxsize=4)
def _conv_workload(model: str) -> Any:
    """A zoo CNN's convolution layers at batch 1 with Han et al. 2015's per-layer weight
    and activation densities (structured synthetic masks, seed 0)."""
    from sod.study.point import sparse_workload
    from sod.workload.gemm import LayerKind

    wl = sparse_workload(model, "han2015", 0)
    return wl.with_gemms([g for g in wl if g.kind == LayerKind.CONV])


# SCNN's published datapath: 16-bit operands, 24-bit accumulators (ISCA 2017, §V).
SCNN_WIDTHS: dict[str, int] = {"value_bits": 16, "acc_bits": 24}


@lru_cache(maxsize=16)
def _point(model: str, preset: str, node_nm: int, widths: tuple[int, int] = (8, 32)) -> Any:
    """The conv layers of ``model`` on a preset at its published (unsized) shape, with
    ideal memory (the SCNN and SparTen comparisons count compute, not DRAM stalls) and
    ``widths`` = (value bits, accumulator bits)."""
    from sod.arch.presets import load_arch
    from sod.study.point import evaluate_run

    arch = load_arch(
        preset,
        ideal_memory=True,
        node_nm=node_nm,
        value_bits=widths[0],
        acc_bits=widths[1],
    )
    return evaluate_run(_conv_workload(model), arch)


def _on_chip_pj(point: Any) -> float:
    """Energy without DRAM (dynamic + leakage): SCNN's comparison holds activations on chip."""
    by_action = point.energy.by_action
    dram = sum(float(v) for k, v in by_action.items() if k.startswith("dram_"))
    return float(point.energy.total_pj) - dram


def _ratio_over_networks(
    numerator: str,
    denominator: str,
    node_nm: int,
    value: Callable[[Any], float],
    widths: tuple[int, int] = (8, 32),
) -> Modelled:
    """Geometric mean over :data:`NETWORKS` of ``value(numerator) / value(denominator)``:
    with the baseline as ``numerator`` and the design as ``denominator``, the design's
    speedup or energy saving (above 1 = the design better)."""
    ratios = {
        net: value(_point(net, numerator, node_nm, widths))
        / value(_point(net, denominator, node_nm, widths))
        for net in NETWORKS
    }
    detail = ", ".join(f"{net} {r:.2f}x" for net, r in ratios.items())
    return Modelled(_geomean(list(ratios.values())), f"geomean of {detail}")


def _cycles(point: Any) -> float:
    return float(point.metrics.cycles)


# --- SCNN (Parashar et al., ISCA 2017) ---------------------------------------------------


_SCNN_W = (SCNN_WIDTHS["value_bits"], SCNN_WIDTHS["acc_bits"])


def scnn_speedup() -> Modelled:
    return _ratio_over_networks("dense", "scnn", 16, _cycles, _SCNN_W)


def scnn_energy() -> Modelled:
    return _ratio_over_networks("dense", "scnn", 16, _on_chip_pj, _SCNN_W)


def _scnn_16nm() -> Any:
    from sod.arch.presets import load_arch

    return load_arch("scnn", node_nm=16, **SCNN_WIDTHS)


def scnn_pe_area() -> Modelled:
    from sod.designs import describe

    desc = describe(_scnn_16nm())
    return Modelled(desc.tile_area_um2 / 1e6, f"{desc.tile_source}; 16-bit values, 16 nm")


def scnn_multiplier_share() -> Modelled:
    from sod.cost.pe import scnn_pe
    from sod.tech import load_technology

    arch = _scnn_16nm()
    tech = load_technology(16)
    comp = scnn_pe(
        tech,
        f=arch.mult_f,
        i=arch.mult_i,
        acc_banks=arch.accumulator_banks,
        value_bits=arch.value_bits,
        acc_bits=arch.acc_bits,
    )
    parts = comp.breakdown_um2()
    mult = sum(v for k, v in parts.items() if k.startswith("mult"))
    placed = mult / tech.p("logic_utilization")
    biggest = max(parts, key=lambda k: parts[k])
    return Modelled(
        placed / comp.placed_area_um2(tech),
        f"largest part: {biggest} {parts[biggest] / comp.cell_area_um2 * 100:.0f} % of cells",
    )


def scnn_chip_area() -> Modelled:
    from sod.designs import arch_area

    area = arch_area(_scnn_16nm())
    pes = area.parts_um2["pe_array"] / 1e6
    return Modelled(
        pes,
        f"8x8 PEs incl. their IARAM/OARAM; sod's shared GLB "
        f"({area.parts_um2['glb'] / 1e6:.2f} mm²) left out, SCNN has none",
    )


# --- SparTen (Gondimalla et al., MICRO 2019) ---------------------------------------------


def sparten_vs_dense() -> Modelled:
    return _ratio_over_networks("dense", "sparten", 45, _cycles)


def sparten_vs_scnn() -> Modelled:
    return _ratio_over_networks("scnn", "sparten", 45, _cycles)


# --- S2TA (Liu et al., HPCA 2022) --------------------------------------------------------


def s2ta_mac_share() -> Modelled:
    point = _point("vgg16", "dense", 16)
    by_action = point.energy.by_action
    mac = float(by_action.get("mac", 0.0)) + float(by_action.get("mac_gated", 0.0))
    on_chip_dynamic = sum(float(v) for k, v in by_action.items() if not k.startswith("dram_"))
    return Modelled(
        mac / on_chip_dynamic,
        f"MAC {mac / 1e6:.0f} µJ of {on_chip_dynamic / 1e6:.0f} µJ on-chip dynamic "
        "(PE registers + GLB are the rest)",
    )


# --- PE areas (this project's synthesis, REFERENCES.md §4) -------------------------------


def _component_ratio(kind: str, **params: int) -> Modelled:
    from sod.cost.pe_area import pe_area
    from sod.tech import load_technology

    tech = load_technology(45)
    dense = pe_area(tech, "dense_mac_pe", source="components").area_um2
    pe = pe_area(tech, kind, source="components", **params).area_um2  # type: ignore[arg-type]
    return Modelled(pe / dense, f"component composition: {pe:.0f} / {dense:.0f} µm²")


def bitmask_pe_ratio() -> Modelled:
    return _component_ratio("bitmask_join_pe", chunk=32)


def bitmask_pe_ratio_64() -> Modelled:
    return _component_ratio("bitmask_join_pe", chunk=64)


def csr_pe_ratio() -> Modelled:
    return _component_ratio("csr_match_pe", fifo_depth=4)


# --- energy per operation (Horowitz ISSCC 2014) ------------------------------------------


def horowitz_mac() -> Modelled:
    from sod.arch.presets import load_arch
    from sod.designs import energy_table_for

    entry = energy_table_for(load_arch("dense"))["mac"]
    return Modelled(entry.energy_pj, entry.source)


def horowitz_sram() -> Modelled:
    from sod.tech import load_technology, sram_cost

    s = sram_cost(load_technology(45), 8 * 1024, 64)
    return Modelled(s.read_pj, s.source)


# --- Sparse-on-Dense (Yoon, Ryu & Kim 2026) ----------------------------------------------


def sod_decompressor_share() -> Modelled:
    from sod.arch.presets import load_arch
    from sod.designs import size_for_budget

    # The paper's machine is weight-stationary: decompressors on the one edge the weights
    # enter by (sod's default, dataflow auto, has them on both edges: twice the share).
    sizing = size_for_budget(load_arch("sparse-on-dense", dataflow="ws"), 4.0)
    parts = sizing.area.parts_um2
    share = parts.get("decompressors", 0.0) / sum(parts.values())
    return Modelled(
        share,
        f"{sizing.rows}x{sizing.cols} WS array, {sizing.glb_bytes // 1024} KiB GLB at 4 mm², 45 nm",
    )


# --- SCALE-Sim v3 (dense array cycles) ---------------------------------------------------

SCALESIM_DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "scalesim"


def _scalesim_cases() -> list[Path]:
    if not SCALESIM_DATA.is_dir():
        return []
    return sorted(p for p in SCALESIM_DATA.iterdir() if (p / "COMPUTE_REPORT.csv").exists())


def _report_cycles(path: Path) -> list[int]:
    with path.open() as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    col = header.index("Total Cycles")
    return [int(float(r[col])) for r in rows[1:] if any(c.strip() for c in r)]


def scalesim_cycles() -> Modelled:
    from sod.arch.presets import load_arch
    from sod.designs import evaluate
    from sod.workload.topology_csv import read_topology

    cases = _scalesim_cases()
    if not cases:
        return Modelled(float("nan"), f"no reference data at {SCALESIM_DATA}", float("nan"))
    # The dense array's SCALE-Sim schedule: `timing: scalesim` once the dense model has a
    # timing switch (whatever the field is called, the one whose values include it).
    timing = {"timing": "scalesim"}  # SCALE-Sim's own schedule, cycle-exact
    published = modelled = layers = 0
    worst = 0.0
    for case in cases:
        meta = json.loads((case / "case.json").read_text())
        arch = load_arch(
            "dense",
            array_rows=meta["array_rows"],
            array_cols=meta["array_cols"],
            dataflow=meta["dataflow"],
            ideal_memory=True,
            **timing,
        )
        workload = read_topology(
            case / "topology.csv", fmt=meta["topology_format"], scalesim_ofmap=True
        )
        expected = _report_cycles(case / "COMPUTE_REPORT.csv")
        # SCALE-Sim reports each repeat (depthwise channel) as its own layer.
        got: list[int] = []
        for g in workload:
            one = evaluate(g.with_(repeat=1), arch).compute_cycles
            got.extend([int(one)] * g.repeat)
        if len(got) != len(expected):
            return Modelled(float("nan"), f"{case.name}: layer count differs", float("nan"))
        for e, m in zip(expected, got, strict=True):
            worst = max(worst, abs(m - e) / e)
        published += sum(expected)
        modelled += sum(got)
        layers += len(expected)
    return Modelled(
        float(modelled),
        f"{len(cases)} cases, {layers} layers, total cycles (SCALE-Sim {published}); "
        f"rel_err = worst layer; timing {timing or 'default'}",
        worst,
    )


def _scalesim_published() -> float:
    total = 0
    for case in _scalesim_cases():
        total += sum(_report_cycles(case / "COMPUTE_REPORT.csv"))
    return float(total)
