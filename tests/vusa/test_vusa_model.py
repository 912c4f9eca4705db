"""VUSA's model against the brute-force reference and the plain dense array."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sod.arch.spec import Architecture
from sod.arch.vusa import VUSAArch
from sod.errors import ArchitectureError
from sod.models.operands import OperandMasks
from sod.models.sparse_on_dense import evaluate as evaluate_dense
from sod.models.vusa import _chain, _effectual, evaluate, fold_plan, pack_windows
from sod.reference.systolic_tpu import run_dense_tpu
from sod.reference.vusa import run_vusa
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def _gemm(m: int, k: int, n: int, w: np.ndarray, groups: int = 1) -> Gemm:
    return Gemm(
        "t", m, k, n, repeat=groups, weight_density=float(w.mean()),
        weight_mask=BitMask.from_bool(w.reshape(groups * k, n)),
    )  # fmt: skip


@given(
    m=st.integers(1, 12),
    k=st.integers(1, 13),
    n=st.integers(1, 23),
    rows=st.integers(1, 5),
    wins=st.integers(1, 3),
    macs=st.integers(1, 3),
    extra=st.integers(0, 3),
    idle=st.integers(0, 2),
    density=st.floats(0.0, 1.0),
    timing=st.sampled_from(["tpu", "scalesim"]),
    axis=st.sampled_from(["k", "n"]),
    seed=st.integers(0, 2**16),
)
def test_model_equals_reference(
    m, k, n, rows, wins, macs, extra, idle, density, timing, axis, seed
):
    rng = np.random.default_rng(seed)
    w = (rng.random((k, n)) < density) * rng.integers(1, 100, (k, n))
    a = rng.integers(-50, 50, (1, m, k))
    side = wins * macs + min(idle, macs - 1)  # MACs beyond whole windows idle
    R, C = (side, rows) if axis == "k" else (rows, side)
    arch = VUSAArch(
        array_rows=R, array_cols=C, window_macs=macs, window_slots=macs + extra,
        timing=timing, ideal_memory=True, window_axis=axis,
    )  # fmt: skip
    ref = run_vusa(a, w[None], R, C, macs + extra, macs, timing, axis)
    assert np.array_equal(ref.output[0], a[0] @ w)  # the slots compute A·W
    counts = evaluate(_gemm(m, k, n, w != 0), arch)
    assert counts.compute_cycles == ref.cycles
    assert counts.details["folds"] == len(ref.folds)
    plan = fold_plan((w != 0)[None], arch)
    assert [sum(f.spans) for f in ref.folds] == plan.span.tolist()
    assert counts.macs_issued == sum(f.slots[..., 1].size for f in ref.folds) * m


def test_grouped_reference():
    rng = np.random.default_rng(3)
    w = rng.random((2, 9, 14)) < 0.3
    a = rng.integers(-5, 5, (2, 6, 9))
    arch = VUSAArch(array_rows=4, array_cols=4, window_macs=2, window_slots=4, ideal_memory=True)
    ref = run_vusa(a, w.astype(np.int64), 4, 4, 4, 2, "tpu", "k")
    counts = evaluate(_gemm(6, 9, 14, w, groups=2), arch)
    assert counts.compute_cycles == ref.cycles
    assert np.array_equal(ref.output, a @ w.astype(np.int64))


@pytest.mark.parametrize("axis", ["k", "n"])
@pytest.mark.parametrize("timing", ["tpu", "scalesim"])
@pytest.mark.parametrize(("m", "k", "n"), [(20, 37, 50), (3, 8, 6), (40, 64, 91)])
def test_dense_masks_give_the_dense_array(axis, timing, m, k, n):
    """Dense weights fit M positions per window: exactly the plain R x C array's cycles."""
    arch = VUSAArch(
        array_rows=6 if axis == "k" else 8, array_cols=8 if axis == "k" else 6,
        window_macs=3, window_slots=5, timing=timing, window_axis=axis,
    )  # fmt: skip
    R, C = arch.array_rows, arch.array_cols
    dense = Architecture(array_rows=R, array_cols=C, dataflow="ws", timing=timing)
    g = _gemm(m, k, n, np.ones((k, n), bool))
    v, d = evaluate(g, arch), evaluate_dense(g, dense)
    assert v.compute_cycles == d.compute_cycles
    assert v.details["folds"] == d.details["folds"]
    if timing == "tpu":  # and the cycle-level dense array
        rng = np.random.default_rng(0)
        run = run_dense_tpu(rng.integers(-3, 3, (m, k)), rng.integers(-3, 3, (k, n)), R, C, "ws")
        assert v.compute_cycles == run.cycles


def test_sparse_weights_grow_the_array_virtually():
    """Windows whose rows have at most M non-zeros in V columns take V columns."""
    w = np.zeros((4, 40), bool)
    w[:, ::5] = w[:, 1::5] = w[:, 2::5] = True  # 3 of every 5 columns
    spans = pack_windows(w.T[None].copy(), 4, 5, 3)  # windows along axis 1
    assert spans.tolist() == [[5] * 8]
    arch = VUSAArch(
        array_rows=4, array_cols=6, window_macs=3, window_slots=5, ideal_memory=True,
        window_axis="n",
    )  # fmt: skip
    counts = evaluate(_gemm(10, 4, 40, w), arch)
    assert counts.details["folds"] == 4  # 8 windows, 2 per fold; the dense array needs 7
    assert counts.details["virtual_span_mean"] == 10.0
    # The same pattern transposed along k (windows of rows).
    arch_k = arch.model_copy(update={"array_rows": 6, "array_cols": 4, "window_axis": "k"})
    counts_k = evaluate(_gemm(10, 40, 4, w.T.copy()), arch_k)
    assert counts_k.details["folds"] == 4 and counts_k.details["virtual_span_mean"] == 10.0


def test_sparser_is_never_slower():
    rng = np.random.default_rng(1)
    arch = VUSAArch(array_rows=12, array_cols=8, ideal_memory=False)
    w = rng.random((64, 200)) < 0.4
    thinner = w & (rng.random(w.shape) < 0.5)
    slow, fast = evaluate(_gemm(50, 64, 200, w), arch), evaluate(_gemm(50, 64, 200, thinner), arch)
    assert fast.compute_cycles <= slow.compute_cycles
    assert fast.macs_effectual <= fast.macs_issued


@pytest.mark.parametrize(
    "fields",
    [
        {"dataflow": "os"},
        {"window_macs": 4, "window_slots": 3},
        {"array_cols": 2, "window_macs": 3, "window_axis": "n"},
        {"array_rows": 2, "window_macs": 3},
    ],
)
def test_bad_specs_are_refused(fields):
    from sod.arch.presets import architecture_from_dict

    with pytest.raises(ArchitectureError):
        architecture_from_dict({"kind": "vusa", **fields})


@given(
    b=st.integers(1, 4),
    p=st.integers(1, 3000),
    macs=st.integers(1, 4),
    extra=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_chain_in_segments_is_the_window_by_window_chain(b, p, macs, extra, seed):
    # The segment-parallel walk takes the windows the greedy chain takes one by one.
    rng = np.random.default_rng(seed)
    span_at = rng.integers(macs, macs + extra + 1, (b, p)).astype(np.uint8)
    span_at = np.minimum(span_at, p - np.arange(p)).astype(np.uint8)
    want = []
    for row in span_at:
        q, spans = 0, []
        while q < p:
            spans.append(int(row[q]))
            q += int(row[q])
        want.append(spans)
    width = max(len(s) for s in want)
    want_arr = np.array([s + [0] * (width - len(s)) for s in want])
    assert np.array_equal(_chain(span_at, macs), want_arr)


@given(
    g=st.integers(1, 3),
    m=st.integers(1, 700),
    k=st.integers(1, 20),
    n=st.integers(1, 70),
    period=st.integers(0, 300),
    dense_a=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_effectual_counts_equal_the_operand_masks(g, m, k, n, period, dense_a, seed):
    # Popcounted W rows and byte-wide A column sums give OperandMasks.effectual.
    rng = np.random.default_rng(seed)
    w = rng.random((g, k, n)) < 0.3
    tiling = (m, period) if 0 < period < m else None
    rows = period if tiling else m
    a = None if dense_a else rng.random((g, rows, k)) < 0.6
    masks = OperandMasks(w, a, 1, False, tiling if a is not None else None)
    w_rows = [np.packbits(wg, axis=1) for wg in w]
    assert _effectual(masks, m, w_rows) == masks.effectual(m)
