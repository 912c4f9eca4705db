"""Each RTL design against its golden model, cycle by cycle, on random inputs; and each
golden model against the plain arithmetic it implements."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.rtl.golden import (
    BitmaskDecompressorModel,
    BitmaskJoinModel,
    CsrMatchModel,
    DenseArrayModel,
    ws_schedule,
)

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")


# ----------------------------------------------------------------------- systolic array
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(k=st.integers(1, 4), n=st.integers(1, 4), m=st.integers(1, 6), seed=st.integers(0, 99))
def test_systolic_array_matches_golden_and_matmul(k, n, m, seed):
    from sod.rtl.array import SystolicArray
    from sod.rtl.sim import run_lockstep

    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k))
    w = rng.integers(-128, 128, (k, n))
    cycles, first = ws_schedule(a, w)
    model = DenseArrayModel(k, n)
    trace = run_lockstep(
        SystolicArray(k, n),
        lambda **v: model.step(v["a_in"], v["w_in"], v["w_load"]),
        cycles,
        ["psum_out"],
    )
    got = np.array([[trace[first + i + k + c]["psum_out"][c] for c in range(n)] for i in range(m)])
    np.testing.assert_array_equal(got, a @ w)


def test_dense_pe_accumulator_wraps_like_int32():
    from sod.rtl.array import SystolicArray
    from sod.rtl.sim import run_lockstep

    # acc_bits=16: (-128)·(-128)·2 = 32768 wraps to -32768 in both RTL and model.
    a = np.array([[-128, -128]])
    w = np.array([[-128], [-128]])
    cycles, first = ws_schedule(a, w)
    model = DenseArrayModel(2, 1, acc_bits=16)
    trace = run_lockstep(
        SystolicArray(2, 1, acc_bits=16),
        lambda **v: model.step(v["a_in"], v["w_in"], v["w_load"]),
        cycles,
        ["psum_out"],
    )
    assert trace[first + 2]["psum_out"][0] == -32768


# ------------------------------------------------------------------------- CSR match PE
def _sparse_vector(rng, length, density):
    idx = np.flatnonzero(rng.random(length) < density)
    if idx.size == 0:
        idx = np.array([rng.integers(length)])
    vals = rng.integers(-128, 128, idx.size)
    return idx, vals


def _entries(idx, vals):
    return [
        {"idx": int(i), "val": int(v), "last": int(j == len(idx) - 1)}
        for j, (i, v) in enumerate(zip(idx, vals, strict=True))
    ]


@pytest.mark.parametrize(("depth", "comparators", "seed"), [(4, 1, 0), (4, 2, 1), (8, 3, 2)])
def test_csr_match_pe(depth, comparators, seed):
    from sod.rtl.csr_pe import CsrMatchPE
    from sod.rtl.sim import run_lockstep

    rng = np.random.default_rng(seed)
    n_vectors, length = 4, 40
    a_stream, w_stream, expected = [], [], []
    for _ in range(n_vectors):
        ai, av = _sparse_vector(rng, length, rng.uniform(0.1, 0.9))
        wi, wv = _sparse_vector(rng, length, rng.uniform(0.1, 0.9))
        a_dense, w_dense = np.zeros(length, int), np.zeros(length, int)
        a_dense[ai], w_dense[wi] = av, wv
        expected.append(int(a_dense @ w_dense))
        a_stream += _entries(ai, av)
        w_stream += _entries(wi, wv)

    model = CsrMatchModel(depth, comparators)
    dut = CsrMatchPE(depth, comparators)
    # Random valid gaps: the feeder keeps offering the same entry until accepted.
    state = {"a": 0, "w": 0}
    cycles = []
    results = []

    def step(**v):
        out = model.step(
            v["a_valid"], tuple(v["a_data"].values()), v["w_valid"], tuple(v["w_data"].values())
        )
        if v["a_valid"] and out["a_ready"]:
            state["a"] += 1
        if v["w_valid"] and out["w_ready"]:
            state["w"] += 1
        if out["out_valid"]:
            results.append(out["out_acc"])
        return out

    def make_inputs():
        # Inputs for each cycle depend on what was accepted so far: generate lazily.
        blank = {"idx": 0, "val": 0, "last": 0}
        for _ in range(4000):
            ia, iw = state["a"], state["w"]
            cycles_in = {
                "a_valid": int(ia < len(a_stream) and rng.random() < 0.8),
                "a_data": a_stream[ia] if ia < len(a_stream) else blank,
                "w_valid": int(iw < len(w_stream) and rng.random() < 0.8),
                "w_data": w_stream[iw] if iw < len(w_stream) else blank,
            }
            cycles.append(cycles_in)
            yield cycles_in
            if len(results) == n_vectors:
                return

    run_lockstep(
        dut, step, _LazyList(make_inputs()), ["a_ready", "w_ready", "out_valid", "out_acc"]
    )
    assert results == expected


class _LazyList:
    """Iterable of per-cycle inputs produced on demand (inputs depend on past outputs)."""

    def __init__(self, gen):
        self.gen = gen

    def __iter__(self):
        return iter(self.gen)


# ---------------------------------------------------------------------- bitmask join PE
@pytest.mark.parametrize(("chunk", "seed"), [(8, 0), (16, 1)])
def test_bitmask_join_pe(chunk, seed):
    from sod.rtl.bitmask_pe import BitmaskJoinPE
    from sod.rtl.sim import run_lockstep

    rng = np.random.default_rng(seed)
    chunks, expected = [], []
    for _ in range(3):  # three dot products of 1..3 chunks each
        total = 0
        n_chunks = int(rng.integers(1, 4))
        for c in range(n_chunks):
            a = rng.integers(-128, 128, chunk) * (rng.random(chunk) < rng.uniform(0, 1))
            w = rng.integers(-128, 128, chunk) * (rng.random(chunk) < rng.uniform(0, 1))
            total += int(a @ w)
            pack = lambda x: [int(v) for v in x[x != 0]] + [0] * int((x == 0).sum())  # noqa: E731
            chunks.append(
                {
                    "a_mask": int(sum(1 << i for i in np.flatnonzero(a))),
                    "w_mask": int(sum(1 << i for i in np.flatnonzero(w))),
                    "a_vals": pack(a),
                    "w_vals": pack(w),
                    "last": int(c == n_chunks - 1),
                }
            )
        expected.append(total)

    model = BitmaskJoinModel(chunk)
    state = {"i": 0}
    results = []

    def step(**v):
        out = model.step(**v)
        if v["valid"] and out["ready"]:
            state["i"] += 1
        if out["out_valid"]:
            results.append(out["out_acc"])
        return out

    def inputs():
        idle = {
            "valid": 0,
            "a_mask": 0,
            "w_mask": 0,
            "a_vals": [0] * chunk,
            "w_vals": [0] * chunk,
            "last": 0,
        }
        for _ in range(2000):
            i = state["i"]
            yield ({"valid": 1, **chunks[i]} if i < len(chunks) and rng.random() < 0.8 else idle)
            if len(results) == len(expected):
                return

    run_lockstep(BitmaskJoinPE(chunk), step, _LazyList(inputs()), ["ready", "out_valid", "out_acc"])
    assert results == expected


# ----------------------------------------------------------------- bitmask decompressor
@pytest.mark.parametrize(("lanes", "realign", "seed"), [(8, True, 0), (4, True, 1), (8, False, 2)])
def test_bitmask_decompressor(lanes, realign, seed):
    from sod.rtl.decompressor import BitmaskDecompressor
    from sod.rtl.sim import run_lockstep

    rng = np.random.default_rng(seed)
    dense = [
        rng.integers(-128, 128, lanes) * (rng.random(lanes) < rng.uniform(0, 1)) for _ in range(30)
    ]
    masks = [int(sum(1 << i for i in np.flatnonzero(v))) for v in dense]
    if realign:  # values of all vectors packed back to back into L-value words
        flat = [int(x) for v in dense for x in v[v != 0]]
        flat += [0] * (-len(flat) % lanes)
        words = [flat[i : i + lanes] for i in range(0, len(flat), lanes)]
    else:  # one word per vector, its values at the front
        words = [[int(x) for x in v[v != 0]] + [0] * int((v == 0).sum()) for v in dense]

    model = BitmaskDecompressorModel(lanes) if realign else None
    state = {"m": 0, "w": 0}
    outs = []

    def core_step(mask_valid, mask, val_valid, val_word):
        fire = bool(mask_valid and val_valid)
        vals = iter(val_word)
        data = [next(vals) if fire and mask >> i & 1 else 0 for i in range(lanes)]
        return {
            "mask_ready": int(fire),
            "val_ready": int(fire),
            "out_valid": int(fire),
            "out_data": data,
        }

    def step(**v):
        out = model.step(**v) if realign else core_step(**v)
        state["m"] += out["mask_ready"]
        state["w"] += int(v["val_valid"] and out["val_ready"])
        if out["out_valid"]:
            outs.append(out["out_data"])
        return out

    def inputs():
        for _ in range(1000):
            m, w = state["m"], state["w"]
            yield {
                "mask_valid": int(m < len(masks) and rng.random() < 0.9),
                "mask": masks[m] if m < len(masks) else 0,
                "val_valid": int(w < len(words) and rng.random() < 0.7),
                "val_word": words[w] if w < len(words) else [0] * lanes,
            }
            if len(outs) == len(dense):
                return

    run_lockstep(
        BitmaskDecompressor(lanes, realign=realign),
        step,
        _LazyList(inputs()),
        ["mask_ready", "val_ready", "out_valid", "out_data"],
    )
    assert outs == [[int(x) for x in v] for v in dense]


def test_golden_decompressor_full_rate_at_full_density():
    """Primed with words every cycle, a dense stream yields one vector per cycle."""
    lanes = 4
    model = BitmaskDecompressorModel(lanes)
    fired = [model.step(1, 0b1111, 1, [1, 2, 3, 4])["out_valid"] for _ in range(10)]
    assert fired == [1] * 10
