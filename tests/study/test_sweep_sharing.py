"""One results database, several writers: lock retries with backoff, claims, stale claims."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

import pytest

from sod.study.executors import InlineExecutor
from sod.study.spec import load_sweep
from sod.study.store import ResultStore, StoreError, owner_alive, process_identity
from sod.study.sweep import run_sweep


def hold_write_lock(db, seconds: float, taken: threading.Event) -> None:
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")  # the write lock, as another sweep committing would hold
    con.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('holder', 'x')")
    taken.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def test_a_locked_store_is_retried_with_backoff_until_released(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet300"], budgets_mm2=[3.0]))
    ResultStore(sweep.db_path).close()  # the database exists
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(sweep.db_path, 1.5, taken))
    holder.start()
    assert taken.wait(10)
    start = time.monotonic()
    report = run_sweep(sweep, InlineExecutor(), busy_timeout_s=0.1)  # << the 1.5 s lock
    holder.join()
    assert report.complete and report.ok == 4
    assert report.lock_retries >= 1  # it did hit the lock, and waited it out
    assert time.monotonic() - start >= 1.0


def test_a_lock_held_past_the_patience_is_one_line(tmp_path):
    db = tmp_path / "s.sqlite"
    ResultStore(db).close()
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(db, 1.5, taken))
    holder.start()
    assert taken.wait(10)
    store = ResultStore(db, busy_timeout_s=0.05, lock_patience_s=0.3)
    with pytest.raises(StoreError, match="stayed locked by another process") as info:
        store.record(key="k", point_id="p", model_version="v", sweep="s", config={}, status="ok")
    assert "\n" not in str(info.value)
    store.close()
    holder.join()


def test_claims_of_a_dead_process_are_taken_over(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet300"], budgets_mm2=[3.0]))
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = process_identity(dead.pid).replace(":None", ":123")  # as it was when alive
    assert not owner_alive(owner)
    with ResultStore(sweep.db_path) as store:
        claimed = store.claim([p.key for p in sweep.points], {}, ("ok", "failed"), owner)
        assert len(claimed) == 4
    report = run_sweep(sweep, InlineExecutor())
    assert report.ran == 4 and report.complete
    with ResultStore(sweep.db_path) as store:
        assert store.claims() == {}


def test_points_claimed_by_a_live_sweep_are_waited_for(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet300"], budgets_mm2=[3.0]))
    other = subprocess.Popen(["sleep", "2"])  # another sweep, alive for 2 s, then gone
    owner = process_identity(other.pid)
    assert owner_alive(owner)
    theirs = [p.key for p in sweep.points[:2]]
    with ResultStore(sweep.db_path) as store:
        assert store.claim(theirs, {}, ("ok", "failed"), owner) == theirs
    start = time.monotonic()
    try:
        report = run_sweep(sweep, InlineExecutor())
    finally:
        other.wait()
    # ours first; theirs only once their claimant died (its claims went stale)
    assert report.ran == 4 and report.complete
    assert time.monotonic() - start >= 1.5
    with ResultStore(sweep.db_path) as store:
        rows = store.rows()  # by finished_at
    assert {r.key for r in rows[2:]} == set(theirs)


def test_points_another_sweep_finishes_are_not_recomputed(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet300"], budgets_mm2=[3.0]))
    other = subprocess.Popen(["sleep", "30"])
    owner = process_identity(other.pid)
    theirs = sweep.points[:2]
    with ResultStore(sweep.db_path) as store:
        store.claim([p.key for p in theirs], {}, ("ok", "failed"), owner)

    def finish_theirs() -> None:  # the other sweep records its points, then exits
        time.sleep(1.0)
        with ResultStore(sweep.db_path) as store:
            for p in theirs:
                store.record(
                    key=p.key,
                    point_id=p.point_id,
                    model_version=sweep.model_version,
                    sweep=sweep.name,
                    config=p.config,
                    status="ok",
                    metrics={"gops_per_mm2": 1.0},
                    owner=owner,
                )

    thread = threading.Thread(target=finish_theirs)
    thread.start()
    try:
        report = run_sweep(sweep, InlineExecutor())
    finally:
        thread.join()
        other.kill()
        other.wait()
    assert (report.ran, report.by_others) == (2, 2) and report.complete


def test_a_cancelled_executor_ends_the_run_and_releases_its_claims(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet300"], budgets_mm2=[3.0]))
    executor = InlineExecutor()

    def stop_after_two(outcome, point) -> None:
        if len(seen) == 1:
            executor.cancel()
        seen.append(point.key)

    seen: list[str] = []
    report = run_sweep(sweep, executor, on_result=stop_after_two)
    assert report.ran == 2 and not report.complete
    with ResultStore(sweep.db_path) as store:
        assert store.claims() == {} and store.count() == 2
