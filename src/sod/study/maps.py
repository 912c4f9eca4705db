"""Verdict maps: where each design wins, over budget, batch, buffer and model choices.

One point is not a verdict: the iso-area ratios move with the area budget, the batch, the
GLB's size, banks and cells, the array timing model and the PE-area ratio. A map varies
one axis at a time around the study's defaults (AlexNet with Han et al.'s profile at
4 mm², batch 1), evaluates every design at each value, and counts in how many of those
configurations Sparse-on-Dense wins against each design.

Items are plain dicts (picklable), so the paper runs them on the sweep executors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sod.arch.presets import ARCH_KINDS, PRESET_NAMES, load_arch
from sod.cost.area import BufferRule
from sod.errors import SodError
from sod.study.compare import REFERENCE_ARCH
from sod.study.point import evaluate_run, sparse_workload

# Over budgets the GLB takes a fixed share of the chip (at 4 mm² the default 512 KiB GLB
# is ~45 %): a fixed 512 KiB buffer would not even fit 1 mm², and would starve 32 mm².
BUDGET_GLB_SHARE = 0.4


@dataclass(frozen=True)
class MapConfig:
    model: str = "alexnet"
    profile: str = "han2015"
    seed: int = 0
    budget_mm2: float = 4.0
    node_nm: int = 45
    archs: tuple[str, ...] = PRESET_NAMES
    budgets_mm2: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    batches: tuple[int, ...] = (1, 8, 64)
    # (axis, spec field, values): applied to every design that has the field.
    variations: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
        ("GLB KiB", "glb_kib", (128.0, 256.0, 1024.0)),
        ("GLB banks", "glb_banks", (1, 8, 32)),
        ("timing", "timing", ("scalesim", "tpu")),
        ("GLB cells", "glb_cell", ("hp", "lstp")),
    )


def _defaults(field: str) -> list[Any]:
    """The default of ``field`` in every spec that has it (empty: no spec has it)."""
    return [
        cls.model_fields[field].default for cls in ARCH_KINDS.values() if field in cls.model_fields
    ]


def map_items(cfg: MapConfig) -> list[dict[str, Any]]:
    """One item per (axis, value): the configuration every design is evaluated at."""
    base = {
        "model": cfg.model,
        "profile": cfg.profile,
        "seed": cfg.seed,
        "batch": 1,
        "budget_mm2": cfg.budget_mm2,
        "node_nm": cfg.node_nm,
        "archs": list(cfg.archs),
        "overrides": {},
        "glb_share": None,
    }
    items = []
    for b in cfg.budgets_mm2:
        items.append(
            {
                **base,
                "axis": "budget mm²",
                "value": b,
                "budget_mm2": b,
                "glb_share": BUDGET_GLB_SHARE,
            }
        )
    for n in cfg.batches:
        items.append({**base, "axis": "batch", "value": n, "batch": n})
    for axis, field, values in cfg.variations:
        defaults = _defaults(field)
        for v in values:
            if not defaults or all(v == d for d in defaults):
                continue  # a field no spec has, or the default (the study's own point)
            items.append({**base, "axis": axis, "value": v, "overrides": {field: v}})
    for i, item in enumerate(items):
        item["key"] = f"map{i}"
    return items


def evaluate_map_item(item: dict[str, Any]) -> dict[str, Any]:
    """Every design at one configuration: rows with Sparse-on-Dense's advantage."""
    wl = sparse_workload(item["model"], item["profile"], item["seed"], item["batch"], None)
    glb = BufferRule(share=item["glb_share"]) if item["glb_share"] else None
    metrics: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    for name in item["archs"]:
        spec = load_arch(name)
        update = {k: v for k, v in item["overrides"].items() if k in type(spec).model_fields}
        try:
            point = evaluate_run(
                wl, spec.model_copy(update=update), item["budget_mm2"], item["node_nm"], glb=glb
            )
        except SodError as err:
            failures[name] = str(err)
            continue
        metrics[name] = point.metrics.to_row()
    ref = metrics.get(REFERENCE_ARCH)
    rows = []
    for name, m in metrics.items():
        row = {
            "axis": item["axis"],
            "value": item["value"],
            "arch": name,
            "pes": m["pes"],
            "gops_per_mm2": m["gops_per_mm2"],
            "gops_per_w": m["gops_per_w"],
        }
        for k in ("gops_per_mm2", "gops_per_w"):
            row[f"sod_advantage_{k}"] = ref[k] / m[k] if ref and m[k] else float("nan")
        rows.append(row)
    fails = [
        {"axis": item["axis"], "value": item["value"], "arch": a, "error": e}
        for a, e in failures.items()
    ]
    return {"key": item["key"], "rows": rows, "failures": fails}


def verdict_rows(sections: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every configuration of a paper study as (axis, value, arch, advantages): the maps,
    the batch sizes, the PE-area scales (the study's own point is batch 1) and the other
    networks at the study's point (main and beyond-the-paper workloads)."""
    rows = list(sections.get("maps", []))
    batch_labels = {r["workload"] for r in sections.get("batch", [])}
    for r in sections.get("batch", []):
        rows.append({**r, "axis": "batch", "value": r["batch"]})
    # The other networks at the study's point (the batch model's own point is batch 1).
    for key in ("ratios", "beyond_ratios"):
        for r in sections.get(key, []):
            if f"{r['workload']}@batch1" in batch_labels:
                continue
            rows.append(
                {
                    "axis": "network",
                    "value": r["workload"],
                    "arch": r["vs"],
                    "sod_advantage_gops_per_mm2": r.get("gops_per_mm2", float("nan")),
                    "sod_advantage_gops_per_w": r.get("gops_per_w", float("nan")),
                }
            )
    for r in sections.get("pe_ratio", []):
        rows.append({**r, "axis": "sparse PE area ×", "value": r["pe_area_scale"]})
    keep = ("axis", "value", "arch", "sod_advantage_gops_per_mm2", "sod_advantage_gops_per_w")
    return [{k: r[k] for k in keep} for r in rows if r.get("arch") != REFERENCE_ARCH]


def robustness(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per design: in how many map configurations Sparse-on-Dense beats it, per metric."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["arch"] == REFERENCE_ARCH:
            continue
        entry = out.setdefault(r["arch"], {"arch": r["arch"], "configurations": 0})
        entry["configurations"] += 1
        for k in ("gops_per_mm2", "gops_per_w"):
            value = r[f"sod_advantage_{k}"]
            entry[f"sod_wins_{k}"] = entry.get(f"sod_wins_{k}", 0) + int(value > 1)
    return list(out.values())


def robustness_sentence(entry: dict[str, Any]) -> str:
    n = entry["configurations"]
    return (
        f"Sparse-on-Dense wins against {entry['arch']} in {entry.get('sod_wins_gops_per_mm2', 0)}"
        f" of {n} configurations on throughput/area and {entry.get('sod_wins_gops_per_w', 0)}"
        f" of {n} on energy efficiency."
    )
