"""Where study work runs: in this process, in local worker processes, or on Dask.

One small interface (:class:`Executor`) serves ``sod sweep`` and ``sod paper``:

* the caller hands ``run(fn, batches)`` an iterable of :class:`Batch`\\ es — lists of item
  dicts, each with a unique ``"key"`` — and a module-level function ``fn(item) -> dict``;
* the executor pulls batches *lazily* (only when a worker slot is free, so a caller can
  claim work at the last moment) and yields one :class:`Outcome` per item as it completes;
  an item whose worker died or whose task failed comes back with ``lost`` set;
* cancellation: ``cancel()`` (any thread) stops the running work, and the executor runs
  nothing after it; closing the iterator stops the work of that run.

Local worker processes die with their parent: each runs a thread that exits the process
as soon as its parent is gone (``kill -9`` of ``sod sweep`` leaves no worker behind).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from queue import Empty
from typing import Any, Protocol

from sod.errors import SodError

ItemFn = Callable[[dict[str, Any]], dict[str, Any]]
PARENT_POLL_S = 0.2  # how often a local worker checks that its parent is alive


class ExecutorError(SodError):
    """An executor cannot be set up (bad options, unreachable or wrong scheduler)."""


@dataclass(frozen=True)
class Batch:
    """Items sent to one worker as a unit (e.g. the points that share a workload)."""

    items: list[dict[str, Any]]  # each with a unique "key"
    group: Hashable = None  # batches of one group prefer one worker (Dask)
    cost: float = 1.0


@dataclass(frozen=True)
class Outcome:
    """``fn(item)`` for one item, or why there is none (``lost``: one line)."""

    key: str
    result: dict[str, Any] | None
    lost: str | None = None


class Executor(Protocol):
    slots: int  # how many batches run at once
    max_chunk: int | None  # largest batch the executor wants (None: any)

    def run(self, fn: ItemFn, batches: Iterable[Batch]) -> Iterator[Outcome]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_batch(fn: ItemFn, items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Evaluate a batch's items in order (Dask task; in-process executor)."""
    return [(item["key"], fn(item)) for item in items]


class InlineExecutor:
    """Everything in this process, one item after another (tests, debugging, workers=1)."""

    slots: int = 1
    max_chunk: int | None = None

    def __init__(self) -> None:
        self._cancelled = threading.Event()

    def run(self, fn: ItemFn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        for batch in batches:
            for item in batch.items:
                if self._cancelled.is_set():
                    return
                yield Outcome(item["key"], fn(item))

    def cancel(self) -> None:
        self._cancelled.set()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------- local processes

_RESULTS: Any = None  # the worker's end of the result queue


def watch_parent(parent_pid: int, interval_s: float = PARENT_POLL_S) -> threading.Thread:
    """Exit this process at once when ``parent_pid`` is no longer its parent (the parent
    died, even by SIGKILL: the orphan is re-parented). A daemon thread; returns it."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(0)  # no cleanup: nobody is left to receive results

    thread = threading.Thread(target=watch, name="sod-parent-watch", daemon=True)
    thread.start()
    return thread


def _init_worker(queue: Any, parent_pid: int) -> None:
    global _RESULTS
    _RESULTS = queue
    watch_parent(parent_pid)


def _stream_batch(fn: ItemFn, batch_id: int, items: list[dict[str, Any]]) -> None:
    """Worker side: send each item's result the moment it is known, then a done marker."""
    for item in items:
        _RESULTS.put((batch_id, item["key"], fn(item)))
    _RESULTS.put((batch_id, None, None))


@dataclass
class _Running:
    """Local executor state of one ``run``."""

    pool: ProcessPoolExecutor
    queue: Any
    inflight: dict[int, tuple[Any, Batch]] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # key -> batch id, not yet back
    next_id: int = 0
    exhausted: bool = False
    broken: bool = False  # a worker died: the pool must be replaced
    quiet_since: dict[int, float] = field(default_factory=dict)  # finished, marker not seen


LOST_IN_TRANSIT_S = 10.0  # a batch whose task ended but whose results never came: lost


class LocalExecutor:
    """``workers`` local processes (spawned: no fork of a threaded parent).

    A batch is one task; its worker streams each item's result back through a queue, so
    the caller sees (and commits) items one by one. A worker that dies (e.g. out of
    memory) turns the unfinished items of the batches in flight into lost outcomes and
    the pool (and its queue) is restarted for the rest.
    """

    max_chunk: int | None = None

    def __init__(self, workers: int = 2) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ExecutorError(f"--workers must be a positive integer, got {workers!r}")
        self.slots = workers
        self._cancelled = threading.Event()

    def _start(self, ctx: Any) -> tuple[ProcessPoolExecutor, Any]:
        queue = ctx.Queue()
        pool = ProcessPoolExecutor(
            self.slots, mp_context=ctx, initializer=_init_worker, initargs=(queue, os.getpid())
        )
        return pool, queue

    def run(self, fn: ItemFn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        import multiprocessing

        source = iter(batches)
        ctx = multiprocessing.get_context("spawn")
        state = _Running(*self._start(ctx))
        finished = False
        try:
            self._top_up(state, fn, source)
            while state.inflight and not self._cancelled.is_set():
                try:
                    message = state.queue.get(timeout=0.25)
                except Empty:
                    yield from self._lost(state)
                    if state.broken:
                        _stop(state, wait=False)
                        state.pool, state.queue = self._start(ctx)
                        state.broken = False
                    self._top_up(state, fn, source)
                    continue
                yield from self._receive(state, message)
                self._top_up(state, fn, source)
            finished = not self._cancelled.is_set()
        finally:
            _stop(state, wait=finished)

    @staticmethod
    def _receive(state: _Running, message: tuple[int, str | None, Any]) -> Iterator[Outcome]:
        batch_id, key, result = message
        if key is None:  # the batch is done
            state.inflight.pop(batch_id, None)
        elif state.pending.pop(key, None) is not None:
            yield Outcome(key, result)

    def _top_up(self, state: _Running, fn: ItemFn, source: Iterator[Batch]) -> None:
        """Submit batches until every slot has one (pulling them from ``source`` only now)."""
        while (
            not state.exhausted
            and len(state.inflight) < self.slots
            and not self._cancelled.is_set()
        ):
            batch = next(source, None)
            if batch is None:
                state.exhausted = True
                return
            if not batch.items:
                continue
            batch_id, state.next_id = state.next_id, state.next_id + 1
            fut = state.pool.submit(_stream_batch, fn, batch_id, batch.items)
            state.inflight[batch_id] = (fut, batch)
            state.pending.update((item["key"], batch_id) for item in batch.items)

    @classmethod
    def _lost(cls, state: _Running) -> Iterator[Outcome]:
        """Items of batches whose worker died (or whose results never arrived) → lost
        outcomes, after draining what was sent."""
        now = time.monotonic()
        failed = []
        for batch_id, (fut, _) in state.inflight.items():
            if not fut.done():
                continue
            if fut.exception() is not None:
                failed.append((batch_id, fut.exception()))
            elif now - state.quiet_since.setdefault(batch_id, now) > LOST_IN_TRANSIT_S:
                failed.append((batch_id, RuntimeError("its results never arrived")))
        if not failed:
            return
        try:  # what the dead worker (or the others) did send
            while True:
                yield from cls._receive(state, state.queue.get(timeout=0.1))
        except Empty:
            pass
        broken = False
        for batch_id, err in failed:
            if batch_id not in state.inflight:  # its done marker came in the drain
                continue
            _, batch = state.inflight.pop(batch_id)
            broken |= isinstance(err, BrokenProcessPool)
            reason = one_line(f"worker failed: {type(err).__name__}: {err}")
            for item in batch.items:
                if state.pending.pop(item["key"], None) is not None:
                    yield Outcome(item["key"], None, reason)
        state.broken |= broken  # a dead worker breaks the whole pool: start a new one

    def cancel(self) -> None:
        self._cancelled.set()

    def close(self) -> None:
        pass


def _stop(state: _Running, wait: bool) -> None:
    """Shut the pool down; ``wait``: let the workers finish, else terminate them. Never
    blocks for long: a worker that has not exited after a few seconds is terminated."""
    procs = list((getattr(state.pool, "_processes", None) or {}).values())
    if not wait:  # interrupted, cancelled or broken: stop the running batches now
        for proc in procs:
            proc.terminate()
    state.pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + (5.0 if wait else 1.0)
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
    state.queue.close()
    state.queue.cancel_join_thread()


# ---------------------------------------------------------------------------- Dask


def check_timeout(timeout_s: float) -> float:
    """A connection timeout must be a finite positive number of seconds."""
    if not isinstance(timeout_s, int | float) or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ExecutorError(
            f"--connect-timeout-s must be a finite number of seconds > 0, got {timeout_s!r}"
        )
    return float(timeout_s)


_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_address(address: str) -> str:
    """A scheduler address ``[scheme://]host:port``; malformed → one-line error at once."""
    if not isinstance(address, str) or not address.strip():
        raise ExecutorError("--scheduler needs an address such as tcp://host:8786 (got '')")
    address = address.strip()
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in _SCHEMES:
        raise ExecutorError(
            f"--scheduler {address!r}: unknown scheme {scheme!r} (use {', '.join(_SCHEMES)})"
        )
    if scheme == "inproc":
        return address
    host, colon, port = rest.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or any(c.isspace() or c in "/?#@" for c in host):
        raise ExecutorError(f"--scheduler {address!r}: expected [scheme://]host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorError(f"--scheduler {address!r}: port must be a number 1-65535")
    return f"{scheme}://{rest}"


def handshake(address: str, timeout_s: float) -> dict[str, Any]:
    """Ask ``address`` who it is, all within ``timeout_s``: something that accepts the
    connection but does not answer like a Dask scheduler (an HTTP server, a silent port)
    is an error too, not a hang."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), timeout_s)

    where = f"the Dask scheduler at {address!r}"
    reachable = _tcp_reachable(address, timeout_s)
    if isinstance(reachable, str):  # no TCP connection at all: no need to try Dask's
        raise ExecutorError(f"cannot reach {where} within {timeout_s:g} s ({reachable})")
    pool = ThreadPoolExecutor(1, thread_name_prefix="sod-handshake")
    try:  # a thread of its own: works whether or not the caller runs an event loop
        reply = pool.submit(asyncio.run, bounded()).result(timeout_s + 2.0)
    except Exception as err:  # any failure of the exchange: no Dask scheduler answered
        # (e.g. an HTTP reply read as a Dask frame header asks for exabytes: MemoryError)
        if reachable is True:
            raise ExecutorError(
                f"{address!r} accepted the connection but did not answer as a Dask scheduler "
                f"within {timeout_s:g} s"
            ) from None
        detail = one_line(str(err))[:160] or type(err).__name__
        raise ExecutorError(f"cannot reach {where} within {timeout_s:g} s ({detail})") from None
    finally:
        pool.shutdown(wait=False)
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ExecutorError(f"{address!r} answered, but it is not a Dask scheduler")
    return reply


def _tcp_reachable(address: str, timeout_s: float) -> bool | str | None:
    """For tcp/tls addresses: True if a TCP connection opens, else the reason (a string);
    None when it cannot be told (other schemes)."""
    import socket

    scheme, _, rest = address.partition("://")
    if scheme not in ("tcp", "tls"):
        return None
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return True
    except OSError as err:
        return one_line(err.strerror or str(err) or type(err).__name__)


class DaskExecutor:
    """Batches on a ``dask.distributed`` cluster. Results come back per batch (chunks of at
    most ``max_chunk`` items); a group is pinned to one worker (loosely: the scheduler may
    move it) so that, e.g., each worker builds a sweep's workload once."""

    def __init__(self, address: str, timeout_s: float = 5.0, max_chunk: int = 8) -> None:
        timeout_s = check_timeout(timeout_s)
        address = check_address(address)
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(
                "--scheduler needs dask.distributed: pip install 'sparse-on-dense[dask]'"
            ) from None
        handshake(address, timeout_s)
        self.address = address
        self.max_chunk: int | None = max_chunk
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except Exception as err:  # the handshake passed: rare (a scheduler going away)
            detail = one_line(str(err))[:160]
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address!r} within {timeout_s:g} s ({detail})"
            ) from None
        threads = self.client.nthreads()
        self.workers = sorted(threads)
        self.slots = max(1, sum(threads.values()))
        self._cancelled = threading.Event()

    def run(self, fn: ItemFn, batches: Iterable[Batch]) -> Iterator[Outcome]:
        from distributed import as_completed

        source = iter(batches)
        load = dict.fromkeys(self.workers, 0.0)
        home: dict[Hashable, str] = {}
        inflight: dict[Any, Batch] = {}
        done = as_completed(loop=self.client.loop)

        def submit_more() -> None:  # two batches per slot: workers never wait for the parent
            while len(inflight) < 2 * self.slots and not self._cancelled.is_set():
                batch = next(source, None)
                if batch is None:
                    return
                if self.workers and batch.group not in home:  # least-loaded first
                    home[batch.group] = min(load, key=load.__getitem__)
                where = home.get(batch.group)
                if where is not None:
                    load[where] += batch.cost
                fut = self.client.submit(
                    run_batch,
                    fn,
                    batch.items,
                    pure=False,
                    workers=None if where is None else [where],
                    allow_other_workers=True,
                )
                inflight[fut] = batch
                done.add(fut)

        try:
            submit_more()
            for fut in done:
                batch = inflight.pop(fut)
                yield from self._outcomes(fut, batch)
                if self._cancelled.is_set():
                    break
                submit_more()
        finally:
            if inflight:
                self.client.cancel(list(inflight))

    @staticmethod
    def _outcomes(fut: Any, batch: Batch) -> Iterator[Outcome]:
        if fut.status == "finished":
            for key, result in fut.result():
                yield Outcome(key, result)
            return
        err = fut.exception() if fut.status == "error" else fut.status
        reason = one_line(f"dask task failed: {type(err).__name__}: {err}")
        for item in batch.items:
            yield Outcome(item["key"], None, reason)

    def cancel(self) -> None:
        self._cancelled.set()

    def close(self) -> None:
        self.client.close()


def make_executor(
    workers: int = 2, scheduler: str | None = None, connect_timeout_s: float = 5.0
) -> Executor:
    """The CLI's choice: Dask when ``scheduler`` is given (even empty: that is an error),
    else ``workers`` local processes."""
    check_timeout(connect_timeout_s)
    if scheduler is not None:
        return DaskExecutor(scheduler, timeout_s=connect_timeout_s)
    return LocalExecutor(workers)
