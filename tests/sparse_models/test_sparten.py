"""SparTen: the analytic model equals the cycle-level reference; work comes from masks."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparse_helpers import sparse_ints

from sod.arch.sparse import SparTenArch
from sod.errors import WorkloadError
from sod.mapping.sparten import sparten_mapping
from sod.models.sparten import evaluate_sparten, pair_cycles
from sod.reference.sparten import simulate_sparten
from sod.workload.gemm import Gemm


@pytest.mark.parametrize("density", [(0.1, 0.3), (0.5, 0.5), (0.9, 0.8), (0.3, 1.0)])
@pytest.mark.parametrize("balance", ["none", "gb-s"])
def test_model_equals_reference(density, balance):
    # A stable seed (Python's hash() of strings changes from process to process).
    rng = np.random.default_rng(zlib.crc32(repr((density, balance)).encode()))
    for _ in range(3):
        m, k, n = (int(x) for x in rng.integers(1, 24, 3))
        k = int(rng.integers(1, 90))
        reps = int(rng.integers(1, 3))
        a = sparse_ints(rng, (reps, m, k), density[1])
        w = sparse_ints(rng, (k, n), density[0])
        arch = SparTenArch(
            clusters=int(rng.integers(1, 6)),
            units_per_cluster=int(rng.integers(1, 6)),
            chunk_bits=int(rng.choice([8, 16, 32])),
            load_balance=balance,
        )
        counts = evaluate_sparten(Gemm("t", m, k, n, repeat=reps), arch, w != 0, a != 0)
        run = simulate_sparten(a, w, arch)
        assert np.array_equal(run.output, a @ w)
        assert counts.cycles == run.cycles
        assert counts.macs_effectual == counts.macs_issued == run.macs
        chunks = -(-k // arch.chunk_bits)
        assert counts.actions["prefix_sum_bits"] == reps * m * n * chunks * 2 * arch.chunk_bits
        assert counts.actions["glb_write_bits.out"] == reps * m * n * arch.value_bits
        assert 0 <= counts.effective_utilization <= 1
        assert (counts.effective_utilization > 0) == (counts.macs_effectual > 0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 200),
    st.integers(1, 6),
    st.sampled_from([4, 16, 64]),
    st.integers(0, 2**32 - 1),
)
def test_pair_cycles_is_matches_plus_empty_chunks(m, k, n, chunk, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((m, k)) < rng.random()
    w = rng.random((k, n)) < rng.random()
    want = np.zeros((m, n), np.int64)
    for lo in range(0, k, chunk):
        q = a[:, lo : lo + chunk].astype(int) @ w[lo : lo + chunk].astype(int)
        want += np.maximum(q, 1)
    assert np.array_equal(pair_cycles(a, w, chunk), want)


def test_imbalance_comes_from_the_masks():
    # Same density, different placement: one CU gets all the work, or it is spread.
    k, n = 64, 8
    arch = SparTenArch(clusters=1, units_per_cluster=4, chunk_bits=16, load_balance="none")
    a = np.ones((4, k), bool)
    w_skew = np.zeros((k, n), bool)
    w_skew[:, [0, 4]] = True  # filters 0 and 4 both land on CU 0 (round-robin)
    w_even = np.zeros((k, n), bool)
    w_even[:, [0, 1]] = True
    g = Gemm("t", 4, k, n)
    skew = evaluate_sparten(g, arch, w_skew, a)
    even = evaluate_sparten(g, arch, w_even, a)
    assert skew.macs_effectual == even.macs_effectual
    assert skew.cycles > even.cycles
    # GB-S separates the two dense filters.
    gbs = evaluate_sparten(g, arch.model_copy(update={"load_balance": "gb-s"}), w_skew, a)
    assert gbs.cycles == even.cycles


def test_gbs_deals_dense_and_sparse_filters_together():
    w = np.zeros((10, 8), bool)
    for f in range(8):
        w[: f + 1, f] = True  # filter f has f+1 non-zeros
    mp = sparten_mapping(64, w, SparTenArch(clusters=32, units_per_cluster=4))
    loads = np.bincount(mp.slot_of_filter, weights=w.sum(0), minlength=4)
    assert loads.max() - loads.min() == 0  # (8+1), (7+2), (6+3), (5+4)


def test_fc_rows_fewer_than_clusters_spread_filters():
    mp = sparten_mapping(1, np.ones((4, 100), bool), SparTenArch(clusters=8))
    assert (mp.row_groups, mp.filter_groups) == (1, 8)
    assert mp.slot_of_filter.max() < 8 * 32


def test_bad_mask_shape_is_a_clear_error():
    g = Gemm("layer1", 4, 8, 2)
    with pytest.raises(WorkloadError, match=r"layer1.*weight_mask.*shape"):
        evaluate_sparten(g, SparTenArch(), np.ones((8, 3), bool), np.ones((4, 8), bool))
    with pytest.raises(WorkloadError, match="act_mask is required"):
        evaluate_sparten(g, SparTenArch(), np.ones((8, 2), bool), None)


def test_shared_masks_cost_the_same_as_stacked_copies():
    # One representative mask for all repeats (attention heads) is evaluated once and
    # scaled; it must equal evaluating every identical repeat.
    from sod.arch.sparse import IndexMatchArch, SCNNArch
    from sod.models.index_match import evaluate_index_match
    from sod.models.scnn import evaluate_scnn

    rng = np.random.default_rng(4)
    g = Gemm("heads", 9, 20, 7, repeat=3)
    w, a = rng.random((20, 7)) < 0.4, rng.random((9, 20)) < 0.6
    w3, a3 = np.stack([w] * 3), np.stack([a] * 3)
    for fn, arch in (
        (evaluate_sparten, SparTenArch(clusters=2, units_per_cluster=3)),
        (evaluate_index_match, IndexMatchArch(pe_rows=2, pe_cols=2)),
        (evaluate_scnn, SCNNArch(pe_rows=2, pe_cols=2)),
    ):
        one, many = fn(g, arch, w, a), fn(g, arch, w3, a3)
        assert one.cycles == many.cycles > 0
        assert one.macs_issued == many.macs_issued
        assert one.actions == many.actions


@pytest.mark.parametrize("seed", range(4))
def test_transposed_views_equal_transposed_copies(seed):
    # The kernels run a transposed GEMM (operands passed as transposed views) on the
    # untransposed operands; Counts must equal the same GEMM given as contiguous copies,
    # for few rows (pair matches with the kernel) and many (slot products, byte tables).
    from sod.models import sparten
    from sod.models.accelerators import transposed

    rng = np.random.default_rng(seed)
    for m in (1, 3, 40):
        k, n = int(rng.integers(1, 300)), int(rng.integers(1, 60))
        a, w = rng.random((m, k)) < rng.random(), rng.random((k, n)) < rng.random()
        arch = SparTenArch(
            clusters=int(rng.integers(1, 8)),
            units_per_cluster=int(rng.integers(1, 6)),
            chunk_bits=int(rng.choice([8, 16, 128, 13])),
        )
        sparten.pair_cycles.cache_clear()
        flip = transposed(evaluate_sparten)(Gemm("t", m, k, n), arch, w, a)
        sparten.pair_cycles.cache_clear()
        copy = evaluate_sparten(
            Gemm("t", n, k, m), arch, np.ascontiguousarray(a.T), np.ascontiguousarray(w.T)
        )
        assert flip.cycles == copy.cycles
        assert flip.details["cu_busy_fraction"] == copy.details["cu_busy_fraction"]
        assert flip.macs_effectual == copy.macs_effectual
        swap = {"act": "weight", "weight": "act"}
        for key, value in copy.actions.items():
            base, _, op = key.partition(".")
            assert flip.actions[f"{base}.{swap.get(op, op)}" if op else key] == value
