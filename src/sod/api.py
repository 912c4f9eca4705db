"""The Python API: ``sod.compare``, ``sod.run`` and ``sod.paper``.

Each takes any workload source (a zoo name, a ``torch.nn.Module`` with example inputs, an
``.onnx`` or topology ``.csv`` path, ``"file.py:callable"``, or a :class:`Workload`) and
returns typed results (docs/api.md)::

    import sod
    r = sod.compare("alexnet", budget_mm2=4)
    print(r.verdict())
    r.to_frame()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sod.arch.presets import PRESET_NAMES, load_arch
from sod.limits import DEFAULT_ACT_IMAGES
from sod.study.compare import DEFAULT_BUDGET_MM2, Comparison
from sod.study.compare import compare as compare_workload
from sod.study.point import PointResult, evaluate_run
from sod.study.sources import load_any


def compare(
    model: Any,
    example_inputs: Any = None,
    *,
    budget_mm2: float | None = DEFAULT_BUDGET_MM2,
    archs: Sequence[str] = PRESET_NAMES,
    batch: int = 1,
    seq_len: int | None = None,
    sparsity: str | None = None,
    seed: int = 0,
    node_nm: int | None = None,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> Comparison:
    """``model`` on every architecture in ``archs``, each sized to ``budget_mm2`` (iso-area).

    The result has ``.verdict()`` (one sentence), ``.to_frame()`` (pandas), ``.ratios()``
    (Sparse-on-Dense's advantage) and a notebook display. ``act_images``: activation
    patterns drawn for at most that many images, repeated over a larger batch
    (docs/large-batch.md)."""
    loaded = load_any(
        model,
        example_inputs=example_inputs,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity,
        seed=seed,
        act_images=act_images,
    )
    return compare_workload(
        loaded.workload, list(archs), budget_mm2, node_nm, masks=loaded.masks, batch=batch
    )


def run(
    model: Any,
    example_inputs: Any = None,
    *,
    arch: str | Path = "sparse-on-dense",
    budget_mm2: float | None = None,
    batch: int = 1,
    seq_len: int | None = None,
    sparsity: str | None = None,
    seed: int = 0,
    node_nm: int | None = None,
    act_images: int = DEFAULT_ACT_IMAGES,
    **arch_overrides: Any,
) -> PointResult:
    """``model`` on one architecture (a preset or a YAML file, with field overrides such as
    ``array_rows=64``), sized to ``budget_mm2`` when given. The result has ``.metrics``
    (typed), ``.run.layers`` (per-GEMM counts), ``.to_dict()`` and ``.to_frame()``."""
    loaded = load_any(
        model,
        example_inputs=example_inputs,
        batch=batch,
        seq_len=seq_len,
        sparsity=sparsity,
        seed=seed,
        act_images=act_images,
    )
    return evaluate_run(loaded.workload, load_arch(arch, **arch_overrides), budget_mm2, node_nm)


def paper(out: str | Path | None = None, **config: Any) -> Any:
    """The paper's study (``sod paper``) with :class:`sod.study.paper.PaperConfig` fields as
    keyword arguments; writes its CSV/JSON, figures and report.html to ``out`` when given.
    Returns the :class:`~sod.study.paper.PaperResults`."""
    from sod.study.paper import PaperConfig, run_paper

    results = run_paper(PaperConfig(**config))
    if out is not None:
        from sod.report.paper import write_outputs

        Path(out).mkdir(parents=True, exist_ok=True)
        write_outputs(results, Path(out))
    return results
