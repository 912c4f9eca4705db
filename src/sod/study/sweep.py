"""Running a sweep: the points not yet in the store, on an executor, committed one by one.

The spec and its points are :mod:`sod.study.spec`; where points run is
:mod:`sod.study.executors` (in-process, local processes, Dask); results go to the SQLite
store (:mod:`sod.study.store`). Points are grouped by workload (model, sparsity, seed,
batch, seq_len) so that each worker builds a sparsified workload once
(``sparse_workload`` is cached per process).

Several ``sod sweep`` runs on one store share the work: a batch is claimed in the store
just before it is handed to a worker, points claimed by another live sweep are left to it
(and waited for at the end), and claims of dead processes are taken over.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sod.errors import SodError
from sod.study.executors import Batch, Executor, LocalExecutor, Outcome, one_line
from sod.study.spec import GroupKey, Sweep, SweepPoint
from sod.study.store import BUSY_TIMEOUT_S, ResultStore, Snapshot, process_identity

DONE_STATUSES = ("ok", "failed")  # 'error' (an unexpected exception) is retried on rerun
WAIT_POLL_S = 0.5  # how often to look at points another sweep is computing

# ---------------------------------------------------------------------------- planning


def _group_cost(group: GroupKey, n_points: int) -> float:
    """Rough relative cost: building the masks and evaluating each point both scale with
    the operand elements (weights + activations); one point costs roughly 0.2-0.3 of a
    build (measured on AlexNet, ResNet-50, BERT-base). Only the ordering matters."""
    from sod.workload.zoo import get_model, zoo_key

    if zoo_key(group[0]) is None:
        return 1e6 * (1.0 + 0.25 * n_points)  # an imported network: unknown until loaded
    w = get_model(group[0], batch=group[3], seq_len=group[4])
    elements = float(w.weight_count + sum(g.m * g.k * g.repeat for g in w))
    return elements * (1.0 + 0.25 * n_points)


def plan_tasks(
    points: Sequence[SweepPoint], slots: int, max_chunk: int | None = None
) -> list[Batch]:
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
            items = [{"key": p.key, "point": p.evaluation_input()} for p in part]
            tasks.append(Batch(items, group, unit))
    tasks.sort(key=lambda t: -t.cost)
    return tasks


# ---------------------------------------------------------------------------- one point


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
        status, error = "failed", one_line(str(err))
    except Exception as err:
        status, error = "error", one_line(f"{type(err).__name__}: {err}")
    return {
        "key": key,
        "status": status,
        "metrics": metrics,
        "error": error,
        "started_at": started,
        "finished_at": time.time(),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def evaluate_item(item: dict[str, Any]) -> dict[str, Any]:
    """The executors' per-item function: ``{"key", "point"}`` → the stored outcome."""
    return evaluate_safely(item["key"], item["point"])


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
    by_others: int = 0  # points another sweep on the same store computed meanwhile
    lock_retries: int = 0  # store writes retried because another process held the lock
    ran_keys: set[str] = field(default_factory=set, repr=False)

    @property
    def complete(self) -> bool:
        return self.already_done + self.ok + self.failed + self.by_others == self.total


def pending_points(
    sweep: Sweep, store: ResultStore, retry_failed: bool = False
) -> list[SweepPoint]:
    """The points a run must (re)compute."""
    done = ("ok",) if retry_failed else DONE_STATUSES
    status = store.statuses()
    return [p for p in sweep.points if status.get(p.key) not in done]


@dataclass
class _Run:
    """One run's context: the sweep, its store, who we are and what was there at start."""

    sweep: Sweep
    store: ResultStore
    report: SweepReport
    owner: str
    since: Snapshot
    done: tuple[str, ...]
    on_result: Callable[[dict[str, Any], SweepPoint], None] | None
    by_key: dict[str, SweepPoint] = field(default_factory=dict)
    claimed: int = 0  # points this run claimed


def run_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    *,
    retry_failed: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any], SweepPoint], None] | None = None,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
) -> SweepReport:
    """Run the points not yet in the store; commit each as it finishes.

    ``on_start(total, to_run)`` and ``on_result(outcome, point)`` let a caller show
    progress. Points that fail (a :class:`SodError`, e.g. an architecture without a
    model) are stored with their message and reported; they do not stop the sweep.
    Points another live sweep has claimed are left to it and waited for.
    """
    runner: Executor = executor if executor is not None else LocalExecutor()
    started = time.perf_counter()
    done = ("ok",) if retry_failed else DONE_STATUSES
    with ResultStore(sweep.db_path, busy_timeout_s=busy_timeout_s) as store:
        since = store.snapshot()
        todo = [p.key for p in sweep.points if since.get(p.key, ("",))[0] not in done]
        report = SweepReport(
            sweep.name, sweep.db_path, len(sweep.points), len(sweep.points) - len(todo)
        )
        run = _Run(sweep, store, report, process_identity(), since, done, on_result)
        run.by_key = {p.key: p for p in sweep.points}
        if on_start is not None:
            on_start(report.total, len(todo))
        try:
            _run_all(run, runner, todo)
        finally:
            store.lock_patience_s = min(store.lock_patience_s, 5.0)  # Ctrl-C stays quick
            try:
                store.release(run.owner)
            except (SodError, OSError, Exception):  # best effort: stale claims are reclaimed
                pass
        report.lock_retries = store.lock_retries
    report.elapsed_s = time.perf_counter() - started
    return report


def _run_all(run: _Run, executor: Executor, todo: list[str]) -> None:
    """Run the open points; then wait for those another live sweep computes (taking over
    the ones whose sweep died) until none is left."""
    store, open_keys = run.store, todo
    while open_keys:
        free, busy = store.open_points(open_keys, run.since, run.done, run.owner)
        if free:
            points = [run.by_key[k] for k in free]
            batches = plan_tasks(points, executor.slots, executor.max_chunk)
            claimed, ran = run.claimed, run.report.ran
            for outcome in executor.run(evaluate_item, _claimed(run, batches)):
                _record(run, outcome)
            if run.claimed > claimed and run.report.ran == ran:
                break  # the executor was cancelled: it returns nothing any more
        elif busy:
            time.sleep(WAIT_POLL_S)
        open_keys = free + busy
    now = store.snapshot()
    run.report.by_others = sum(
        1 for k in todo if k not in run.report.ran_keys and now.get(k, ("",))[0] in DONE_STATUSES
    )


def _claimed(run: _Run, batches: Iterable[Batch]) -> Iterator[Batch]:
    """Claim each batch's open points just before an executor runs it (lazily)."""
    for batch in batches:
        keys = set(
            run.store.claim([it["key"] for it in batch.items], run.since, run.done, run.owner)
        )
        run.claimed += len(keys)
        if keys:
            yield Batch([it for it in batch.items if it["key"] in keys], batch.group, batch.cost)


def _record(run: _Run, got: Outcome) -> None:
    """Store one outcome (a lost item becomes an 'error' row) and count it."""
    point = run.by_key[got.key]
    outcome = got.result or {
        "key": got.key,
        "status": "error",
        "metrics": None,
        "error": got.lost or "no result",
        "started_at": None,
        "finished_at": time.time(),
        "worker": None,
    }
    run.store.record(
        key=point.key,
        point_id=point.point_id,
        model_version=run.sweep.model_version,
        sweep=run.sweep.name,
        config=point.config,
        status=outcome["status"],
        metrics=outcome["metrics"],
        error=outcome["error"],
        started_at=outcome["started_at"],
        finished_at=outcome["finished_at"],
        worker=outcome["worker"],
        owner=run.owner,
    )
    report = run.report
    report.ran += 1
    report.ran_keys.add(point.key)
    status = outcome["status"]
    report.ok += status == "ok"
    report.failed += status == "failed"
    report.errors += status == "error"
    if status != "ok":
        report.problems.setdefault(f"{status}: {outcome['error']}", []).append(point.label())
    if run.on_result is not None:
        run.on_result(outcome, point)


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


def check_sweep_memory(sweep: Sweep, max_memory_gb: float) -> None:
    """Refuse (one line naming ``--max-memory-gb``) a sweep with a zoo workload whose masks
    would need more memory than ``max_memory_gb``, before any point runs (each worker
    builds one workload at a time). Non-zoo sources are checked as they load."""
    from sod.limits import DEFAULT_ACT_IMAGES
    from sod.workload.budget import check_mask_memory
    from sod.workload.zoo import get_model, zoo_key

    groups = sorted({p.group for p in sweep.points}, key=str)
    for model, sparsity, _seed, batch, seq_len, act_images in groups:
        if sparsity == "dense" or zoo_key(model) is None:
            continue
        shapes = get_model(model, batch=batch, seq_len=seq_len)
        what = f"sweep point {model} at batch {batch}"
        check_mask_memory(
            shapes.gemms, max_memory_gb, what, batch, act_images or DEFAULT_ACT_IMAGES
        )
