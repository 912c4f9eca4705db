"""The sweep results store: one SQLite file, one row per evaluated point.

Durability contract (tested by killing a real ``sod sweep`` with SIGKILL):

* the database runs in WAL mode; every finished point is written and committed in its own
  transaction, so a crash loses at most the points still being computed and never leaves a
  half-written row or a corrupt file (SQLite's journal makes each commit atomic);
* ``synchronous=NORMAL``: a commit survives the death of the process (``kill -9``); a power
  cut may roll back the last few commits, never corrupt the file;
* only the sweep's parent process writes; workers return results to it.

A row is keyed by :func:`sod.study.sweep.point_key` (configuration + model version);
``point_id`` identifies the configuration alone, so results of an older model version can
still be found (``sod results --allow-stale``).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
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
"""


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

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per point.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_schema()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"results database {self.path}: {err}") from None
        except OSError as err:
            raise StoreError(f"cannot open results database {self.path}: {err.strerror}") from None

    def _check_schema(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (name, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
        elif row[0] != SCHEMA_VERSION:
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
    ) -> None:
        """Write one finished point and commit it (its own transaction)."""
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
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def statuses(self) -> dict[str, str]:
        """key → status of every stored row."""
        return dict(self._db.execute("SELECT key, status FROM points"))

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
