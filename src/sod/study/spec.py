"""The sweep spec: a YAML grid of study points, validated (pydantic) and expanded.

A sweep spec (see docs/sweeps.md and examples/sweep-*.yaml) is a grid::

    workloads × sparsity × architectures × budgets_mm2 × nodes_nm × seeds

Each point gets a store key that hashes its full configuration — the architecture's
validated fields, not just its file name — together with the *model version*
(``version_policy``):

* ``code`` (default): ``sod.__version__`` plus a fingerprint of the source and data files
  that determine the numbers (everything under ``sod/`` except the CLI, reports, RTL,
  reference simulators and study tooling other than ``point.py``/``run.py``). Editing a
  model invalidates its results: a rerun recomputes them instead of reusing stale ones.
* ``release``: ``sod.__version__`` only (keep results across local edits; your call).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import sod
from sod.errors import SodError
from sod.limits import MAX_BATCH, MAX_BUDGET_MM2, MAX_SEED, MAX_SEQ_LEN
from sod.yamlio import read_yaml

GroupKey = tuple[str, str, int, int, int | None, int | None]


class SweepError(SodError):
    """A sweep spec is malformed, or a sweep cannot run."""


PositiveInt = Annotated[int, Field(gt=0, strict=True)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]
Budget = Annotated[float, Field(gt=0, le=MAX_BUDGET_MM2, allow_inf_nan=False)] | None


class WorkloadEntry(BaseModel):
    """One network of the zoo, with its batch and (transformers) sequence length."""

    model_config = ConfigDict(extra="forbid")
    model: str
    batch: Annotated[int, Field(gt=0, le=MAX_BATCH, strict=True)] = 1
    seq_len: Annotated[int, Field(gt=0, le=MAX_SEQ_LEN, strict=True)] | None = None
    act_images: Annotated[int, Field(gt=0, le=MAX_BATCH, strict=True)] | None = Field(
        None,
        description="activation patterns drawn per layer; a larger batch repeats them "
        "(default 16, docs/large-batch.md)",
    )
    sparsity: list[str] | None = Field(
        None, description="profiles for this network only (replaces the sparsity axis)"
    )

    @field_validator("sparsity", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("sparsity")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("empty axis: the grid needs at least one value here")
        return value


def _as_list(value: Any) -> Any:
    # A scalar is a one-value axis (``seeds: 0``); None stays None so that it is reported.
    return value if isinstance(value, list) or value is None else [value]


def _one_none() -> list[Any]:
    """A one-value axis holding None (the architecture's own budget or node)."""
    return [None]


class SweepSpec(BaseModel):
    """The YAML grid. Unknown keys, wrong types and empty axes are errors."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="sweep name (default: the spec file's stem)")
    db: str | None = Field(
        None,
        description="SQLite path, relative to the spec (default: <spec stem>.sqlite beside it)",
    )
    workloads: list[WorkloadEntry]
    sparsity: list[str] = Field(default_factory=lambda: ["dense"])
    architectures: list[str]
    budgets_mm2: list[Budget] = Field(default_factory=_one_none)
    nodes_nm: list[Annotated[int, Field(strict=True)] | None] = Field(default_factory=_one_none)
    seeds: list[Seed] = Field(default_factory=lambda: [0])
    version_policy: Literal["code", "release"] = "code"

    @field_validator("workloads", mode="before")
    @classmethod
    def _workloads(cls, value: Any) -> Any:
        value = _as_list(value)
        if isinstance(value, list):
            return [{"model": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("sparsity", "architectures", "budgets_mm2", "nodes_nm", "seeds", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("workloads", "sparsity", "architectures", "budgets_mm2", "nodes_nm", "seeds")
    @classmethod
    def _not_empty(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("empty axis: the grid needs at least one value here")
        return value

    @field_validator("nodes_nm")
    @classmethod
    def _nodes(cls, value: list[int | None]) -> list[int | None]:
        from sod.tech import SUPPORTED_NODES_NM

        for node in value:
            if node is not None and node not in SUPPORTED_NODES_NM:
                raise ValueError(
                    f"{node} nm is not a supported node ({', '.join(map(str, SUPPORTED_NODES_NM))})"
                )
        return value


def _field_path(loc: Sequence[int | str]) -> str:
    """pydantic's error location as ``workloads[1].batch`` (dropping union-branch tags)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in SweepSpec.model_fields or part in WorkloadEntry.model_fields:
            out += f".{part}" if out else part
    return out or "(top level)"


def parse_spec(data: Any, source: str = "sweep spec") -> SweepSpec:
    """Validate a mapping into a :class:`SweepSpec` (one-line :class:`SweepError`)."""
    if not isinstance(data, dict):
        raise SweepError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        where = _field_path(loc)
        if first["type"] == "extra_forbidden":
            allowed = (WorkloadEntry if len(loc) > 1 else SweepSpec).model_fields
            msg = f"unknown key (allowed: {', '.join(allowed)})"
            parent = _field_path(loc[:-1]) if len(loc) > 1 else ""
            where = f"{parent}.{loc[-1]}" if parent else str(loc[-1])
        raise SweepError(f"{source}: field {where!r}: {msg}") from None


@dataclass(frozen=True, eq=False)
class SweepPoint:
    """One grid point: its stored configuration, keys and what the evaluator receives."""

    key: str
    point_id: str
    config: dict[str, Any]
    arch_ref: str  # preset name or absolute YAML path, for evaluate_point

    @property
    def group(self) -> GroupKey:
        c = self.config
        return (
            c["model"],
            c["sparsity"],
            c["seed"],
            c["batch"],
            c["seq_len"],
            c.get("act_images"),
        )

    def evaluation_input(self) -> dict[str, Any]:
        return {**self.config, "arch": self.arch_ref}

    def label(self) -> str:
        c = self.config
        budget = "as specified" if c["budget_mm2"] is None else f"{c['budget_mm2']:g} mm²"
        return (
            f"{c['model']} {c['sparsity']} seed {c['seed']} on {c['arch']} at {budget}, "
            f"{c['node_nm']} nm"
        )


@dataclass(frozen=True)
class Sweep:
    """A validated spec, where it lives, and its expanded points."""

    spec: SweepSpec
    name: str
    source: Path
    db_path: Path
    model_version: str
    points: list[SweepPoint]
    duplicates: int = 0


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def point_key(point_id: str, model_version: str) -> str:
    """The store key: configuration hash + model version."""
    return sha256_hex(f"{point_id}\n{model_version}")


_FINGERPRINT_SKIP_DIRS = {"cli", "report", "rtl", "reference", "__pycache__"}
_FINGERPRINT_STUDY = {"point.py", "run.py", "__init__.py"}
_FINGERPRINT_SUFFIXES = {".py", ".yaml", ".yml", ".csv", ".json", ".lib"}


def code_fingerprint(root: Path | None = None) -> str:
    """sha256 over the files that determine a point's numbers (see the module docstring)."""
    root = Path(sod.__file__).parent if root is None else root
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (
            not path.is_file()
            or path.suffix not in _FINGERPRINT_SUFFIXES
            or _FINGERPRINT_SKIP_DIRS.intersection(rel.parts[:-1])
            or (rel.parts[0] == "study" and rel.name not in _FINGERPRINT_STUDY)
        ):
            continue
        digest.update(str(rel.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_version(policy: str = "code") -> str:
    if policy == "release":
        return sod.__version__
    return f"{sod.__version__}+{code_fingerprint()}"


def _workload_config(entry: WorkloadEntry, where: str, base_dir: Path) -> dict[str, Any]:
    from sod.workload.zoo import get_model, zoo_key

    if zoo_key(entry.model) is None:
        return _source_config(entry, where, base_dir)
    try:
        w = get_model(entry.model, batch=entry.batch, seq_len=entry.seq_len)
    except SodError as err:
        raise SweepError(f"{where}: {err}") from None
    if entry.seq_len is not None and w.seq_len is None:
        raise SweepError(f"{where}: seq_len applies to transformers, not to {w.name!r}")
    return {"model": w.name, "batch": entry.batch, "seq_len": w.seq_len} | _act_images(entry)


def _source_config(entry: WorkloadEntry, where: str, base_dir: Path) -> dict[str, Any]:
    """A workload that is not a zoo name: a file (relative to the spec), a ``file.py:fn`` /
    ``module:fn`` spec or a ``torchvision:``/``timm:`` name, resolved when a point runs."""
    text = entry.model
    if text.startswith(("torchvision:", "timm:")):
        return {"model": text, "batch": entry.batch, "seq_len": entry.seq_len} | _act_images(entry)
    target, sep, fn = text.rpartition(":") if ":" in text else (text, "", "")
    path = Path(target)
    resolved = path if path.is_absolute() else (base_dir / path)
    if resolved.exists():
        model = str(resolved.resolve()) + (sep + fn if sep else "")
    elif sep and not target.endswith(".py"):
        model = text  # module:callable, importable where the points run
    else:
        from sod.suggest import did_you_mean
        from sod.workload.zoo import ZOO

        raise SweepError(
            f"{where}: unknown model {text!r}{did_you_mean(text, ZOO)}: not a zoo network "
            "and no such file"
        )
    return {"model": model, "batch": entry.batch, "seq_len": entry.seq_len} | _act_images(entry)


def _act_images(entry: WorkloadEntry) -> dict[str, Any]:
    """``act_images`` joins a point's configuration only when the spec sets it, so the keys
    of points stored before the field existed stay the same."""
    return {} if entry.act_images is None else {"act_images": entry.act_images}


def expand(
    spec: SweepSpec, base_dir: Path, source: str = "sweep spec", version: str | None = None
) -> tuple[list[SweepPoint], int]:
    """All grid points (duplicates removed) and the number of duplicates.

    Names are checked here, before anything runs: unknown networks, architectures and
    sparsity profiles that no workload of the grid accepts are :class:`SweepError`\\ s.
    """
    version = model_version(spec.version_policy) if version is None else version
    workloads = [
        _workload_config(w, f"{source}: field 'workloads[{i}]'", base_dir)
        for i, w in enumerate(spec.workloads)
    ]
    archs = _architectures(spec, base_dir, source)
    profiles = _shared_profiles(spec, workloads, source)
    own = _own_profiles(spec, workloads, source)
    arch_json = {label: arch.model_dump(mode="json") for label, _, arch in archs}
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for i, w in enumerate(workloads):
        for sparsity, (label, ref, arch), budget, node, seed in itertools.product(
            own.get(i, profiles), archs, spec.budgets_mm2, spec.nodes_nm, spec.seeds
        ):
            config = {
                **w,
                "sparsity": sparsity,
                "seed": seed,
                "arch": label,
                "budget_mm2": budget,
                "node_nm": arch.node_nm if node is None else node,
            }
            pid = sha256_hex(canonical_json({**config, "arch_spec": arch_json[label]}))
            key = point_key(pid, version)
            if key not in seen:
                seen.add(key)
                points.append(SweepPoint(key, pid, config, ref))
    per_workload = sum(len(own.get(i, profiles)) for i in range(len(workloads)))
    total = per_workload * len(archs) * len(spec.budgets_mm2) * len(spec.nodes_nm) * len(spec.seeds)
    return points, total - len(points)


def _architectures(spec: SweepSpec, base_dir: Path, source: str) -> list[tuple[str, str, Any]]:
    """(label in the spec, preset name or absolute path, validated Architecture)."""
    from sod.arch.presets import PRESET_NAMES, load_arch

    archs = []
    for i, entry in enumerate(spec.architectures):
        ref = entry if entry in PRESET_NAMES else str((base_dir / entry).resolve())
        try:
            arch = load_arch(ref)
        except SodError as err:
            raise SweepError(f"{source}: field 'architectures[{i}]': {err}") from None
        archs.append((entry, ref, arch))
    return archs


def _shared_profiles(spec: SweepSpec, workloads: list[dict[str, Any]], source: str) -> list[str]:
    """The sparsity axis; a profile that no workload using the axis accepts is an error."""
    from sod.sparsity.profiles import parse_profile

    users = [w for w, e in zip(workloads, spec.workloads, strict=True) if e.sparsity is None]
    profiles = []
    for i, text in enumerate(spec.sparsity):
        errors = []
        for w in users:
            try:
                parse_profile(text, w["model"])
            except SodError as err:
                errors.append(str(err))
        if users and len(errors) == len(users):
            raise SweepError(f"{source}: field 'sparsity[{i}]': {errors[0]}")
        profiles.append(text.strip())
    return profiles


def _own_profiles(
    spec: SweepSpec, workloads: list[dict[str, Any]], source: str
) -> dict[int, list[str]]:
    """Per-workload sparsity lists (they replace the axis for that workload)."""
    from sod.sparsity.profiles import parse_profile

    own: dict[int, list[str]] = {}
    for i, (w, entry) in enumerate(zip(workloads, spec.workloads, strict=True)):
        if entry.sparsity is None:
            continue
        own[i] = []
        for j, text in enumerate(entry.sparsity):
            try:
                parse_profile(text, w["model"])
            except SodError as err:
                raise SweepError(f"{source}: field 'workloads[{i}].sparsity[{j}]': {err}") from None
            own[i].append(text.strip())
    return own


def load_sweep(path: str | Path, version: str | None = None) -> Sweep:
    """Read, validate and expand a sweep spec file."""
    path = Path(path)
    if not path.exists():
        raise SweepError(f"no such sweep spec: {path}")
    data = read_yaml(path, "sweep spec", SweepError)
    spec = parse_spec(data, str(path))
    base = path.resolve().parent
    version = model_version(spec.version_policy) if version is None else version
    points, dups = expand(spec, base, str(path), version)
    db = base / spec.db if spec.db else base / f"{path.stem}.sqlite"
    return Sweep(spec, spec.name or path.stem, path, db, version, points, dups)
