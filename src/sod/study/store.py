"""The sweep results store: one SQLite file, one row per evaluated point.

Durability contract (tested by killing a real ``sod sweep`` with SIGKILL):

* the database runs in WAL mode; every finished point is written and committed in its own
  transaction, so a crash loses at most the points still being computed and never leaves a
  half-written row or a corrupt file (SQLite's journal makes each commit atomic);
* ``synchronous=NORMAL``: a commit survives the death of the process (``kill -9``); a power
  cut may roll back the last few commits, never corrupt the file;
* only a sweep's parent process writes; workers return results to it;
* a write that finds the database locked by another process waits (SQLite's busy
  timeout), then retries with exponential backoff for up to ``lock_patience_s``;
* several sweeps on one store share the work through the ``claims`` table: a process
  claims a batch of points (key → "host:pid:start") before computing it and drops the
  claim in the transaction that records the point; a claim whose process is dead
  (same host, no such pid or another start time) is stale and is taken over.

A row is keyed by :func:`sod.study.spec.point_key` (configuration + model version);
``point_id`` identifies the configuration alone, so results of an older model version can
still be found (``sod results --allow-stale``).
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sod.errors import SodError

SCHEMA_VERSION = "1"
STATUSES = ("ok", "failed", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    point_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    sweep TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'error')),
    metrics TEXT,
    error TEXT,
    started_at REAL,
    finished_at REAL,
    elapsed_s REAL,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS points_point_id ON points (point_id);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    claimed_at REAL NOT NULL
);
"""
BUSY_TIMEOUT_S = 30.0  # SQLite waits this long for another writer before it reports 'locked'
LOCK_PATIENCE_S = 600.0  # then we retry with backoff, for this long in all
Snapshot = dict[str, tuple[str, float | None]]  # key -> (status, finished_at)


class StoreError(SodError):
    """The results database cannot be opened, is not a sweep database, or is corrupt."""


@dataclass(frozen=True)
class StoredPoint:
    """One row of the store, decoded."""

    key: str
    point_id: str
    model_version: str
    sweep: str
    config: dict[str, Any]
    status: str
    metrics: dict[str, Any] | None
    error: str | None
    started_at: float | None
    finished_at: float | None
    elapsed_s: float | None
    worker: str | None

    def flat(self) -> dict[str, Any]:
        """Configuration, status and metrics in one flat mapping (a CSV row)."""
        row: dict[str, Any] = {"key": self.key, "status": self.status, "error": self.error or ""}
        row.update(self.config)
        for name, value in (self.metrics or {}).items():
            # The metrics' values are the evaluated ones (e.g. node_nm when the config left
            # it to the architecture); 'arch' stays the sweep's label, its name goes beside.
            row["arch_name" if name == "arch" else name] = value
        row["elapsed_s"] = self.elapsed_s
        return row


class ResultStore:
    """A sweep database (created if missing). Use as a context manager."""

    def __init__(
        self,
        path: str | Path,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        lock_patience_s: float = LOCK_PATIENCE_S,
    ) -> None:
        self.path = Path(path)
        self.lock_patience_s = lock_patience_s
        self.lock_retries = 0  # writes that found the database locked and were retried
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per point.
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
            self._retrying(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._retrying(lambda: self._db.executescript(_SCHEMA))
            self._check_schema()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"results database {self.path}: {err}") from None
        except OSError as err:
            raise StoreError(f"cannot open results database {self.path}: {err.strerror}") from None

    def _retrying(self, op: Callable[[], Any]) -> Any:
        """Run ``op``; while SQLite says the database is locked (another process is
        writing), retry with exponential backoff up to ``lock_patience_s``."""
        deadline = time.monotonic() + self.lock_patience_s
        delay = 0.05
        while True:
            try:
                return op()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"results database {self.path} stayed locked by another process for "
                        f"{self.lock_patience_s:g} s; try again later"
                    ) from None
            self.lock_retries += 1
            time.sleep(delay)
            delay = min(2 * delay, 2.0)

    def _write(self, body: Callable[[], Any]) -> Any:
        """``body`` in one write transaction (BEGIN IMMEDIATE ... COMMIT), retried while
        the database is locked."""
        self._retrying(lambda: self._db.execute("BEGIN IMMEDIATE"))
        try:
            result = body()
            self._retrying(lambda: self._db.execute("COMMIT"))
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    def _check_schema(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is None:  # a new database: write its schema version (a write transaction)
            self._write(
                lambda: self._db.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)",
                    (SCHEMA_VERSION,),
                )
            )
            row = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"results database {self.path} has schema {row[0]}, this sod "
                f"writes schema {SCHEMA_VERSION}; use another db path"
            )

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def record(
        self,
        *,
        key: str,
        point_id: str,
        model_version: str,
        sweep: str,
        config: dict[str, Any],
        status: str,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
        started_at: float | None = None,
        finished_at: float | None = None,
        worker: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Write one finished point and commit it (its own transaction); drop ``owner``'s
        claim on it in the same transaction."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        finished_at = time.time() if finished_at is None else finished_at
        elapsed = None if started_at is None else finished_at - started_at
        row = (
            key,
            point_id,
            model_version,
            sweep,
            _dumps(config),
            status,
            None if metrics is None else _dumps(metrics),
            error,
            started_at,
            finished_at,
            elapsed,
            worker,
        )

        def body() -> None:
            self._db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )
            if owner is not None:
                self._db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, owner))

        self._write(body)

    def statuses(self) -> dict[str, str]:
        """key → status of every stored row."""
        return dict(self._db.execute("SELECT key, status FROM points"))

    def snapshot(self) -> Snapshot:
        """key → (status, finished_at) of every stored row."""
        return {
            k: (s, f) for k, s, f in self._db.execute("SELECT key, status, finished_at FROM points")
        }

    # ------------------------------------------------------------------ sharing the work

    def open_points(
        self, keys: Sequence[str], since: Snapshot, done: Collection[str], owner: str
    ) -> tuple[list[str], list[str]]:
        """Of ``keys``, those still to compute: (free, claimed by another live process).

        A point is finished when its row has a status in ``done`` or was (re)written
        after ``since`` was taken (by this process or another one)."""
        now = self.snapshot()
        claims = dict(self._db.execute("SELECT key, owner FROM claims"))
        alive: dict[str, bool] = {}
        free, busy = [], []
        for key in keys:
            row = now.get(key)
            if row is not None and (row[0] in done or row != since.get(key)):
                continue
            other = claims.get(key)
            if other is not None and other != owner:
                if other not in alive:
                    alive[other] = owner_alive(other)
                if alive[other]:
                    busy.append(key)
                    continue
            free.append(key)
        return free, busy

    def claim(
        self, keys: Sequence[str], since: Snapshot, done: Collection[str], owner: str
    ) -> list[str]:
        """Claim for ``owner`` the keys of ``keys`` that are still open and not claimed by
        another live process (stale claims are taken over); return them."""

        def body() -> list[str]:
            free, _ = self.open_points(keys, since, done, owner)
            now = time.time()
            self._db.executemany(
                "INSERT OR REPLACE INTO claims (key, owner, claimed_at) VALUES (?, ?, ?)",
                [(k, owner, now) for k in free],
            )
            return free

        return self._write(body)

    def release(self, owner: str) -> None:
        """Drop every claim of ``owner`` (end of a run, finished or interrupted)."""
        self._write(lambda: self._db.execute("DELETE FROM claims WHERE owner = ?", (owner,)))

    def claims(self) -> dict[str, str]:
        """key → owner of every claim."""
        return dict(self._db.execute("SELECT key, owner FROM claims"))

    def rows(self, keys: Iterable[str] | None = None) -> list[StoredPoint]:
        """Stored rows (those of ``keys`` when given, in that order)."""
        cur = self._db.execute("SELECT * FROM points ORDER BY finished_at")
        decoded = {r[0]: _decode(r) for r in cur}
        if keys is None:
            return list(decoded.values())
        return [decoded[k] for k in keys if k in decoded]

    def latest_by_point_id(self, point_ids: Sequence[str]) -> list[StoredPoint]:
        """The newest row of each configuration, whatever its model version."""
        newest: dict[str, StoredPoint] = {}
        for row in self.rows():  # ordered by finished_at: later rows replace earlier
            newest[row.point_id] = row
        return [newest[p] for p in point_ids if p in newest]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def integrity(self) -> str:
        """``PRAGMA integrity_check``: 'ok' when the file is sound."""
        return "; ".join(r[0] for r in self._db.execute("PRAGMA integrity_check"))


def process_start(pid: int) -> str | None:
    """A token of when process ``pid`` started (None if there is no such live process):
    /proc's start time in clock ticks on Linux, else psutil's, else '?' (cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except FileNotFoundError:
        return None
    except OSError:
        stat = b""
    if stat:
        fields = stat[stat.rindex(b")") + 2 :].split()  # fields 3.. (the name may hold spaces)
        return None if fields[0] in (b"Z", b"X") else fields[19].decode()
    try:
        import psutil

        return str(psutil.Process(pid).create_time())
    except ImportError:
        pass
    except Exception:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass
    return "?"


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start`` of this (or another local) process: a claim's owner."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{process_start(pid)}"


def owner_alive(owner: str) -> bool:
    """Is the process that made a claim still running? Processes on other hosts cannot be
    checked and count as alive."""
    rest, _, start = owner.rpartition(":")
    host, _, pid = rest.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    now = process_start(int(pid))
    return now is not None and (now == start or "?" in (now, start))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _decode(r: tuple[Any, ...]) -> StoredPoint:
    return StoredPoint(
        key=r[0],
        point_id=r[1],
        model_version=r[2],
        sweep=r[3],
        config=json.loads(r[4]),
        status=r[5],
        metrics=None if r[6] is None else json.loads(r[6]),
        error=r[7],
        started_at=r[8],
        finished_at=r[9],
        elapsed_s=r[10],
        worker=r[11],
    )


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path, first: Sequence[str] = ()) -> Path:
    """Write flat rows to CSV: the ``first`` columns, then every other key in order seen."""
    columns: list[str] = [c for c in first if any(c in r for r in rows)]
    for r in rows:
        columns.extend(c for c in r if c not in columns)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                writer.writerow({c: _cell(r.get(c)) for c in columns})
    except OSError as err:
        raise StoreError(f"cannot write {path}: {err.strerror}") from None
    return path


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
