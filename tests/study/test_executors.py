"""The executors behind `sod sweep` and `sod paper`: lazy batches, streaming, lost workers,
cancellation, and the Dask address / timeout / handshake checks."""

from __future__ import annotations

import http.server
import math
import os
import socket
import threading
import time

import pytest

from sod.study.executors import (
    Batch,
    DaskExecutor,
    ExecutorError,
    InlineExecutor,
    LocalExecutor,
    check_address,
    check_timeout,
    handshake,
    make_executor,
)


def echo(item: dict) -> dict:  # module level: the spawned workers import it by name
    if item.get("die"):
        os._exit(3)  # a worker killed mid-batch (e.g. by the OOM killer)
    time.sleep(item.get("sleep", 0.0))
    return {"key": item["key"], "pid": os.getpid()}


def batches(n: int, per: int = 1, **extra) -> list[Batch]:
    return [Batch([{"key": f"{b}.{i}", **extra} for i in range(per)], group=b) for b in range(n)]


def test_inline_and_local_give_one_outcome_per_item():
    for executor in (InlineExecutor(), LocalExecutor(2)):
        got = list(executor.run(echo, batches(4, per=3)))
        assert sorted(o.key for o in got) == sorted(f"{b}.{i}" for b in range(4) for i in range(3))
        assert all(o.lost is None and o.result["key"] == o.key for o in got)
    assert {o.result["pid"] for o in got} != {os.getpid()}  # the last ran in workers


def test_local_executor_pulls_batches_only_when_a_slot_is_free():
    pulled: list[int] = []

    def source():
        for i, batch in enumerate(batches(4, per=2)):
            pulled.append(i)
            yield batch

    seen = []
    for outcome in LocalExecutor(1).run(echo, source()):
        seen.append((outcome.key, len(pulled)))
    # with one slot, batch b is handed out only after batch b-1 is done
    assert seen == [(f"{b}.{i}", b + 1) for b in range(4) for i in range(2)]


def test_a_dead_worker_loses_only_its_batch_and_the_pool_restarts():
    work = batches(3, per=2)
    work[1] = Batch([{"key": "1.0", "die": True}, {"key": "1.1"}], group=1)
    got = {o.key: o for o in LocalExecutor(1).run(echo, work)}
    assert set(got) == {"0.0", "0.1", "1.0", "1.1", "2.0", "2.1"}
    assert got["1.0"].result is None and "worker failed" in got["1.0"].lost
    assert got["1.1"].result is None
    assert got["2.0"].result is not None and got["2.1"].result is not None  # after the restart


def test_cancel_stops_the_workers():
    executor = LocalExecutor(2)
    start = time.monotonic()
    run = executor.run(echo, batches(2, per=20, sleep=0.2))
    first = next(run)
    assert first.result is not None
    pids = {first.result["pid"]}
    executor.cancel()
    rest = list(run)
    assert len(rest) <= 4 and time.monotonic() - start < 20
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "a worker outlived the cancelled run"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "needs an address"),
        ("   ", "needs an address"),
        ("foo bar", "expected [scheme://]host:port"),
        ("tcp://host:notaport", "port must be a number"),
        ("tcp://host:0", "port must be a number"),
        ("tcp://host:70000", "port must be a number"),
        ("htp://x:1", "unknown scheme 'htp'"),
        ("tcp://:8786", "expected [scheme://]host:port"),
        ("127.0.0.1", "expected [scheme://]host:port"),
    ],
)
def test_malformed_scheduler_addresses(address, message):
    with pytest.raises(ExecutorError) as info:
        check_address(address)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_good_scheduler_addresses():
    assert check_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    assert check_address("host:8786") == "tcp://host:8786"
    assert check_address("tls://[::1]:8786") == "tls://[::1]:8786"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 0.0])
def test_bad_connect_timeouts(value):
    with pytest.raises(ExecutorError, match="--connect-timeout-s"):
        check_timeout(value)
    with pytest.raises(ExecutorError, match="--connect-timeout-s"):
        make_executor(2, None, value)


@pytest.fixture
def http_port():
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_http_server_is_not_a_scheduler(http_port):
    pytest.importorskip("distributed")
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="did not answer as a Dask scheduler within 1 s"):
        DaskExecutor(f"tcp://127.0.0.1:{http_port}", timeout_s=1.0)
    assert time.monotonic() - start < 6


def test_a_silent_port_is_not_a_scheduler():
    pytest.importorskip("distributed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        start = time.monotonic()
        with pytest.raises(ExecutorError, match="did not answer as a Dask scheduler"):
            handshake(f"tcp://127.0.0.1:{sock.getsockname()[1]}", 1.0)
        assert time.monotonic() - start < 6


def test_nothing_listening_fails_within_the_timeout():
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        DaskExecutor(f"tcp://127.0.0.1:{port}", timeout_s=1.0)
    assert time.monotonic() - start < 6


def test_dask_executor_streams_batches_lazily():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address, timeout_s=5.0)
        try:
            got = list(executor.run(echo, batches(5, per=2)))
        finally:
            executor.close()
    assert sorted(o.key for o in got) == sorted(f"{b}.{i}" for b in range(5) for i in range(2))
    assert all(o.lost is None for o in got)


def test_a_server_that_talks_first_is_not_a_scheduler():
    """Bytes that are not Dask's framing (here an HTTP status line sent on connect) must
    not be trusted: read as a frame length they ask for exabytes (a MemoryError)."""
    pytest.importorskip("distributed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()

        def talk() -> None:
            conn, _ = sock.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                time.sleep(3)

        threading.Thread(target=talk, daemon=True).start()
        start = time.monotonic()
        with pytest.raises(ExecutorError, match="did not answer as a Dask scheduler"):
            handshake(f"tcp://127.0.0.1:{sock.getsockname()[1]}", 1.0)
        assert time.monotonic() - start < 6
