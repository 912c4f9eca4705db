"""Every workload source behind one function: zoo names, SCALE-Sim topology CSVs, ONNX
files, PyTorch modules or ``file.py:callable`` specs, and ready-made workloads.

Used by the CLI commands and the Python API alike, so each takes every source. The
result says where the operand masks came from, because that can change a verdict: a
topology CSV carries densities only, so its patterns are drawn i.i.d.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sod.errors import WorkloadError
from sod.limits import DEFAULT_ACT_IMAGES
from sod.workload.gemm import Workload

# Where the masks came from, said once so every output uses the same words.
MASKS_REAL = "real: the model's own pruned weights and measured activations"
MASKS_PROFILE = "generated: sparsity profile {profile!r} (seed {seed})"
MASKS_DENSITIES = (
    "densities only: non-zero patterns drawn i.i.d. from per-layer densities; "
    "real masks may change the verdict"
)
MASKS_DENSE = "dense: no pruning"


@dataclass(frozen=True)
class LoadedWorkload:
    """A workload with its masks and where they came from."""

    workload: Workload
    source: str  # what the user gave, for provenance
    masks: str  # one of the MASKS_* sentences


def _is_torch_module(obj: Any) -> bool:
    return hasattr(obj, "named_modules") and callable(obj)


def load_any(
    source: Any,
    *,
    example_inputs: Any = None,
    batch: int = 1,
    seq_len: int | None = None,
    sparsity: str | None = None,
    seed: int = 0,
    topology_format: str = "auto",
    scalesim_ofmap: bool = False,
    max_memory_gb: float | None = None,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> LoadedWorkload:
    """Resolve ``source`` into a masked workload.

    ``source`` is a :class:`Workload`, a ``torch.nn.Module`` (with ``example_inputs``), a
    zoo name (``sod models``), a path to an ``.onnx`` file, a topology ``.csv``, a
    Timeloop/Sparseloop problem ``.yaml`` (or a folder of them, one layer each), a
    HuggingFace model folder (with ``config.json``) or ``hf:ID`` (transformers extra), or a
    ``"file.py:callable"`` / ``"module:callable"`` spec returning (module, inputs).
    ``sparsity`` (a profile of docs/sparsity.md) overrides the default: ``auto`` for zoo
    networks, the model's own pruning (``keep``) for imported ones, none for CSVs.
    ``max_memory_gb`` refuses (one line) a workload whose masks would need more memory,
    estimated before they are built (:mod:`sod.workload.budget`). ``act_images``: activation
    patterns are drawn for at most that many images of the batch, which larger batches
    repeat (:mod:`sod.workload.batching`, docs/large-batch.md).
    """
    if batch <= 0:
        raise WorkloadError(f"batch must be positive, got {batch}")
    if seq_len is not None and seq_len <= 0:
        raise WorkloadError(f"seq_len must be positive, got {seq_len}")
    label: str
    if isinstance(source, Workload):
        workload, label, default = source, source.name, None
    elif _is_torch_module(source):
        from sod.workload.torch_import import from_torch

        if example_inputs is None:
            raise WorkloadError("a torch module needs example_inputs")
        workload, label, default = from_torch(source, example_inputs), type(source).__name__, "keep"
    elif isinstance(source, str | Path):
        workload, label, default = _load_named(
            str(source), batch, seq_len, topology_format, scalesim_ofmap
        )
    else:
        raise WorkloadError(
            f"cannot make a workload of a {type(source).__name__}: give a zoo name, a .onnx or "
            ".csv path, 'file.py:callable', a torch module or a Workload"
        )
    profile = sparsity if sparsity is not None else default
    if profile is not None and profile != "none":
        from sod.sparsity.apply import apply_sparsity

        if max_memory_gb is not None and profile != "dense":
            from sod.workload.budget import MAX_MEMORY_OPTION, check_mask_memory

            if not (0 < max_memory_gb < float("inf")):
                raise WorkloadError(
                    f"{MAX_MEMORY_OPTION} must be a positive number, got {max_memory_gb}"
                )
            check_mask_memory(
                workload.gemms,
                max_memory_gb,
                f"workload {workload.name!r}",
                workload.batch,
                act_images,
            )
        # "dense" goes through too: it drops an imported network's masks.
        model = label if default == "auto" else None
        workload = apply_sparsity(workload, profile, seed=seed, model=model, act_images=act_images)
    return LoadedWorkload(workload, label, _mask_origin(workload, profile, seed))


def _load_named(
    text: str, batch: int, seq_len: int | None, topology_format: str, scalesim_ofmap: bool
) -> tuple[Workload, str, str | None]:
    from sod.workload.zoo import ZOO, get_model, zoo_key

    if (key := zoo_key(text)) is not None:
        return get_model(key, batch=batch, seq_len=seq_len), key, "auto"
    if text.startswith(("torchvision:", "timm:")):
        return _hub_model(text, batch), text, "keep"
    if text.startswith("hf:") or (Path(text).is_dir() and (Path(text) / "config.json").exists()):
        from sod.workload.hf_import import from_huggingface

        target = text.removeprefix("hf:")
        workload = from_huggingface(target, seq_len=seq_len or 128, batch=batch)
        return workload, Path(target).name or target, "keep"
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from sod.workload.onnx_import import from_onnx

        return from_onnx(path, batch=batch), path.stem, "keep"
    if suffix == ".csv":
        from sod.workload.topology_csv import read_topology

        workload = read_topology(path, fmt=topology_format, scalesim_ofmap=scalesim_ofmap)  # type: ignore[arg-type]
        return workload, path.stem, None
    if suffix in (".yaml", ".yml") or path.is_dir():
        from sod.workload.timeloop_yaml import read_problem, read_problems

        if path.is_dir():
            files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            return read_problems(files, name=path.name), path.name, None
        return read_problem(path), path.stem, None
    if ":" in text:
        from sod.workload.torch_import import from_torch

        return from_torch(text), text, "keep"
    from sod.suggest import did_you_mean

    raise WorkloadError(
        f"unknown model {text!r}{did_you_mean(text, ZOO)}: not a zoo network "
        f"({', '.join(ZOO)}), an .onnx, .csv or Timeloop .yaml file, or 'file.py:callable'"
    )


def _mask_origin(workload: Workload, profile: str | None, seed: int) -> str:
    has_masks = any(g.weight_mask is not None or g.act_mask is not None for g in workload)
    sparse = any(g.weight_density < 1.0 or g.act_density < 1.0 for g in workload)
    if profile == "keep":
        return MASKS_REAL if has_masks else MASKS_DENSE
    if profile and profile not in ("", "none", "dense"):
        return MASKS_PROFILE.format(profile=profile, seed=seed)
    if sparse and not has_masks:
        return MASKS_DENSITIES
    return MASKS_REAL if has_masks else MASKS_DENSE


def _hub_model(text: str, batch: int) -> Workload:
    """``torchvision:NAME`` or ``timm:NAME``: the architecture with random weights (nothing
    is downloaded), run on a ``batch × 3 × 224 × 224`` input; prune it with ``sparsity``."""
    library, _, name = text.partition(":")
    try:
        import torch

        lib = __import__(library)
    except ImportError:
        raise WorkloadError(
            f"{text}: needs {library} (pip install {library}) and the torch extra "
            "(pip install 'sparse-on-dense[torch]')"
        ) from None
    from sod.workload.torch_import import from_torch

    try:
        if library == "timm":
            model = lib.create_model(name, pretrained=False)
        else:
            model = lib.models.get_model(name, weights=None)
    except (KeyError, ValueError, RuntimeError) as err:
        raise WorkloadError(f"{text}: unknown {library} model ({err})") from None
    model.eval()
    with torch.no_grad():
        return from_torch(model, torch.randn(batch, 3, 224, 224), name=name)
