"""The N:M systolic array (kind nm_systolic): model vs. the reference array, vs. the dense
array on K·N/M (SCALE-Sim v3's sparse mode), fallback on unstructured masks, storage."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.arch.presets import load_arch
from sod.designs import evaluate
from sod.errors import ArchitectureError
from sod.models.nm_systolic import nm_conformance
from sod.reference.nm_systolic import NMError, compress_nm, run_nm
from sod.sparsity.prune import prune_n_m
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

NM = st.sampled_from([(1, 2), (2, 4), (1, 4), (2, 8), (4, 8)])
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def _arch(rows, cols, n_keep=2, m_group=4, **kw):
    return load_arch(
        "nm-systolic",
        array_rows=rows,
        array_cols=cols,
        n_keep=n_keep,
        m_group=m_group,
        ideal_memory=True,
        **kw,
    )


def _nm_weights(rng, k, n, n_keep, m_group):
    w = rng.integers(-9, 10, (k, n))
    w[w == 0] = 1
    return np.where(prune_n_m(rng.random((k, n)), n_keep, m_group), w, 0)


def _gemm(m, w):
    return Gemm("g", m, w.shape[0], w.shape[1], weight_mask=BitMask.from_bool(w != 0))


@SETTINGS
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 90),
    n=st.integers(1, 20),
    half_rows=st.integers(1, 6),
    cols=st.integers(1, 8),
    nm=NM,
    timing=st.sampled_from(["tpu", "scalesim"]),
    seed=st.integers(0, 999),
)
def test_nm_masks_run_like_dense_with_k_scaled_by_n_over_m(
    m, k, n, half_rows, cols, nm, timing, seed
):
    """SCALE-Sim v3's sparse mode: an N:M-pruned layer takes the dense array's cycles on
    K·N/M (rows a multiple of N, so no PE row idles)."""
    n_keep, m_group = nm
    rows = half_rows * n_keep
    w = _nm_weights(np.random.default_rng(seed), k, n, n_keep, m_group)
    got = evaluate(_gemm(m, w), _arch(rows, cols, n_keep, m_group, timing=timing))
    dense = load_arch(
        "dense", array_rows=rows, array_cols=cols, dataflow="ws", ideal_memory=True, timing=timing
    )
    k_eff = -(-k * n_keep // m_group)
    want = evaluate(Gemm("h", m, k_eff, n), dense)
    assert got.compute_cycles == want.compute_cycles
    assert got.details["nm_conformant_tiles"] == got.details["nm_tiles"]
    assert got.macs_dense == m * k * n


@SETTINGS
@given(
    m=st.integers(1, 30),
    k=st.integers(1, 70),
    n=st.integers(1, 14),
    rows=st.integers(1, 9),
    cols=st.integers(1, 6),
    nm=NM,
    density=st.floats(0.05, 1.0),
    structured=st.floats(0, 1),
    fallback=st.sampled_from(["dense", "split"]),
    seed=st.integers(0, 999),
)
def test_model_equals_reference_array(m, k, n, rows, cols, nm, density, structured, fallback, seed):
    """Mixed masks (some spans N:M, some not): the model's folds and TPU cycles equal the
    reference array's, and the reference's output (values through the muxes) is A·W."""
    n_keep, m_group = nm
    if rows < n_keep:
        rows = n_keep
    rng = np.random.default_rng(seed)
    w = _nm_weights(rng, k, n, n_keep, m_group)
    loose = rng.integers(-9, 10, (k, n)) * (rng.random((k, n)) < density)
    # Unstructured in the first rows only: later spans stay N:M.
    cut = int(structured * k)
    w[:cut] = loose[:cut]
    a = rng.integers(-9, 10, (m, k))
    ref = run_nm(a, w, rows, cols, n_keep, m_group, fallback)
    np.testing.assert_array_equal(ref.output, a @ w)
    got = evaluate(_gemm(m, w), _arch(rows, cols, n_keep, m_group, fallback=fallback))
    assert got.compute_cycles == ref.cycles
    assert got.details["folds"] == ref.folds
    assert got.details["nm_folds"] == ref.folds_nm


@SETTINGS
@given(
    m=st.integers(1, 30),
    groups=st.integers(1, 4),
    n=st.integers(1, 12),
    half_rows=st.integers(1, 4),
    cols=st.integers(1, 6),
    seed=st.integers(0, 999),
)
def test_split_fallback_runs_4_8_masks_on_a_2_8_array_in_two_folds(
    m, groups, n, half_rows, cols, seed
):
    """fallback: split on a 2:8 array: a 4:8 mask takes the dense array's cycles on K/2
    (two 2:8 folds per span), where fallback: dense takes K (four dense folds). (A partial
    last span still pays ceil(c / N) folds: the property needs whole spans.)"""
    # whole spans of (R / 2)·8 k-indices; each group holds exactly 4 non-zeros
    rows, k = 2 * half_rows, half_rows * 8 * groups
    w = _nm_weights(np.random.default_rng(seed), k, n, 4, 8)
    split = evaluate(_gemm(m, w), _arch(rows, cols, 2, 8, fallback="split"))
    dense = load_arch("dense", array_rows=rows, array_cols=cols, dataflow="ws", ideal_memory=True)
    assert split.compute_cycles == evaluate(Gemm("h", m, k // 2, n), dense).compute_cycles
    plain = evaluate(_gemm(m, w), _arch(rows, cols, 2, 8))
    assert plain.compute_cycles == evaluate(Gemm("h", m, k, n), dense).compute_cycles


def test_unstructured_masks_fall_back_to_the_dense_array():
    rng = np.random.default_rng(3)
    k, n, m = 256, 64, 50
    w = rng.random((k, n)) < 0.5  # random 50 %: some group of 4 has 3 or 4 non-zeros
    g = Gemm("u", m, k, n, weight_mask=BitMask.from_bool(w))
    got = evaluate(g, _arch(16, 16))
    dense = evaluate(
        Gemm("u", m, k, n),
        load_arch("dense", array_rows=16, array_cols=16, dataflow="ws", ideal_memory=True),
    )
    assert got.details["nm_conformant_tiles"] == 0
    assert got.compute_cycles == dense.compute_cycles
    assert got.details["weight_bits_stored"] == k * n * 8


def test_storage_and_macs_of_a_2_4_layer():
    rng = np.random.default_rng(1)
    k, n, m = 128, 40, 30
    w = _nm_weights(rng, k, n, 2, 4)
    got = evaluate(_gemm(m, w), _arch(8, 8))
    # values + 2-bit indices for k/2 rows; every PE of an N:M fold multiplies a kept weight
    assert got.details["weight_bits_stored"] == (k // 2) * n * (8 + 2)
    assert got.macs_issued == m * (k // 2) * n
    assert got.macs_effectual == m * int((w != 0).sum())
    assert got.actions["pe_reg_bits.act"] == got.macs_issued * 8 * 4  # M activations shift


def test_attention_operands_are_never_compressed():
    a = Gemm("qk", 64, 64, 64, w_is_weight=False, weight_density=0.5)
    w = np.zeros((64, 64), bool)
    w[::2] = True  # 2:4-shaped, but an activation: not known before run time
    b = Gemm("qk", 64, 64, 64, w_is_weight=False, weight_mask=BitMask.from_bool(w))
    for g in (a, b):
        assert evaluate(g, _arch(8, 8)).details["nm_conformant_tiles"] == 0


def test_conformance_is_per_span_and_column_tile():
    w = np.zeros((1, 16, 8), bool)
    w[0, ::2] = True  # 2:4 everywhere
    w[0, 8:12, 5] = True  # 4 of 4 in span 1 (k 8..15), column tile 1 (cols 4..7)
    t = nm_conformance(w, rows=4, cols=4, n_keep=2, m_group=4)  # span = 8
    assert t.conformant[0].tolist() == [[True, True], [True, False]]


def test_compress_nm_round_trip_and_errors():
    tile = np.array([[0, 3], [5, 0], [0, 0], [7, 2]])
    vals, idx = compress_nm(tile, 2, 4)
    assert vals.tolist() == [[5, 3], [7, 2]] and idx.tolist() == [[1, 0], [3, 3]]
    with pytest.raises(NMError):
        compress_nm(np.ones((4, 1)), 2, 4)
    with pytest.raises(NMError):
        compress_nm(np.ones((3, 1)), 2, 4)


@pytest.mark.parametrize(
    "fields, needle",
    [
        ({"n_keep": 5, "m_group": 4}, "at most M"),
        ({"m_group": 6}, "power of 2"),
        ({"dataflow": "os"}, "weight stationary"),
        ({"n_keep": 4, "m_group": 8, "array_rows": 2}, "array rows"),
    ],
)
def test_bad_specs_give_one_line_errors(fields, needle):
    with pytest.raises(ArchitectureError, match=needle) as err:
        load_arch("nm-systolic", **fields)
    assert "\n" not in str(err.value)


def test_auto_dataflow_means_ws():
    assert str(load_arch("nm-systolic", dataflow="auto").dataflow) == "ws"


def test_glb_bandwidth_need_is_m_over_n_wider_on_the_activation_edge():
    from sod.designs import design_of

    nm = load_arch("nm-systolic")  # 32x32, 2:4
    assert design_of(nm).glb_bandwidth_bits_per_cycle(nm) == 16 * 4 * 8 + 32 * (8 + 2)
    dense = load_arch("dense", dataflow="ws")
    assert design_of(dense).glb_bandwidth_bits_per_cycle(dense) == 32 * 8 + 32 * 8


def test_a_resized_array_with_fewer_rows_than_n_is_a_one_line_error():
    arch = load_arch("nm-systolic").model_copy(update={"array_rows": 1})  # no validation
    with pytest.raises(ArchitectureError, match="at least N=2 rows"):
        evaluate(Gemm("g", 4, 8, 4), arch)
