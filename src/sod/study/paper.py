"""The paper's study (Yoon, Ryu & Kim 2026), reproduced on built-in defaults: ``sod paper``.

Sections (each a list of flat rows, so every number lands in CSV/JSON as well as figures):

* ``main`` — pruned Caffe AlexNet and VGG-16 (Han et al. 2015 per-layer weight and
  activation densities) and BERT-base (50/70/90 % unstructured encoder sparsity) at one
  iso-area budget, on every architecture preset: throughput/area, energy efficiency,
  latency, energy per inference, effective utilization, the decompressors' area share;
* ``ratios`` — Sparse-on-Dense's advantage over each other architecture per workload;
* ``ablation`` — Sparse-on-Dense variants: decompressor before vs after the GLB,
  zero-gating, zero-tile skipping, dense fallback, every weight format;
* ``density_sweep`` — one network pruned uniformly to a range of weight densities on
  every architecture, and the crossover density below which a sparse accelerator wins;
* ``pe_ratio`` — sensitivity of the verdict to the sparse/dense PE area ratio (the sparse
  PEs' area scaled by a factor; each design re-sized to the budget);
* ``batch`` — the same comparison at several batch sizes (batch-1 FC layers are a
  weight-stationary array's worst case, and the paper's batch is unknown);
* ``beyond`` (with its ``beyond_ratios``) — every design, the middle-ground ones included,
  on workloads beyond the paper: an LLM decoder block (LLaMA-2-7B, 50 % unstructured and
  2:4, Wanda-style row-balanced) and AlexNet pruned 2:4 the way NVIDIA's ASP prunes
  (profile ``asp``: every conv and linear layer but the first conv, 2 of every 4 input
  channels at each kernel position).

Everything is deterministic (fixed seeds). Nothing here touches the terminal or files:
:mod:`sod.report.paper` writes the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sod.arch.presets import PRESET_NAMES, load_arch
from sod.errors import SodError
from sod.limits import DEFAULT_ACT_IMAGES
from sod.study.compare import DEFAULT_BUDGET_MM2, REFERENCE_ARCH, compare
from sod.study.executors import Batch, Executor, ExecutorError, InlineExecutor, LocalExecutor
from sod.study.maps import MapConfig, evaluate_map_item, map_items
from sod.study.point import evaluate_run, sparse_workload

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PaperConfig:
    budget_mm2: float = DEFAULT_BUDGET_MM2
    node_nm: int = 45
    seed: int = 0
    seq_len: int = 128
    bert_densities: tuple[float, ...] = (0.5, 0.3, 0.1)
    # (label, zoo model, sparsity profile); None = the paper's AlexNet, VGG-16 and BERT-base.
    workloads: tuple[tuple[str, str, str], ...] | None = None
    # Every design: the paper's five, the middle-ground ones and Sparse-on-Dense's variants.
    archs: tuple[str, ...] = PRESET_NAMES
    # Variants of Sparse-on-Dense itself: in the main and beyond tables, not in the
    # sensitivity sections (maps, batch, density sweep, PE ratio), which ask how the
    # verdict between *designs* moves.
    variants: tuple[str, ...] = ("sparse-on-dense-reorder",)
    sweep_model: str = "alexnet"
    sweep_densities: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    pe_ratio_scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    workers: int = 2
    ablation_models: tuple[tuple[str, str], ...] = (
        ("alexnet", "han2015"),
        ("bert-base", "bert:0.1"),
    )
    # Batch sensitivity: a weight-stationary array at batch 1 spends FC layers loading
    # weights; the paper's batch is unknown, so the verdict is shown across batches.
    batch_model: tuple[str, str] = ("alexnet", "han2015")
    batches: tuple[int, ...] = (1, 8, 32)
    # Verdict maps (sod.study.maps) on the batch model: budgets (GLB a fixed share of the
    # chip) and one-at-a-time variations of the GLB, the timing model and SRAM cells.
    map_budgets_mm2: tuple[float, ...] = (1.0, 2.0, 8.0, 16.0, 32.0)
    map_variations: bool = True
    # Beyond the paper: (label, zoo model, sparsity profile) on every design.
    beyond_workloads: tuple[tuple[str, str, str], ...] = (
        ("llama2-7b@50%", "llama2-7b", "llama:0.5"),
        ("llama2-7b@2:4", "llama2-7b", "llama:2:4"),
        ("alexnet@asp2:4", "alexnet", "asp"),
    )


@dataclass
class PaperResults:
    config: PaperConfig
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    crossovers: list[dict[str, Any]] = field(default_factory=list)


def _workloads(cfg: PaperConfig) -> list[tuple[str, str, str]]:
    """(label, model, sparsity profile)."""
    if cfg.workloads is not None:
        return list(cfg.workloads)
    out = [("alexnet", "alexnet", "han2015"), ("vgg16", "vgg16", "han2015")]
    for d in cfg.bert_densities:
        out.append((f"bert-base@{round((1 - d) * 100)}%", "bert-base", f"bert:{d:g}"))
    return out


ABLATIONS: list[tuple[str, dict[str, Any]]] = [
    ("paper design (csc, after GLB, gating, skipping)", {}),
    ("decompressor before the GLB", {"placement": "before_glb"}),
    ("no zero-gating", {"zero_gating": False}),
    ("no zero-tile skipping", {"skip_zero_tiles": False}),
    ("no dense fallback", {"dense_fallback": False}),
    ("no decompressor tile buffer", {"decompressor_tile_buffer": False}),
    ("format csr", {"weight_format": "csr"}),
    ("format coo", {"weight_format": "coo"}),
    ("format bitmap", {"weight_format": "bitmap"}),
    ("format rle", {"weight_format": "rle"}),
    ("weights stored dense (no compression)", {"weight_format": "dense"}),
]


def run_paper(
    cfg: PaperConfig | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    on_count: Callable[[int, int], None] | None = None,
) -> PaperResults:
    """Run every section on ``executor`` — the executors of ``sod sweep`` (local processes
    or Dask); default: ``cfg.workers`` local processes, or this process when it is 1.
    ``progress`` hears a line per finished task group, ``on_count`` (done, total)."""
    cfg = cfg or PaperConfig()
    say = progress or (lambda _msg: None)
    if executor is None:
        executor = LocalExecutor(cfg.workers) if cfg.workers > 1 else InlineExecutor()
    assert executor is not None
    groups = _task_groups(cfg)
    outputs: list[list[Section]] = [[] for _ in groups]
    batches = [
        Batch([{"key": str(i), "cfg": cfg, "tasks": g}], group=i, cost=len(g))
        for i, g in enumerate(groups)
    ]
    maps = map_items(_map_config(cfg))
    batches += [Batch([{"key": m["key"], "map": m}], group=m["key"]) for m in maps]
    map_out: list[dict[str, Any]] = []
    total = len(batches)
    for done, got in enumerate(executor.run(run_group_item, batches), start=1):
        if got.result is None:
            raise ExecutorError(f"a task group of the study was lost: {got.lost}")
        if "map" in got.result:
            map_out.append(got.result["map"])
        else:
            outputs[int(got.key)] = got.result["out"]
        say(f"{done}/{total} task groups done")
        if on_count is not None:
            on_count(done, total)
    res = PaperResults(cfg)
    for section in SECTION_NAMES:
        res.sections[section] = []
    for out in outputs:
        for section, rows, failures in out:
            res.sections[section].extend(rows)
            res.failures.extend(failures)
    order = {m["key"]: i for i, m in enumerate(maps)}
    map_out.sort(key=lambda r: order[r["key"]])
    res.sections["maps"] = [row for r in map_out for row in r["rows"]]
    res.failures.extend(
        {
            "section": "maps",
            "workload": f"{f['axis']}={f['value']}",
            "arch": f["arch"],
            "error": f["error"],
        }
        for r in map_out
        for f in r["failures"]
    )
    # Deterministic, readable order whatever order the task groups finished in.
    labels = (
        [w[0] for w in _workloads(cfg)]
        + [w[0] for w in cfg.beyond_workloads]
        + [m for m, _ in cfg.ablation_models]
    )
    arch_rank = {a: i for i, a in enumerate(cfg.archs)}

    def rank(row: dict[str, Any]) -> tuple:
        return (
            labels.index(row["workload"]) if row.get("workload") in labels else 99,
            row.get("weight_density", 0.0) if "weight_density" in row else 0.0,
            arch_rank.get(row.get("arch", row.get("vs", "")), 99),
        )

    for section in ("main", "ratios", "pe_ratio", "beyond", "beyond_ratios"):
        res.sections[section].sort(key=rank)
    res.sections["density_sweep"].sort(
        key=lambda r: (r["weight_density"], arch_rank.get(r["arch"], 99))
    )
    res.sections["batch"].sort(key=lambda r: (r["batch"], arch_rank.get(r["arch"], 99)))
    res.crossovers = crossovers(res.sections["density_sweep"])
    return res


SECTION_NAMES = (
    "main",
    "ratios",
    "ablation",
    "density_sweep",
    "pe_ratio",
    "batch",
    "beyond",
    "beyond_ratios",
)

# (section, label/model, profile, seq_len, batch)
Task = tuple[str, str, str, int | None, int]


def _task_groups(cfg: PaperConfig) -> list[list[Task]]:
    """Tasks grouped so that each group builds its sparse workload once (per process)."""
    groups: dict[tuple[str, str, int | None, int], list[Task]] = {}
    for label, model, profile in _workloads(cfg):
        seq = cfg.seq_len if model.startswith("bert") else None
        groups.setdefault((model, profile, seq, 1), []).append(("main", label, profile, seq, 1))
    for label, model, profile in cfg.beyond_workloads:
        groups.setdefault((model, profile, None, 1), []).append(("beyond", label, profile, None, 1))
    for model, profile in cfg.ablation_models:
        seq = cfg.seq_len if model.startswith("bert") else None
        groups.setdefault((model, profile, seq, 1), []).append(("ablation", model, profile, seq, 1))
    first_model, first_profile = cfg.ablation_models[0]
    groups.setdefault((first_model, first_profile, None, 1), []).append(
        ("pe_ratio", first_model, first_profile, None, 1)
    )
    bm, bp = cfg.batch_model
    for b in cfg.batches:
        groups.setdefault((bm, bp, None, b), []).append(("batch", f"{bm}@batch{b}", bp, None, b))
    for d in cfg.sweep_densities:
        profile = "dense" if d >= 1.0 else f"uniform:{d:g}"
        groups.setdefault((cfg.sweep_model, profile, None, 1), []).append(
            ("density_sweep", cfg.sweep_model, profile, None, 1)
        )
    # Largest groups first (better packing on few workers).
    return sorted(groups.values(), key=len, reverse=True)


def check_memory(cfg: PaperConfig, max_memory_gb: float) -> None:
    """Refuse (one line naming ``--max-memory-gb``) a study one of whose zoo workloads would
    need more memory for its masks than ``max_memory_gb``, before any work starts. Other
    sources are checked when the CLI first loads them."""
    from sod.workload.budget import check_mask_memory
    from sod.workload.zoo import get_model, zoo_key

    for model, profile, seq, batch in dict.fromkeys(_group_keys(cfg)):
        if profile == "dense" or zoo_key(model) is None:
            continue
        shapes = get_model(model, batch=batch, seq_len=seq)
        what = f"{model} at batch {batch}"
        check_mask_memory(shapes.gemms, max_memory_gb, what, batch, max(batch, DEFAULT_ACT_IMAGES))


def _group_keys(cfg: PaperConfig) -> list[tuple[str, str, int | None, int]]:
    """(model, profile, seq_len, batch) of every task group."""
    return [
        (_model_of(label), p, seq, b)
        for group in _task_groups(cfg)
        for _, label, p, seq, b in group[:1]
    ]


def run_group_item(item: dict[str, Any]) -> dict[str, Any]:
    """The executors' per-item function: one task group of the study, or one map point."""
    if "map" in item:
        return {"key": item["key"], "map": evaluate_map_item(item["map"])}
    return {"key": item["key"], "out": _run_group(item["cfg"], item["tasks"])}


def _map_config(cfg: PaperConfig) -> MapConfig:
    """The maps around the study's batch model and budget (its batch axis is the batch
    section's, which evaluates the same configurations)."""
    model, profile = cfg.batch_model
    variations = MapConfig().variations if cfg.map_variations else ()
    return MapConfig(
        model=model,
        profile=profile,
        seed=cfg.seed,
        budget_mm2=cfg.budget_mm2,
        node_nm=cfg.node_nm,
        archs=_sweep_archs(cfg),
        budgets_mm2=tuple(cfg.map_budgets_mm2),
        batches=(),
        variations=variations,
    )


def _sweep_archs(cfg: PaperConfig) -> tuple[str, ...]:
    """The designs of the sensitivity sections: ``archs`` without the variants."""
    return tuple(a for a in cfg.archs if a not in cfg.variants)


def _model_of(label: str) -> str:
    return label.split("@")[0]


Section = tuple[str, list[dict[str, Any]], list[dict[str, str]]]  # (name, rows, failures)


def _run_group(cfg: PaperConfig, tasks: list[Task]) -> list[Section]:
    out: list[Section] = []
    for section, label, profile, seq, batch in tasks:
        # The study's batches are small: every image gets its own activation pattern.
        images = max(batch, DEFAULT_ACT_IMAGES)
        wl = sparse_workload(_model_of(label), profile, cfg.seed, batch, seq, images)
        if section == "batch":
            out.append(_batch_section(cfg, wl, label, batch))
        elif section in ("main", "density_sweep", "beyond"):
            out.extend(_compare_section(cfg, wl, section, label, profile))
        elif section == "ablation":
            out.append(_ablation_section(cfg, wl, label))
        else:
            fails: list[dict[str, str]] = []
            out.append((section, _pe_ratio(cfg, wl, label, fails), fails))
    return out


def _batch_section(cfg: PaperConfig, wl: Any, label: str, batch: int) -> Section:
    rows: list[dict[str, Any]] = []
    cmp = compare(wl, _sweep_archs(cfg), cfg.budget_mm2, cfg.node_nm)
    ratios = cmp.ratios()
    for name, r in cmp.results.items():
        rows.append(
            {
                **r.metrics.to_row(),
                "workload": label,
                "batch": batch,
                "arch": name,
                "sod_advantage_gops_per_mm2": ratios.get(name, {}).get(
                    "gops_per_mm2", float("nan")
                ),
                "sod_advantage_gops_per_w": ratios.get(name, {}).get("gops_per_w", float("nan")),
            }
        )
    fails = [
        {"section": "batch", "workload": label, "arch": name, "error": why}
        for name, why in cmp.failures.items()
    ]
    return ("batch", rows, fails)


def _compare_section(
    cfg: PaperConfig, wl: Any, section: str, label: str, profile: str
) -> list[Section]:
    """``main`` or ``beyond`` (with their ratios) or one density of ``density_sweep``."""
    archs = _sweep_archs(cfg) if section == "density_sweep" else cfg.archs
    cmp = compare(wl, archs, cfg.budget_mm2, cfg.node_nm)
    rows = [
        {
            **r.metrics.to_row(),
            "workload": label,
            "model": _model_of(label),
            "sparsity": profile,
            "arch": name,
            "weight_density": _weight_density(wl),
        }
        for name, r in cmp.results.items()
    ]
    fails = [
        {"section": section, "workload": f"{label} {profile}", "arch": name, "error": why}
        for name, why in cmp.failures.items()
    ]
    if section == "density_sweep":
        density = 1.0 if profile == "dense" else float(profile.split(":")[1])
        for row in rows:
            row["weight_density"] = density
        return [(section, rows, fails)]
    ratios = [
        {"workload": label, "vs": name, **row}
        for name, row in cmp.ratios().items()
        if name != REFERENCE_ARCH
    ]
    ratio_section = "ratios" if section == "main" else f"{section}_ratios"
    return [(section, rows, fails), (ratio_section, ratios, [])]


def _ablation_section(cfg: PaperConfig, wl: Any, label: str) -> Section:
    rows: list[dict[str, Any]] = []
    fails: list[dict[str, str]] = []
    for variant, change in ABLATIONS:
        try:
            arch = load_arch(REFERENCE_ARCH, **change)
            r = evaluate_run(wl, arch, cfg.budget_mm2, cfg.node_nm)
        except SodError as err:
            fails.append(
                {"section": "ablation", "workload": label, "arch": variant, "error": str(err)}
            )
            continue
        rows.append({**r.metrics.to_row(), "workload": label, "variant": variant})
    return ("ablation", rows, fails)


def _pe_ratio(
    cfg: PaperConfig, wl: Any, model: str, fails: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Re-size each sparse accelerator with its PE area scaled (sensitivity of the verdict
    to the sparse/dense PE area ratio)."""
    rows: list[dict[str, Any]] = []
    ref = evaluate_run(wl, load_arch(REFERENCE_ARCH), cfg.budget_mm2, cfg.node_nm).metrics
    # Designs built from the dense MAC PE (the arrays and Sparse-on-Dense's variants) are
    # the baseline of the ratio, not a sparse PE whose area is uncertain.
    dense_pe_kinds = {load_arch(REFERENCE_ARCH).kind, load_arch("dense").kind}
    for name in _sweep_archs(cfg):
        if name in (REFERENCE_ARCH, "dense") or load_arch(name).kind in dense_pe_kinds:
            continue
        for scale in cfg.pe_ratio_scales:
            try:
                m = evaluate_run(
                    wl, load_arch(name), cfg.budget_mm2, cfg.node_nm, pe_area_scale=scale
                ).metrics
            except SodError as err:
                fails.append(
                    {"section": "pe_ratio", "workload": model, "arch": name, "error": str(err)}
                )
                break
            rows.append(
                {
                    "workload": model,
                    "arch": name,
                    "pe_area_scale": scale,
                    "pes": m.pes,
                    "gops_per_mm2": m.gops_per_mm2,
                    "gops_per_w": m.gops_per_w,
                    "sod_advantage_gops_per_mm2": ref.gops_per_mm2 / m.gops_per_mm2,
                    "sod_advantage_gops_per_w": ref.gops_per_w / m.gops_per_w,
                }
            )
    return rows


def crossovers(
    sweep: Sequence[dict[str, Any]], metric: str = "gops_per_mm2"
) -> list[dict[str, Any]]:
    """Per sparse architecture, the weight density below which it beats Sparse-on-Dense on
    ``metric`` (log-linear interpolation between sweep points; None if it never does)."""
    by_arch: dict[str, dict[float, float]] = {}
    for row in sweep:
        by_arch.setdefault(row["arch"], {})[row["weight_density"]] = row[metric]
    ref = by_arch.get(REFERENCE_ARCH, {})
    out = []
    for name, series in by_arch.items():
        if name == REFERENCE_ARCH or not ref:
            continue
        ds = sorted(d for d in series if d in ref)
        adv = np.array([math.log(ref[d] / series[d]) for d in ds])  # > 0: SoD wins
        crossing = None
        for i in range(len(ds) - 1):
            if adv[i] < 0 <= adv[i + 1]:
                x0, x1 = math.log(ds[i]), math.log(ds[i + 1])
                t = adv[i] / (adv[i] - adv[i + 1])
                crossing = math.exp(x0 + t * (x1 - x0))
        wins_everywhere = bool(len(adv) and (adv >= 0).all())
        out.append(
            {
                "arch": name,
                "metric": metric,
                "crossover_density": crossing,
                "sod_wins_at_all_densities": wins_everywhere,
                "sparse_wins_at_all_densities": bool(len(adv) and (adv < 0).all()),
            }
        )
    return out


def _weight_density(wl: Any) -> float:
    total = sum(g.weight_count for g in wl)
    kept = sum(g.weight_count * g.weight_density for g in wl)
    return kept / total if total else 1.0
