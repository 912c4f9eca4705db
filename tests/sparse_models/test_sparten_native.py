"""SparTen's compiled kernels (sod._native, used by the model when built) against their
numpy twins: the same empty chunks (per pair, and summed per CU slot of both
orientations), per-slot matches, column counts and direct joins, bit for bit; the whole
model gives the same Counts with and without the extension, and equals the cycle-level
reference with more rows of A than the direct join takes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sparse_helpers import sparse_ints

from sod.arch.sparse import SparTenArch
from sod.models import memo, sparten
from sod.models.accelerators import transposed
from sod.models.fibers import DIRECT_ROWS, packed_col_counts, packed_empty_chunks
from sod.models.sparten import evaluate_sparten
from sod.reference.sparten import simulate_sparten
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

native = pytest.mark.skipif(sparten._NATIVE is None, reason="sod._native is not built")

cases = st.tuples(
    st.integers(1, 90),  # m (above DIRECT_ROWS: byte tables; else the direct join)
    st.integers(1, 400),  # k
    st.integers(1, 300),  # n (above 256: several blocks of filter words)
    st.floats(0.0, 1.0),  # density of A
    st.floats(0.0, 1.0),  # density of W
    st.sampled_from([8, 16, 24, 64, 128, 256, 264, 512, 5, 12]),  # chunk bits
    st.integers(0, 2**31),  # seed
)


def _operands(m, k, n, da, dw, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((m, k)) < da
    w = rng.random((k, n)) < dw
    if m > 2:  # rows and chunks of A with no set bit
        a[rng.random(m) < 0.2] = False
        a[:, : k // 3] &= rng.random((m, 1)) < 0.5
    return a, w, np.packbits(a, axis=1), np.packbits(w, axis=1)


def _matches(a, w):
    """A · W of bool masks (float64 BLAS: exact for these counts)."""
    return (a.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)


def _slot_maps(m, n, seed):
    rng = np.random.default_rng(seed + 1)
    col_slots, row_slots = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    return (
        rng.integers(0, col_slots, n),
        col_slots,
        rng.integers(0, row_slots, m),
        row_slots,
    )


def _check_kernels(m, k, n, da, dw, chunk, seed):
    a, w, fa, wp = _operands(m, k, n, da, dw, seed)
    want, want_matches = packed_empty_chunks(fa, wp, n, chunk)
    got, got_matches = sparten.empty_chunks(fa, wp, n, chunk)
    assert np.array_equal(got, want)
    if m <= DIRECT_ROWS:
        assert got_matches is not None and want_matches is not None
        assert np.array_equal(got_matches, want_matches)
        assert np.array_equal(got_matches, _matches(a, w))
    if chunk % 8 == 0:
        memo.clear_all()
        col_slot, col_slots, row_slot, row_slots = _slot_maps(m, n, seed)
        by_col, by_row = sparten.slot_empties(
            fa, wp, n, chunk, col_slot, col_slots, row_slot, row_slots
        )
        assert np.array_equal(by_col, sparten._slot_sums(want, col_slot, col_slots))
        assert np.array_equal(
            by_row, sparten._slot_sums(want, row_slot, row_slots, transposed=True)
        )
    # Per-slot matches of the GEMM and of its transpose.
    col_slot, col_slots, row_slot, row_slots = _slot_maps(m, n, seed)
    for slot_of, slots, rows in ((col_slot, col_slots, False), (row_slot, row_slots, True)):
        got_q = sparten._slot_matches(fa, wp, k, n, slot_of, slots, filters_are_rows=rows)
        want_q = sparten._slot_matches(
            fa, wp, k, n, slot_of, slots, filters_are_rows=rows, native=False
        )
        assert np.array_equal(got_q, want_q)
        pairs = _matches(a, w)
        assert np.array_equal(got_q, sparten._slot_sums(pairs, slot_of, slots, transposed=rows))
    # Column counts, whole and by group.
    cols = packed_col_counts(wp, k, n, 1)
    assert cols is not None
    assert np.array_equal(sparten._col_nnz(wp, k, n), cols[0])
    group = np.random.default_rng(seed).integers(-1, 5, m)
    by_group = sparten._group_col_counts(fa, k, group, 5)
    assert np.array_equal(by_group, np.stack([a[group == g].sum(axis=0) for g in range(5)]))


@native
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_compiled_kernels_equal_numpy(case):
    _check_kernels(*case)


@native
@pytest.mark.parametrize(
    ("m", "k", "n", "da", "dw", "chunk"),
    [
        (3000, 1200, 70, 0.5, 0.2, 128),  # many rows, one word of filters
        (700, 2304, 700, 0.3, 0.3, 128),  # blocks of 4 words and of 3
        (400, 4608, 520, 0.05, 0.05, 256),  # long chunks (byte groups carried), empties
        (200, 5000, 64, 0.9, 0.01, 2048),
        (1, 9000, 2000, 0.19, 0.04, 128),  # an FC layer: the direct join
        (20, 999, 333, 0.4, 0.4, 24),
    ],
)
def test_compiled_kernels_equal_numpy_on_large_masks(m, k, n, da, dw, chunk):
    _check_kernels(m, k, n, da, dw, chunk, m * k + n)


@native
def test_products_with_large_entries_and_slots():
    # Several uint16 passes (large per-slot counts), a slot count other than 32.
    rng = np.random.default_rng(5)
    for s, top in ((32, 3000), (7, 16), (33, 2)):
        a = rng.random((300, 1000)) < 0.6
        table = rng.integers(0, top + 1, (1000, s)).astype(np.int32)
        out = np.empty((300, s), np.int32)
        sparten._NATIVE.sparten_products(np.packbits(a, axis=1), 300, 1000, table, s, out)
        assert np.array_equal(out, a.astype(np.int64) @ table)


@native
def test_compiled_kernels_reject_buffers_that_do_not_match():
    nat = sparten._NATIVE
    fa = np.zeros((4, 2), np.uint8)
    wp = np.zeros((16, 1), np.uint8)
    out = np.zeros((4, 8), np.int32)
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_empty_chunks(fa, wp, 4, 15, 8, 128, out)  # k does not match
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_empty_chunks(fa, wp, 4, 16, 8, 12, out)  # chunk of part of a byte
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_direct(fa, wp, 4, 16, 8, 128, out, np.zeros((4, 7), np.int32))
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_col_counts(wp, 16, 1, np.zeros(15, np.int64), 1, np.zeros((1, 8), np.int64))
    with pytest.raises(ValueError, match="out of range"):
        nat.sparten_col_counts(wp, 16, 1, np.full(16, 2, np.int64), 2, np.zeros((2, 8), np.int64))
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_products(fa, 4, 16, np.zeros((16, 3), np.int32), 2, np.zeros((4, 2), np.int32))
    with pytest.raises(ValueError, match="too large"):
        nat.sparten_products(
            fa, 4, 16, np.full((16, 2), 1 << 15, np.int32), 2, np.zeros((4, 2), np.int32)
        )
    slot = np.zeros(8, np.int64)
    with pytest.raises(ValueError, match="out of range"):
        nat.sparten_slot_empty(
            fa, wp, 4, 16, 8, 128, slot + 3, 2, np.zeros((4, 2), np.int32),
            np.zeros(4, np.int64), 1, np.zeros((8, 1), np.int32),
        )  # fmt: skip
    with pytest.raises(ValueError, match="buffer sizes"):
        nat.sparten_slot_empty(
            fa, wp, 4, 16, 8, 128, slot, 2, np.zeros((4, 3), np.int32),
            np.zeros(4, np.int64), 1, np.zeros((8, 1), np.int32),
        )  # fmt: skip


def _evaluate_both_ways(gemm, arch, w, a, monkeypatch):
    """Counts of a GEMM and of its transposed evaluation, with the compiled kernels and
    with the numpy twins (the extension monkeypatched away)."""
    runs = []
    for nat in (sparten._NATIVE, None):
        with monkeypatch.context() as patch:
            patch.setattr(sparten, "_NATIVE", nat)
            memo.clear_all()
            runs.append(
                (evaluate_sparten(gemm, arch, w, a), transposed(evaluate_sparten)(gemm, arch, w, a))
            )
    return runs


@native
@pytest.mark.parametrize("balance", ["gb-s", "none"])
@pytest.mark.parametrize(("m", "k", "n", "chunk"), [(600, 700, 90, 128), (40, 300, 700, 64)])
def test_model_counts_same_without_the_extension(m, k, n, chunk, balance, monkeypatch):
    rng = np.random.default_rng(m + n)
    a = rng.random((m, k)) < 0.4
    a[: m // 4] = False
    w = rng.random((k, n)) < 0.3
    arch = SparTenArch(clusters=8, units_per_cluster=8, chunk_bits=chunk, load_balance=balance)
    gemm = Gemm("g", m, k, n)
    for masks in ((w, a), (BitMask.from_bool(w), BitMask.from_bool(a))):
        with_native, without = _evaluate_both_ways(gemm, arch, *masks, monkeypatch)
        assert with_native == without


def test_numpy_path_runs_without_the_extension(monkeypatch):
    # More rows than the direct join: byte tables, per-slot sums and products in numpy.
    monkeypatch.setattr(sparten, "_NATIVE", None)
    memo.clear_all()
    rng = np.random.default_rng(3)
    a = sparse_ints(rng, (40, 70), 0.5)
    w = sparse_ints(rng, (70, 9), 0.4)
    arch = SparTenArch(clusters=3, units_per_cluster=4, chunk_bits=16)
    counts = evaluate_sparten(Gemm("t", 40, 70, 9), arch, w != 0, a != 0)
    run = simulate_sparten(a[None], w, arch)
    assert counts.cycles == run.cycles and counts.macs_effectual == run.macs


@pytest.mark.parametrize("seed", range(4))
def test_model_equals_reference_with_many_rows(seed):
    # Rows of A above DIRECT_ROWS (the byte-table and per-slot kernels, compiled when
    # built), in both orientations of the cluster split.
    rng = np.random.default_rng(100 + seed)
    m, k, n = int(rng.integers(33, 80)), int(rng.integers(1, 150)), int(rng.integers(1, 30))
    a = sparse_ints(rng, (1, m, k), float(rng.random()))
    w = sparse_ints(rng, (k, n), float(rng.random()))
    arch = SparTenArch(
        clusters=int(rng.integers(1, 6)),
        units_per_cluster=int(rng.integers(1, 6)),
        chunk_bits=int(rng.choice([8, 16, 32, 12])),
        load_balance=str(rng.choice(["gb-s", "none"])),
    )
    memo.clear_all()
    counts = evaluate_sparten(Gemm("t", m, k, n), arch, w != 0, a != 0)
    run = simulate_sparten(a, w, arch)
    assert counts.cycles == run.cycles
    assert counts.macs_effectual == run.macs
