"""`sod sweep` / `sod results` as a user runs them (subprocesses), including kill -9."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sod.study.spec import load_sweep

# Every test here starts `sod` in subprocesses (and workers): minutes under load.
pytestmark = pytest.mark.slow

TIMEOUT_S = 240


def sod(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sod", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=cwd,
    )


def committed(db: Path) -> dict[str, float]:
    """key → finished_at of the rows a fresh reader sees (0 rows before the table exists)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return dict(con.execute("SELECT key, finished_at FROM points"))
        finally:
            con.close()
    except sqlite3.OperationalError:
        return {}


def test_kill_9_loses_nothing_and_resume_completes(make_spec, tmp_path):
    spec = make_spec(budgets_mm2=[1.5, 2.0, 3.0, 4.0, 6.0, 8.0], seeds=[0, 1])
    sweep = load_sweep(spec)
    total = len(sweep.points)
    assert total == 96
    proc = subprocess.Popen(
        [sys.executable, "-m", "sod", "sweep", str(spec), "--workers", "1", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(committed(sweep.db_path)) < 5:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no point committed in 120 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep's parent: the only writer
        proc.wait(timeout=30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # and its orphaned worker, if any
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL
    before = committed(sweep.db_path)
    assert 5 <= len(before) < total, "the sweep finished before it could be killed"
    con = sqlite3.connect(sweep.db_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # every committed row is whole: a config, a status and (if ok) parseable metrics
    bad = con.execute(
        "SELECT COUNT(*) FROM points WHERE status = 'ok' AND "
        "(metrics IS NULL OR json_valid(metrics) = 0)"
    ).fetchone()[0]
    con.close()
    assert bad == 0

    out = sod("sweep", spec, "--workers", "2", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert f"{len(before)} already done; ran {total - len(before)} " in out.stdout
    after = committed(sweep.db_path)
    assert len(after) == total
    assert all(after[k] == t for k, t in before.items())  # old rows were not recomputed
    again = sod("sweep", spec, "--no-progress")
    assert f"{total} already done; ran 0 " in again.stdout


def test_sigterm_stops_workers_and_keeps_committed_points(make_spec):
    spec = make_spec(budgets_mm2=[1.5, 2.0, 3.0, 4.0, 6.0, 8.0], seeds=[0, 1])
    sweep = load_sweep(spec)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sod", "sweep", str(spec), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(committed(sweep.db_path)) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        _, err = proc.communicate(timeout=60)
        assert time.monotonic() - start < 15
        assert proc.returncode == 130 and err.strip() == "aborted"
        gone = time.monotonic() + 10  # workers were terminated (zombies take a moment)
        while True:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < gone, "worker processes outlived the sweep"
            time.sleep(0.1)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    con = sqlite3.connect(sweep.db_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 3 <= con.execute("SELECT COUNT(*) FROM points").fetchone()[0] < len(sweep.points)
    con.close()


def test_sweep_and_results_end_to_end(make_spec, tmp_path):
    spec = make_spec(budgets_mm2=[0.05, 3.0], workloads=["lenet5"])
    dry = sod("sweep", spec, "--dry-run")
    assert dry.returncode == 0 and "8 points" in dry.stdout and "8 to run" in dry.stdout
    out = sod("sweep", spec, "--workers", "2")  # not a terminal: no progress bar
    assert out.returncode == 0, out.stderr
    assert "ran 8 (4 ok, 4 failed, 0 errors)" in out.stdout
    assert "too small" in out.stdout  # failures are reported with their message
    res = sod(
        "results", spec, "--csv", tmp_path / "out" / "r.csv", "--figure", tmp_path / "out" / "front"
    )
    assert res.returncode == 0, res.stderr
    assert "4 ok, 4 failed, 0 errors, 0 not run" in res.stdout
    with (tmp_path / "out" / "r.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    assert {r["status"] for r in rows} == {"ok", "failed"}
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(float(r["gops_per_mm2"]) > 0 and float(r["gops_per_w"]) > 0 for r in ok)
    assert all(r["error"] for r in rows if r["status"] == "failed")
    for suffix in (".png", ".svg"):
        assert (tmp_path / "out" / f"front{suffix}").stat().st_size > 1000
    default = sod("results", spec)
    assert default.returncode == 0
    assert (tmp_path / "spec.csv").exists() and (tmp_path / "spec-pareto.png").exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("workloads: [lenet5]\narchitectures: [dense]\nbudget: [1]\n", "'budget': unknown key"),
        ("workloads: [lenet5]\narchitectures: [dense]\nseeds: [zero]\n", "'seeds[0]'"),
        ("workloads: [lenet5]\narchitectures: []\n", "'architectures': empty axis"),
    ],
)
def test_bad_spec_exits_2_with_one_line(tmp_path, body, expected):
    spec = tmp_path / "bad.yaml"
    spec.write_text(body)
    for command in ("sweep", "results"):
        out = sod(command, spec)
        assert out.returncode == 2
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
        assert expected in out.stderr, out.stderr


def test_cli_bad_options_and_unreachable_scheduler(make_spec):
    spec = make_spec(workloads=["lenet300"])
    out = sod("sweep", spec, "--workers", "0")
    assert out.returncode == 2 and "--workers" in out.stderr
    start = time.perf_counter()
    out = sod("sweep", spec, "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout-s", "1")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    if importlib.util.find_spec("distributed") is None:
        assert "--scheduler needs dask.distributed: pip install" in out.stderr
    else:
        assert "cannot reach the Dask scheduler" in out.stderr
    assert time.perf_counter() - start < 30
    out = sod("results", spec)
    assert out.returncode == 2 and "run `sod sweep" in out.stderr


def test_cli_on_a_dask_scheduler(make_spec):
    distributed = pytest.importorskip(
        "distributed", reason="dask not installed (pip install 'sparse-on-dense[dask]')"
    )
    spec = make_spec(workloads=["lenet300"], budgets_mm2=[3.0])
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        out = sod("sweep", spec, "--scheduler", cluster.scheduler_address)
    assert out.returncode == 0, out.stderr
    assert "ran 4 (4 ok, 0 failed, 0 errors)" in out.stdout
    again = sod("sweep", spec, "--no-progress")  # resumable whatever ran it
    assert "4 already done; ran 0 " in again.stdout


def descendants(pid: int) -> list:
    psutil = pytest.importorskip("psutil")
    return psutil.Process(pid).children(recursive=True)


def test_kill_9_leaves_no_worker_behind(make_spec):
    psutil = pytest.importorskip("psutil")
    spec = make_spec(budgets_mm2=[1.5, 2.0, 3.0, 4.0, 6.0, 8.0], seeds=[0, 1])
    sweep = load_sweep(spec)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sod", "sweep", str(spec), "--workers", "2", "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    children = []
    try:
        deadline = time.monotonic() + 120
        while not committed(sweep.db_path):  # workers are up and computing
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        children = descendants(proc.pid)
        assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _gone, alive = psutil.wait_procs(children, timeout=5)
        # orphans are reaped by init; a zombie is a dead process that nobody reaped yet
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"{len(alive)} process(es) survived: {[p.cmdline() for p in alive]}"
    finally:
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--scheduler", ""], "--scheduler needs an address"),
        (["--scheduler", "foo bar"], "expected [scheme://]host:port"),
        (["--scheduler", "tcp://host:port"], "port must be a number"),
        (["--connect-timeout-s", "nan"], "--connect-timeout-s must be a finite number"),
        (["--connect-timeout-s", "inf"], "--connect-timeout-s must be a finite number"),
        (["--connect-timeout-s", "-1"], "--connect-timeout-s must be a finite number"),
    ],
)
def test_bad_executor_options_fail_at_once(make_spec, options, expected):
    spec = make_spec(workloads=["lenet300"])
    start = time.monotonic()
    for command in ("sweep", "paper"):
        args = [spec, *options] if command == "sweep" else [*options, "--out", spec.parent / "p"]
        out = sod(command, *args)
        assert out.returncode == 2, (command, out.stderr)
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
        assert expected in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - start < 60
    assert not load_sweep(spec).db_path.exists()  # nothing ran


def test_an_http_server_as_scheduler_is_one_line_exit_2(make_spec):
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = make_spec(workloads=["lenet300"])
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        start = time.monotonic()
        out = sod("sweep", spec, "--scheduler", address, "--connect-timeout-s", "1")
        assert time.monotonic() - start < 30
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "did not answer as a Dask scheduler within 1 s" in out.stderr


def test_two_sweeps_on_one_store_share_the_work(make_spec):
    spec = make_spec(budgets_mm2=[1.5, 2.0, 3.0, 4.0, 6.0, 8.0], seeds=[0, 1])
    sweep = load_sweep(spec)
    total = len(sweep.points)
    command = [sys.executable, "-m", "sod", "sweep", str(spec), "--workers", "1", "--no-progress"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    for p, (_, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr
    ran = []
    for stdout, _ in outs:
        match = re.search(r"ran (\d+) \(", stdout)
        assert match, stdout
        ran.append(int(match.group(1)))
    assert sum(ran) == total, outs  # every point computed once, by one of the two
    assert min(ran) > 0, outs  # and both did some of it
    assert len(committed(sweep.db_path)) == total
    con = sqlite3.connect(sweep.db_path)
    assert con.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # none left behind
    con.close()
