"""Sweeps: a YAML grid of study points, run in parallel, stored so that a rerun resumes.

A sweep spec (see docs/sweeps.md and examples/sweep-*.yaml) is a grid::

    workloads × sparsity × architectures × budgets_mm2 × nodes_nm × seeds

Each point is evaluated by :func:`sod.study.point.evaluate_point` and written to a SQLite
store (:mod:`sod.study.store`) under a key that hashes the point's full configuration —
the architecture's validated fields, not just its file name — together with the *model
version* (``version_policy``):

* ``code`` (default): ``sod.__version__`` plus a fingerprint of the source and data files
  that determine the numbers (everything under ``sod/`` except the CLI, reports, RTL,
  reference simulators and study tooling other than ``point.py``/``run.py``). Editing a
  model invalidates its results: a rerun recomputes them instead of reusing stale ones.
* ``release``: ``sod.__version__`` only (keep results across local edits; your call).

Executors: :class:`LocalExecutor` (processes; the parent is the only database writer) and
:class:`DaskExecutor` (a ``dask.distributed`` scheduler). Points are grouped by workload
(model, sparsity, seed, batch, seq_len) so that each worker builds a sparsified workload
once (``sparse_workload`` is cached per process).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import sod
from sod.errors import SodError
from sod.limits import MAX_BATCH, MAX_BUDGET_MM2, MAX_SEED, MAX_SEQ_LEN
from sod.study.store import ResultStore
from sod.yamlio import read_yaml

DONE_STATUSES = ("ok", "failed")  # 'error' (an unexpected exception) is retried on rerun
GroupKey = tuple[str, str, int, int, int | None]


class SweepError(SodError):
    """A sweep spec is malformed, or a sweep cannot run (e.g. unreachable scheduler)."""


# ---------------------------------------------------------------------------- the spec

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]
Budget = Annotated[float, Field(gt=0, le=MAX_BUDGET_MM2, allow_inf_nan=False)] | None


class WorkloadEntry(BaseModel):
    """One network of the zoo, with its batch and (transformers) sequence length."""

    model_config = ConfigDict(extra="forbid")
    model: str
    batch: Annotated[int, Field(gt=0, le=MAX_BATCH, strict=True)] = 1
    seq_len: Annotated[int, Field(gt=0, le=MAX_SEQ_LEN, strict=True)] | None = None
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
    budgets_mm2: list[Budget] = Field(default_factory=lambda: [None])
    nodes_nm: list[Annotated[int, Field(strict=True)] | None] = Field(
        default_factory=lambda: [None]
    )
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


# ---------------------------------------------------------------------------- points


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
        return (c["model"], c["sparsity"], c["seed"], c["batch"], c["seq_len"])

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


def _workload_config(entry: WorkloadEntry, where: str) -> dict[str, Any]:
    from sod.workload.zoo import get_model

    try:
        w = get_model(entry.model, batch=entry.batch, seq_len=entry.seq_len)
    except SodError as err:
        raise SweepError(f"{where}: {err}") from None
    if entry.seq_len is not None and w.seq_len is None:
        raise SweepError(f"{where}: seq_len applies to transformers, not to {w.name!r}")
    return {"model": w.name, "batch": entry.batch, "seq_len": w.seq_len}


def expand(
    spec: SweepSpec, base_dir: Path, source: str = "sweep spec", version: str | None = None
) -> tuple[list[SweepPoint], int]:
    """All grid points (duplicates removed) and the number of duplicates.

    Names are checked here, before anything runs: unknown networks, architectures and
    sparsity profiles that no workload of the grid accepts are :class:`SweepError`\\ s.
    """
    from sod.arch.presets import PRESET_NAMES, load_arch
    from sod.sparsity.profiles import parse_profile

    version = model_version(spec.version_policy) if version is None else version
    workloads = [
        _workload_config(w, f"{source}: field 'workloads[{i}]'")
        for i, w in enumerate(spec.workloads)
    ]
    archs = []
    for i, entry in enumerate(spec.architectures):
        ref = entry if entry in PRESET_NAMES else str((base_dir / entry).resolve())
        try:
            arch = load_arch(ref)
        except SodError as err:
            raise SweepError(f"{source}: field 'architectures[{i}]': {err}") from None
        archs.append((entry, ref, arch))
    profiles = []
    for i, text in enumerate(spec.sparsity):
        errors = []
        users = [w for w, e in zip(workloads, spec.workloads, strict=True) if e.sparsity is None]
        for w in users:
            try:
                parse_profile(text, w["model"])
            except SodError as err:
                errors.append(str(err))
        if users and len(errors) == len(users):
            raise SweepError(f"{source}: field 'sparsity[{i}]': {errors[0]}")
        profiles.append(text.strip())
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

    points: list[SweepPoint] = []
    seen: set[str] = set()
    for i, w in enumerate(workloads):
        for sparsity in own.get(i, profiles):
            for label, ref, arch in archs:
                arch_json = arch.model_dump(mode="json")
                for budget in spec.budgets_mm2:
                    for node in spec.nodes_nm:
                        for seed in spec.seeds:
                            config = {
                                **w,
                                "sparsity": sparsity,
                                "seed": seed,
                                "arch": label,
                                "budget_mm2": budget,
                                "node_nm": arch.node_nm if node is None else node,
                            }
                            pid = sha256_hex(canonical_json({**config, "arch_spec": arch_json}))
                            key = point_key(pid, version)
                            if key in seen:
                                continue
                            seen.add(key)
                            points.append(SweepPoint(key, pid, config, ref))
    per_workload = sum(len(own.get(i, profiles)) for i in range(len(workloads)))
    total = per_workload * len(archs) * len(spec.budgets_mm2) * len(spec.nodes_nm) * len(spec.seeds)
    return points, total - len(points)


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


# ---------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """Points that share a workload, sent to one worker as a unit."""

    group: GroupKey
    points: list[tuple[str, dict[str, Any]]]  # (key, evaluate_point input)
    cost: float


def _group_cost(group: GroupKey, n_points: int) -> float:
    """Rough relative cost: building the masks and evaluating each point both scale with
    the operand elements (weights + activations); one point costs roughly 0.2-0.3 of a
    build (measured on AlexNet, ResNet-50, BERT-base). Only the ordering matters."""
    from sod.workload.zoo import get_model

    w = get_model(group[0], batch=group[3], seq_len=group[4])
    elements = float(w.weight_count + sum(g.m * g.k * g.repeat for g in w))
    return elements * (1.0 + 0.25 * n_points)


def plan_tasks(
    points: Sequence[SweepPoint], slots: int, max_chunk: int | None = None
) -> list[Task]:
    """Group points by workload; split groups only to keep every slot busy (or to honour
    ``max_chunk``); order the tasks largest first (LPT keeps the tail short)."""
    groups: dict[GroupKey, list[SweepPoint]] = {}
    for p in points:
        groups.setdefault(p.group, []).append(p)
    split = max(1, math.ceil(slots / max(1, len(groups))))
    tasks = []
    for group, members in groups.items():
        chunks = split
        if max_chunk is not None:
            chunks = max(chunks, math.ceil(len(members) / max_chunk))
        chunks = min(chunks, len(members))
        size = math.ceil(len(members) / chunks)
        unit = _group_cost(group, size)
        for start in range(0, len(members), size):
            part = members[start : start + size]
            tasks.append(Task(group, [(p.key, p.evaluation_input()) for p in part], unit))
    tasks.sort(key=lambda t: -t.cost)
    return tasks


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def evaluate_safely(key: str, point: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one point; a :class:`SodError` becomes status 'failed' with its message,
    any other exception 'error' (a bug: retried on the next run)."""
    from sod.study.point import evaluate_point

    started = time.time()
    metrics, error, status = None, None, "ok"
    try:
        metrics = _jsonable(evaluate_point(point))
    except SodError as err:
        status, error = "failed", _one_line(str(err))
    except Exception as err:
        status, error = "error", _one_line(f"{type(err).__name__}: {err}")
    return {
        "key": key,
        "status": status,
        "metrics": metrics,
        "error": error,
        "started_at": started,
        "finished_at": time.time(),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def run_task(points: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Evaluate a task's points (Dask and in-process executors)."""
    return [evaluate_safely(key, point) for key, point in points]


# ---------------------------------------------------------------------------- executors


class Executor(Protocol):
    slots: int
    max_chunk: int | None

    def run(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        """Yield one outcome per point (``evaluate_safely``'s dict) as they finish."""
        ...

    def close(self) -> None: ...


class InlineExecutor:
    """Evaluate in this process, one point after another (tests, debugging)."""

    slots = 1
    max_chunk = None

    def run(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        for task in tasks:
            for key, point in task.points:
                yield evaluate_safely(key, point)

    def close(self) -> None:
        pass


_RESULT_QUEUE: Any = None
_PARENT_PID: int | None = None


def _init_worker(queue: Any, parent_pid: int) -> None:
    global _RESULT_QUEUE, _PARENT_PID
    _RESULT_QUEUE, _PARENT_PID = queue, parent_pid


def _stream_task(points: list[tuple[str, dict[str, Any]]]) -> int:
    """Worker side: send each point's outcome as soon as it is known."""
    for done, (key, point) in enumerate(points):
        if os.getppid() != _PARENT_PID:  # the sweep was killed: do not compute for no one
            return done
        _RESULT_QUEUE.put(evaluate_safely(key, point))
    return len(points)


class LocalExecutor:
    """A pool of ``workers`` local processes (spawned: no fork of a threaded parent).

    Each task is a workload group; a worker streams every point's outcome back through a
    queue the moment it is computed, so the parent commits points one by one.
    """

    max_chunk = None

    def __init__(self, workers: int = 2) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise SweepError(f"--workers must be a positive integer, got {workers!r}")
        self.slots = workers

    def run(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        import multiprocessing

        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        pool = ProcessPoolExecutor(
            min(self.slots, len(tasks)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(queue, os.getpid()),
        )
        finished = False
        try:
            futures = {pool.submit(_stream_task, t.points): t for t in tasks}
            pending = {key for t in tasks for key, _ in t.points}
            while pending:
                try:
                    outcome = queue.get(timeout=0.25)
                except Empty:
                    yield from self._lost(futures, pending, queue)
                    continue
                if outcome["key"] in pending:
                    pending.discard(outcome["key"])
                    yield outcome
            finished = True
        finally:
            if not finished:  # interrupted: stop the running groups now
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
            pool.shutdown(wait=finished, cancel_futures=True)
            queue.close()

    @staticmethod
    def _lost(futures: dict[Any, Task], pending: set[str], queue: Any) -> Iterator[dict[str, Any]]:
        """Points of tasks whose worker died (e.g. killed by the OOM killer) → 'error'."""
        for fut, task in list(futures.items()):
            if not fut.done() or fut.exception() is None:
                continue
            del futures[fut]  # handled once
            try:  # drain what the dead worker did send
                while True:
                    outcome = queue.get(timeout=0.1)
                    if outcome["key"] in pending:
                        pending.discard(outcome["key"])
                        yield outcome
            except Empty:
                pass
            reason = _one_line(
                f"worker failed: {type(fut.exception()).__name__}: {fut.exception()}"
            )
            now = time.time()
            for key, _ in task.points:
                if key in pending:
                    pending.discard(key)
                    yield {
                        "key": key,
                        "status": "error",
                        "metrics": None,
                        "error": reason,
                        "started_at": None,
                        "finished_at": now,
                        "worker": None,
                    }

    def close(self) -> None:
        pass


class DaskExecutor:
    """Points on a ``dask.distributed`` cluster. Results come back per task (a workload
    group split in chunks of at most ``max_chunk`` points); a workload group is pinned
    to one worker (loosely: the scheduler may move it) so that each builds it once."""

    def __init__(self, address: str, timeout_s: float = 5.0, max_chunk: int = 8) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SweepError(
                "--scheduler needs dask.distributed: pip install 'sparse-on-dense[dask]'"
            ) from None
        self.address = address
        self.max_chunk = max_chunk
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            detail = _one_line(str(err))[:160]
            raise SweepError(
                f"cannot reach the Dask scheduler at {address!r} within {timeout_s:g} s ({detail})"
            ) from None
        threads = self.client.nthreads()
        self.workers = sorted(threads)
        self.slots = max(1, sum(threads.values()))

    def run(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        from distributed import as_completed

        load = dict.fromkeys(self.workers, 0.0)
        home: dict[GroupKey, str] = {}
        futures = {}
        for task in tasks:  # largest first: greedy least-loaded assignment per group
            if self.workers and task.group not in home:
                home[task.group] = min(load, key=load.__getitem__)
            where = home.get(task.group)
            if where is not None:
                load[where] += task.cost
            fut = self.client.submit(
                run_task,
                task.points,
                pure=False,
                workers=None if where is None else [where],
                allow_other_workers=True,
            )
            futures[fut] = task
        for fut in as_completed(list(futures), loop=self.client.loop):
            task = futures.pop(fut)
            if fut.status == "finished":
                yield from fut.result()
            else:
                err = fut.exception()
                reason = _one_line(f"dask task failed: {type(err).__name__}: {err}")
                for key, _ in task.points:
                    yield {
                        "key": key,
                        "status": "error",
                        "metrics": None,
                        "error": reason,
                        "started_at": None,
                        "finished_at": time.time(),
                        "worker": None,
                    }

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------- running


@dataclass
class SweepReport:
    """What a run did."""

    name: str
    db_path: Path
    total: int
    already_done: int
    ran: int = 0
    ok: int = 0
    failed: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    problems: dict[str, list[str]] = field(default_factory=dict)  # message → point labels

    @property
    def complete(self) -> bool:
        return self.already_done + self.ok + self.failed == self.total


def pending_points(
    sweep: Sweep, store: ResultStore, retry_failed: bool = False
) -> list[SweepPoint]:
    """The points a run must (re)compute."""
    done = ("ok",) if retry_failed else DONE_STATUSES
    status = store.statuses()
    return [p for p in sweep.points if status.get(p.key) not in done]


def run_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    *,
    retry_failed: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any], SweepPoint], None] | None = None,
) -> SweepReport:
    """Run the points not yet in the store; commit each as it finishes.

    ``on_start(total, to_run)`` and ``on_result(outcome, point)`` let a caller show
    progress. Points that fail (a :class:`SodError`, e.g. an architecture without a
    model) are stored with their message and reported; they do not stop the sweep.
    """
    executor = executor or LocalExecutor()
    started = time.perf_counter()
    by_key = {p.key: p for p in sweep.points}
    with ResultStore(sweep.db_path) as store:
        todo = pending_points(sweep, store, retry_failed)
        report = SweepReport(
            sweep.name, sweep.db_path, len(sweep.points), len(sweep.points) - len(todo)
        )
        if on_start is not None:
            on_start(report.total, len(todo))
        tasks = plan_tasks(todo, executor.slots, executor.max_chunk)
        for outcome in executor.run(tasks):
            point = by_key[outcome["key"]]
            store.record(
                key=point.key,
                point_id=point.point_id,
                model_version=sweep.model_version,
                sweep=sweep.name,
                config=point.config,
                status=outcome["status"],
                metrics=outcome["metrics"],
                error=outcome["error"],
                started_at=outcome["started_at"],
                finished_at=outcome["finished_at"],
                worker=outcome["worker"],
            )
            report.ran += 1
            status = outcome["status"]
            report.ok += status == "ok"
            report.failed += status == "failed"
            report.errors += status == "error"
            if status != "ok":
                report.problems.setdefault(f"{status}: {outcome['error']}", []).append(
                    point.label()
                )
            if on_result is not None:
                on_result(outcome, point)
    report.elapsed_s = time.perf_counter() - started
    return report


def sweep_rows(sweep: Sweep, allow_stale: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Flat rows (config + status + metrics) of the spec's stored points, in grid order,
    and how many points have no row yet. ``allow_stale`` also takes rows computed by
    another model version (the newest per configuration)."""
    if not sweep.db_path.exists():
        return [], len(sweep.points)
    with ResultStore(sweep.db_path) as store:
        if allow_stale:
            rows = store.latest_by_point_id([p.point_id for p in sweep.points])
        else:
            rows = store.rows([p.key for p in sweep.points])
    flat = [r.flat() | {"model_version": r.model_version} for r in rows]
    return flat, len(sweep.points) - len(flat)
