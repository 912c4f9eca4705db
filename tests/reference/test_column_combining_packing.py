"""Column combining: the vectorized packing (sod.mapping.column_combining) against its
re-derived reference, and the packed layout's arithmetic against A @ W."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.errors import ArchitectureError
from sod.mapping.column_combining import pack_columns, packed_tiles
from sod.reference.column_combining import pack_reference, packed_gemm

cases = st.tuples(
    st.integers(1, 40),  # k
    st.integers(1, 80),  # n
    st.floats(0.0, 1.0),  # density
    st.integers(1, 70),  # cols (above 64: two words per line)
    st.integers(1, 9),  # max_combine
    st.integers(1, 6),  # window
    st.integers(0, 2**31),  # seed
)


def _mask(k, n, d, seed):
    return np.random.default_rng(seed).random((k, n)) < d


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_packing_equals_reference(case):
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    assert (pack_columns(w, cols, g, win).group_of == pack_reference(w, cols, g, win)).all()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_packing_is_conflict_free_and_places_every_line_once(case):
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    p = pack_columns(w, cols, g, win)
    for t in range(p.tiles):
        sub = w[:, t * cols : (t + 1) * cols]
        nonempty = sub.any(axis=1)
        # Every non-empty line in exactly one group, empty lines nowhere.
        assert ((p.group_of[t] >= 0) == nonempty).all()
        grp = p.group_of[t][nonempty]
        if grp.size:
            assert set(np.unique(grp)) == set(range(int(grp.max()) + 1))  # numbered densely
            assert np.bincount(grp).max() <= g
            # Conflict-free: per group and column at most one non-zero.
            per = np.zeros((int(grp.max()) + 1, sub.shape[1]), np.int64)
            np.add.at(per, grp, sub[nonempty].astype(np.int64))
            assert per.max() <= 1


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases, st.integers(1, 6))
def test_packed_gemm_equals_matmul(case, m):
    k, n, d, cols, g, win, seed = case
    rng = np.random.default_rng(seed + 1)
    w = _mask(k, n, d, seed) * rng.integers(-9, 10, (k, n))
    a = rng.integers(-9, 10, (m, k))
    p = pack_columns(w != 0, cols, g, win)
    np.testing.assert_array_equal(packed_gemm(a, w, p.group_of, cols, g), a @ w)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases, st.integers(1, 40))
def test_packed_tiles_account_for_every_weight_and_line(case, rows):
    k, n, d, cols, g, win, seed = case
    w = _mask(k, n, d, seed)
    p = pack_columns(w, cols, g, win)
    pt = packed_tiles(w, p, rows)
    assert pt.nnz.sum() == np.count_nonzero(w)
    assert (pt.rows.sum(axis=1) == p.groups).all()
    assert (pt.members.sum(axis=1) == pt.lines).all()
    assert (pt.rows <= rows).all() and (pt.members <= g * pt.rows).all()


def test_hand_packed_example():
    # Lines alternate between the two columns: pairs combine, K' = k / 2 with g = 2.
    w = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 0], [1, 1]], bool)
    p = pack_columns(w, cols=2, max_combine=2, window=4)
    assert p.group_of.tolist() == [[0, 0, 1, 1, -1, 2]]
    assert p.members()[0].tolist() == [[0, 1], [2, 3], [5, -1]]
    # g = 1 packs nothing: every non-empty line is its own row.
    assert pack_columns(w, 2, 1, 4).groups.tolist() == [5]
    # Tiles of one column: the non-empty lines of a column all conflict, none combine.
    assert pack_columns(w, 1, 8, 4).groups.tolist() == [3, 3]


def test_window_one_is_next_fit():
    # Line 2 fits the first group but next-fit only looks at the newest open one.
    w = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], bool)
    assert pack_columns(w, 3, 4, 1).group_of.tolist() == [[0, 1, 1]]
    assert pack_columns(w, 3, 4, 2).group_of.tolist() == [[0, 1, 0]]


@pytest.mark.parametrize(
    "args", [(0, 8, 4), (4, 0, 4), (4, 8, 0), (4, 2.5, 4)], ids=["cols", "g", "window", "float"]
)
def test_bad_packing_arguments(args):
    with pytest.raises(ArchitectureError, match="column combining"):
        pack_columns(np.ones((4, 4), bool), *args)


@pytest.mark.parametrize(("k", "m"), [(128, 7), (256, 40), (64, 3)])
def test_packed_timing_equals_the_cycle_level_array(k, m):
    # Line i has its non-zero in column i mod 32 of both tiles: groups of g = 4 disjoint
    # lines, K' = k / 4 in every tile, so no fold is skipped and the column-combining model
    # must time the layer exactly as the cycle-level TPU array runs the m x K' x n packed
    # GEMM (sod.reference.systolic_tpu).
    from sod.arch.packing import ColumnCombiningArch
    from sod.designs import evaluate
    from sod.reference.systolic_tpu import run_dense_tpu
    from sod.workload.gemm import Gemm
    from sod.workload.mask import BitMask

    n = 64
    w = np.zeros((k, n), bool)
    w[np.arange(k), np.arange(k) % 32] = True
    w[np.arange(k), 32 + np.arange(k) % 32] = True
    arch = ColumnCombiningArch(array_rows=32, array_cols=32, max_combine=4, ideal_memory=True)
    gemm = Gemm("x", m, k, n, weight_mask=BitMask.from_bool(w), weight_density=float(w.mean()))
    counts = evaluate(gemm, arch)
    kp = k // 4
    assert counts.details["packed_rows"] == 2 * kp
    rng = np.random.default_rng(k)
    ref = run_dense_tpu(rng.integers(-5, 6, (m, kp)), rng.integers(-5, 6, (kp, n)), 32, 32, "ws")
    assert counts.compute_cycles == ref.cycles


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases, st.integers(1, 5), st.integers(1, 4))
def test_line_splitting_equals_reference_and_stays_exact(case, split_min, m):
    from sod.reference.column_combining import pack_reference_split

    k, n, d, cols, g, win, seed = case
    rng = np.random.default_rng(seed + 2)
    mask = _mask(k, n, d, seed)
    p = pack_columns(mask, cols, g, win, split_min)
    group_of, split_of, frag = pack_reference_split(mask, cols, g, win, split_min)
    assert (p.group_of == group_of).all()
    if g > 1:
        assert (p.split_of == split_of).all()
        frag_nnz = np.vectorize(lambda b: bin(int(b)).count("1"))(frag)
        assert (p.split_nnz == frag_nnz).all()
        assert (p.split_nnz[split_of >= 0] >= split_min).all()
        assert (split_of != group_of)[split_of >= 0].all()  # rest and fragment apart
    w = mask * rng.integers(-9, 10, (k, n))
    a = rng.integers(-9, 10, (m, k))
    # Raises on a conflict, a group above g members or a lost weight; else must be A @ W.
    got = packed_gemm(a, w, group_of, cols, g, split_of, frag)
    np.testing.assert_array_equal(got, a @ w)
    pt = packed_tiles(mask, p, 8)
    assert pt.nnz.sum() == np.count_nonzero(mask)
    assert (pt.members <= g * pt.rows).all()


def test_splitting_hand_case():
    # Line 1 conflicts with line 0 in column 0 only: with split_min = 1 its column-1
    # non-zero joins line 0's group, and its column-0 rest opens group 1.
    w = np.array([[1, 0, 0], [1, 1, 0]], bool)
    p = pack_columns(w, 3, 4, 4, split_min=1)
    assert p.group_of.tolist() == [[0, 1]] and p.split_of.tolist() == [[-1, 0]]
    assert p.split_nnz.tolist() == [[0, 1]]
    assert pack_columns(w, 3, 4, 4, split_min=2).split_of.tolist() == [[-1, -1]]
