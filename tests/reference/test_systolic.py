"""Cycle-level systolic array: exact int32 product and SCALE-Sim's cycle counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.arch.spec import Architecture
from sod.models.dense import evaluate_dense
from sod.models.sparse_on_dense import evaluate
from sod.reference.systolic import ArrayError, WFeed, ideal_feed, run_array, run_dense
from sod.reference.systolic_tpu import run_array_tpu, run_dense_tpu
from sod.workload.gemm import Gemm

SCALESIM = Path(__file__).resolve().parents[2] / "src" / "sod" / "reference" / "data" / "scalesim"


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


# --- the TPU timing -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 30),
    k=st.integers(1, 30),
    n=st.integers(1, 30),
    rows=st.integers(1, 8),
    cols=st.integers(1, 8),
    df=st.sampled_from(["ws", "os", "is"]),
    seed=st.integers(0, 2**31),
)
def test_tpu_array_matches_numpy_and_the_model(m, k, n, rows, cols, df, seed):
    """Double-buffered stationary tiles / accumulators, one pipeline per GEMM: the
    register-level run has no hazard, computes A·W and takes the model's cycles."""
    a, w = _operands(np.random.default_rng(seed), m, k, n)
    res = run_dense_tpu(a, w, rows, cols, df)
    assert np.array_equal(res.output, a.astype(np.int32) @ w.astype(np.int32))
    assert res.cycles == int(evaluate_dense(m, k, n, rows, cols, df, "tpu").compute_cycles[0])
    arch = Architecture(
        array_rows=rows, array_cols=cols, dataflow=df, timing="tpu", ideal_memory=True
    )
    assert evaluate(Gemm("g", m, k, n), arch).compute_cycles == res.cycles


@pytest.mark.parametrize("bound", ["load", "stream"])
@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_tpu_controller_is_tight(df, bound):
    """Starting folds one cycle earlier than the timing allows is a hazard the array
    catches (a tile not latched yet, an accumulator not read out yet, or two folds
    entering at once)."""
    rng = np.random.default_rng(1)
    short = {"ws": (2, 12, 12), "os": (12, 2, 12), "is": (12, 12, 2)}[df]  # T < R
    m, k, n = short if bound == "load" else (12, 12, 12)
    a, w = _operands(rng, m, k, n)
    run_dense_tpu(a, w, 4, 4, df)
    with pytest.raises(ArrayError, match="hazard"):
        run_dense_tpu(a, w, 4, 4, df, eager_cycles=1)


def test_tpu_beats_scalesim_when_folds_are_many():
    a, w = _operands(np.random.default_rng(2), 1, 40, 40)
    tpu, ss = run_dense_tpu(a, w, 8, 8, "ws"), run_dense(a, w, 8, 8, "ws")
    assert np.array_equal(tpu.output, ss.output)
    assert 2 * tpu.cycles < ss.cycles


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_tpu_late_weights_delay_the_load_or_bubble_the_stream(df):
    """Late W vectors: WS loads the next tile later (hidden while the stream is longer),
    OS/IS leave bubbles in the stream; the product is still exact and never faster."""
    rng = np.random.default_rng(5)
    m, k, n, rows, cols = 9, 11, 7, 4, 3
    a, w = _operands(rng, m, k, n)
    feed = ideal_feed(w, m, rows, cols, df)
    delay = rng.integers(0, 3, feed.ready.shape).cumsum(axis=1)
    late = WFeed(feed.vectors, feed.ready + delay, feed.fold_stream)
    res = run_array_tpu(a, late, n, rows, cols, df)
    assert np.array_equal(res.output, a.astype(np.int32) @ w.astype(np.int32))
    ideal = run_dense_tpu(a, w, rows, cols, df)
    assert res.ideal_cycles == ideal.total_cycles
    assert 0 < res.stall_cycles <= int(delay[late.fold_stream, -1].sum())
