"""Running sweeps: resume, failed points, local processes and Dask give the same numbers."""

from __future__ import annotations

import time

import pytest

from sod.study.executors import DaskExecutor, ExecutorError, InlineExecutor, LocalExecutor
from sod.study.point import evaluate_point
from sod.study.spec import load_sweep
from sod.study.store import ResultStore
from sod.study.sweep import run_sweep, sweep_rows


def metrics_by_config(sweep) -> dict[str, dict]:
    with ResultStore(sweep.db_path) as store:
        return {r.point_id: r.metrics for r in store.rows([p.key for p in sweep.points])}


def test_run_resume_and_failed_points(make_spec):
    # 0.05 mm² cannot hold one PE of either architecture: a SodError, stored as 'failed'
    spec = make_spec(budgets_mm2=[0.05, 4.0])
    sweep = load_sweep(spec)
    seen = []
    report = run_sweep(
        sweep,
        InlineExecutor(),
        on_start=lambda total, todo: seen.append((total, todo)),
        on_result=lambda outcome, point: seen.append(outcome["status"]),
    )
    assert seen[0] == (16, 16) and len(seen) == 17
    assert (report.ran, report.ok, report.failed, report.errors) == (16, 8, 8, 0)
    assert report.complete
    assert sum(len(labels) for labels in report.problems.values()) == 8
    for message in report.problems:
        assert message.startswith("failed: ") and "too small" in message
    stored = metrics_by_config(sweep)
    for point in sweep.points:  # stored numbers are the evaluator's numbers
        if point.config["budget_mm2"] == 4.0:
            assert stored[point.point_id] == pytest.approx(evaluate_point(point.evaluation_input()))
    again = run_sweep(load_sweep(spec), InlineExecutor())
    assert (again.already_done, again.ran) == (16, 0) and again.complete
    retry = run_sweep(load_sweep(spec), InlineExecutor(), retry_failed=True)
    assert (retry.already_done, retry.ran, retry.failed) == (8, 8, 8)
    rows, missing = sweep_rows(load_sweep(spec))
    assert missing == 0 and len(rows) == 16
    assert {r["status"] for r in rows} == {"ok", "failed"}


def test_growing_the_grid_runs_only_new_points(make_spec):
    run_sweep(load_sweep(make_spec(budgets_mm2=[4.0])), InlineExecutor())
    report = run_sweep(load_sweep(make_spec(budgets_mm2=[4.0, 8.0])), InlineExecutor())
    assert (report.already_done, report.ran) == (8, 8)


def test_changed_model_version_recomputes(make_spec):
    spec = make_spec(budgets_mm2=[4.0], workloads=["lenet300"])
    run_sweep(load_sweep(spec, version="A"), InlineExecutor())
    report = run_sweep(load_sweep(spec, version="B"), InlineExecutor())
    assert (report.already_done, report.ran) == (0, 4)
    rows_b, _ = sweep_rows(load_sweep(spec, version="B"))
    assert {r["model_version"] for r in rows_b} == {"B"}
    rows_c, missing = sweep_rows(load_sweep(spec, version="C"))
    assert rows_c == [] and missing == 4
    stale, missing = sweep_rows(load_sweep(spec, version="C"), allow_stale=True)
    assert missing == 0 and {r["model_version"] for r in stale} == {"B"}


@pytest.mark.slow
def test_local_processes_match_inline(make_spec, tmp_path):
    inline = load_sweep(make_spec("inline", budgets_mm2=[3.0]))
    local = load_sweep(make_spec("local", budgets_mm2=[3.0]))
    run_sweep(inline, InlineExecutor())
    report = run_sweep(local, LocalExecutor(2))
    assert report.ok == 8 and report.complete
    assert metrics_by_config(local) == metrics_by_config(inline)
    with ResultStore(local.db_path) as store:
        workers = {r.worker for r in store.rows()}
    assert len(workers) >= 1 and all(w and ":" in w for w in workers)


def test_local_executor_rejects_bad_worker_count():
    with pytest.raises(ExecutorError, match="--workers"):
        LocalExecutor(0)


def test_dask_local_cluster(make_spec):
    distributed = pytest.importorskip(
        "distributed", reason="dask not installed (pip install 'sparse-on-dense[dask]')"
    )
    spec = make_spec(workloads=["lenet300", "lenet5"], budgets_mm2=[3.0], sparsity=["uniform:0.3"])
    reference = load_sweep(
        make_spec(
            "reference",
            workloads=["lenet300", "lenet5"],
            budgets_mm2=[3.0],
            sparsity=["uniform:0.3"],
        )
    )
    run_sweep(reference, InlineExecutor())
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address, max_chunk=1)
        try:
            assert executor.slots == 2
            sweep = load_sweep(spec)
            report = run_sweep(sweep, executor)
        finally:
            executor.close()
    assert report.ok == 4 and report.complete
    assert metrics_by_config(sweep) == metrics_by_config(reference)


@pytest.mark.slow
def test_unreachable_scheduler_fails_fast():
    pytest.importorskip(
        "distributed", reason="dask not installed (pip install 'sparse-on-dense[dask]')"
    )
    start = time.perf_counter()
    with pytest.raises(
        ExecutorError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"
    ):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1.0)
    assert time.perf_counter() - start < 10


def test_a_sweep_takes_any_workload_source(tmp_path):
    """A Timeloop problem next to the spec (relative path) runs like a zoo network."""
    (tmp_path / "conv.yaml").write_text(
        "problem:\n  instance: {C: 16, M: 32, R: 3, S: 3, N: 1, P: 8, Q: 8,\n"
        "    densities: {Weights: 0.3}}\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "workloads:\n  - model: conv.yaml\n    sparsity: keep\n  - model: lenet300\n"
        "architectures: [dense, sparse-on-dense]\n"
    )
    sweep = load_sweep(spec)
    assert len(sweep.points) == 4
    report = run_sweep(sweep, InlineExecutor())
    assert report.ok == 4, report.problems
    conv = [p for p in sweep.points if p.config["model"].endswith("conv.yaml")]
    assert conv and all(p.config["model"] == str((tmp_path / "conv.yaml").resolve()) for p in conv)
    bad = tmp_path / "bad.yaml"
    bad.write_text("workloads:\n  - model: lenett300\narchitectures: [dense]\n")
    with pytest.raises(Exception, match="did you mean 'lenet300'"):
        load_sweep(bad)
