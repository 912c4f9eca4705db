"""The SQLite results store: one committed row per point, reopenable, honest about bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sod.study.store import ResultStore, StoreError, write_csv


def record(store: ResultStore, key: str, status: str = "ok", **kw) -> None:
    store.record(
        key=key,
        point_id=kw.pop("point_id", "p-" + key),
        model_version="v1",
        sweep="s",
        config={"model": "lenet5", "arch": "dense"},
        status=status,
        metrics=kw.pop("metrics", {"gops_per_w": 1.5, "arch": "dense-32"}),
        **kw,
    )


def test_rows_round_trip_and_wal(tmp_path: Path):
    path = tmp_path / "sub" / "r.sqlite"
    with ResultStore(path) as store:
        record(store, "a", started_at=10.0, finished_at=12.5, worker="h:1")
        record(store, "b", status="failed", metrics=None, error="too small")
        assert store.count() == 2
        assert store.statuses() == {"a": "ok", "b": "failed"}
    # a fresh connection (another process would see the same) reads every committed row
    with ResultStore(path) as store:
        (a,) = store.rows(["a"])
        assert a.metrics == {"gops_per_w": 1.5, "arch": "dense-32"}
        assert a.elapsed_s == pytest.approx(2.5) and a.worker == "h:1"
        flat = a.flat()
        assert flat["arch"] == "dense" and flat["arch_name"] == "dense-32"
        assert flat["gops_per_w"] == 1.5 and flat["status"] == "ok"
        assert [r.key for r in store.rows(["b", "zz", "a"])] == ["b", "a"]
        assert store.integrity() == "ok"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_rerecord_replaces_and_latest_by_point_id(tmp_path: Path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        record(
            store, "k1", status="error", metrics=None, error="boom", point_id="p", finished_at=1.0
        )
        record(store, "k1", point_id="p", finished_at=2.0)
        assert store.count() == 1 and store.statuses() == {"k1": "ok"}
        record(
            store, "k2", point_id="p", finished_at=3.0, metrics={"gops_per_w": 9.0}
        )  # same configuration, newer model version
        (latest,) = store.latest_by_point_id(["p"])
        assert latest.key == "k2" and latest.metrics == {"gops_per_w": 9.0}
        with pytest.raises(ValueError, match="status"):
            record(store, "k3", status="pending")


def test_not_a_database(tmp_path: Path):
    bad = tmp_path / "x.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"x\.sqlite"):
        ResultStore(bad)


def test_other_schema_is_refused(tmp_path: Path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema 99"):
        ResultStore(path)


def test_write_csv_columns(tmp_path: Path):
    rows = [{"b": 1, "a": 2.5}, {"a": None, "c": {"x": 1}}]
    path = write_csv(rows, tmp_path / "o" / "r.csv", first=("a", "missing"))
    lines = path.read_text().splitlines()
    assert lines[0] == "a,b,c"
    assert lines[1] == "2.5,1,"
    assert lines[2] == ',,"{""x"": 1}"'
