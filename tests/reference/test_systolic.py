"""Cycle-level systolic array: exact int32 product and SCALE-Sim's cycle counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.models.dense import evaluate_dense
from sod.reference.systolic import ArrayError, WFeed, ideal_feed, run_array, run_dense

SCALESIM = Path(__file__).resolve().parents[1] / "data" / "scalesim"


def _operands(rng, m, k, n):
    a = rng.integers(-128, 128, (m, k), dtype=np.int64).astype(np.int8)
    w = rng.integers(-128, 128, (k, n), dtype=np.int64).astype(np.int8)
    return a, w


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    df=st.sampled_from(["ws", "os", "is"]),
    seed=st.integers(0, 2**31),
)
def test_product_and_cycles_match_numpy_and_dense_model(m, k, n, rows, cols, df, seed):
    a, w = _operands(np.random.default_rng(seed), m, k, n)
    res = run_dense(a, w, rows, cols, df)
    assert res.output.dtype == np.int32
    assert np.array_equal(res.output, a.astype(np.int32) @ w.astype(np.int32))
    assert res.cycles == int(evaluate_dense(m, k, n, rows, cols, df).compute_cycles[0])
    assert res.total_stall_cycles == 0


def _gemm_cases():
    for case in sorted(SCALESIM.glob("gemm_*")):
        meta = json.loads((case / "case.json").read_text())
        if meta["array_rows"] * meta["array_cols"] > 32 * 32:
            continue  # keep the suite fast; the dense model covers the large arrays
        yield pytest.param(case, id=case.name)


@pytest.mark.parametrize("case", list(_gemm_cases()))
def test_cycles_equal_scalesim_reports(case):
    meta = json.loads((case / "case.json").read_text())
    with open(case / "topology.csv") as fh:
        layers = [[c.strip() for c in row if c.strip()] for row in csv.reader(fh)][1:]
    with open(case / "COMPUTE_REPORT.csv") as fh:
        report = [[c.strip() for c in row if c.strip()] for row in csv.reader(fh)][1:]
    rng = np.random.default_rng(0)
    for layer, rep in zip(layers, report, strict=True):
        m, n, k = (int(x) for x in layer[1:4])
        if m * n * k > 300_000:
            continue
        a, w = _operands(rng, m, k, n)
        res = run_dense(a, w, meta["array_rows"], meta["array_cols"], meta["dataflow"])
        assert res.cycles == int(rep[2]), (layer, rep)
        assert np.array_equal(res.output, a.astype(np.int32) @ w.astype(np.int32))


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_late_weights_freeze_the_array(df):
    rng = np.random.default_rng(5)
    m, k, n, rows, cols = 9, 11, 7, 4, 3
    a, w = _operands(rng, m, k, n)
    feed = ideal_feed(w, m, rows, cols, df)
    delay = rng.integers(0, 3, feed.ready.shape).cumsum(axis=1)
    late = WFeed(feed.vectors, feed.ready + delay, feed.fold_stream)
    res = run_array(a, late, n, rows, cols, df)
    assert np.array_equal(res.output, a.astype(np.int32) @ w.astype(np.int32))
    # Each fold waits exactly as long as its last W vector is late.
    expect = delay[late.fold_stream, -1]
    assert np.array_equal(res.stall_cycles, expect)
    dense = int(evaluate_dense(m, k, n, rows, cols, df).compute_cycles[0])
    assert res.cycles == dense + int(expect.sum())


def test_bad_input():
    with pytest.raises(ArrayError, match="do not multiply"):
        run_dense(np.zeros((2, 3), np.int8), np.zeros((4, 2), np.int8), 2, 2, "ws")
    with pytest.raises(ArrayError, match="unknown dataflow"):
        run_dense(np.zeros((2, 3), np.int8), np.zeros((3, 2), np.int8), 2, 2, "rs")
