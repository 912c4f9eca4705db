"""Kernels that bound their scratch memory by working in chunks (issue 13 item 6): any
chunk size gives the result of one whole-array pass, and the packed-bit counts equal the
bool ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.compiler import reorder
from sod.models import decompressor, nm_systolic, systolic_steps, vusa
from sod.models.fibers import packed_col_counts, packed_row_counts
from sod.models.operands import operand_masks
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

SETTINGS = settings(max_examples=25, deadline=None)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_nm_conformance_in_span_chunks(g, k, n, seed):
    w = np.random.default_rng(seed).random((g, k, n)) < 0.4
    whole = nm_systolic.nm_conformance(w, 4, 3, 2, 4)
    saved = nm_systolic._CHUNK_ELEMENTS
    try:
        nm_systolic._CHUNK_ELEMENTS = 1  # one span at a time
        part = nm_systolic.nm_conformance(w, 4, 3, 2, 4)
    finally:
        nm_systolic._CHUNK_ELEMENTS = saved
    for field in ("conformant", "max_per_group", "span_rows", "tile_cols"):
        assert np.array_equal(getattr(part, field), getattr(whole, field)), field


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_vusa_windows_of_blocks_copied_per_chunk(g, p, lines, seed):
    w = np.random.default_rng(seed).random((g, p, lines)) < 0.5
    vusa.pack_windows.cache_clear()
    whole = vusa.pack_windows(w, 4, 5, 3)
    saved = vusa._CHUNK_ELEMENTS
    try:
        vusa._CHUNK_ELEMENTS = 1  # the per-chunk copy path, one block per chunk
        vusa.pack_windows.cache_clear()
        part = vusa.pack_windows(w, 4, 5, 3)
    finally:
        vusa._CHUNK_ELEMENTS = saved
        vusa.pack_windows.cache_clear()
    assert np.array_equal(part, whole)


@pytest.mark.parametrize("block", [1, 7, 1 << 22])
def test_reorder_apply_in_row_blocks(block, monkeypatch):
    rng = np.random.default_rng(block)
    w = rng.integers(-3, 4, (2, 23, 17))
    perm = reorder.Reorder(rng.permutation(23), rng.permutation(17))
    monkeypatch.setattr(reorder, "_APPLY_BLOCK_ELEMENTS", block)
    want = w[:, perm.rows][:, :, perm.cols]
    assert np.array_equal(perm.apply(w), want)
    out = np.empty_like(w[0])
    assert perm.apply(w[1], out=out) is out and np.array_equal(out, want[1])
    assert np.array_equal(perm.restore(perm.apply(w[0])), w[0])
    mask = w[0] > 0
    assert np.array_equal(perm.apply_in_place(mask.copy()), perm.apply(mask))


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_reorder_search_in_chunks(dataflow, monkeypatch):
    # The layout search's permuted block patterns, taken a chunk at a time, give the same
    # permutations and costs as whole-mask ones.
    rng = np.random.default_rng(len(dataflow))
    mask = rng.random((45, 38)) < 0.15
    mask[:, 5:9] = False
    whole = reorder.weight_reorder(mask, 4, 3, dataflow, "sort")
    monkeypatch.setattr(reorder, "_APPLY_BLOCK_ELEMENTS", 1)
    part = reorder.weight_reorder(mask, 4, 3, dataflow, "sort")
    assert np.array_equal(part.rows, whole.rows) and np.array_equal(part.cols, whole.cols)
    for r in (whole, reorder.identity(45, 38)):
        cost = reorder._cost(mask, r.rows, r.cols, 4, 3, dataflow)
        assert cost == reorder.skip_cost(r.apply(mask), 4, 3, dataflow)


@SETTINGS
@given(st.integers(1, 50), st.integers(0, 9), st.integers(0, 2**32 - 1))
def test_emit_cycles_in_stream_blocks(streams, vectors, seed):
    rng = np.random.default_rng(seed)
    need = np.cumsum(rng.integers(0, 90, (streams, vectors)), axis=1)
    whole = decompressor.emit_cycles(need, 32)
    saved = decompressor._CHUNK_ELEMENTS
    try:
        decompressor._CHUNK_ELEMENTS = 0  # one stream at a time
        part = decompressor.emit_cycles(need, 32)
    finally:
        decompressor._CHUNK_ELEMENTS = saved
    for field in ("emit_cycles", "cycles", "stall_cycles"):
        assert np.array_equal(getattr(part, field), getattr(whole, field)), field


@SETTINGS
@given(
    st.integers(1, 4),
    st.integers(1, 20),
    st.integers(1, 30),
    st.booleans(),
    st.integers(1, 300),
    st.integers(0, 2**32 - 1),
)
def test_packed_counts_equal_bool_counts(groups, rows, cols, shared, block, seed):
    x = np.random.default_rng(seed).random(((1 if shared else groups) * rows, cols)) < 0.4
    packed = np.packbits(x, axis=1)
    stacked = np.broadcast_to(x, (groups, rows, cols)) if shared else x.reshape(groups, rows, cols)
    assert np.array_equal(packed_row_counts(packed, rows, groups), stacked.sum(axis=2))
    assert np.array_equal(packed_col_counts(packed, rows, cols, groups, block), stacked.sum(axis=1))
    assert packed_row_counts(packed, rows + 1, groups) is None or rows + 1 == x.shape[0]


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 12),
    st.booleans(),
    st.sampled_from(["stacked", "shared", "dense"]),
    st.integers(0, 2**32 - 1),
)
def test_effectual_of_packed_masks_equals_bool_masks(repeat, m, k, n, w_stacked, act, seed):
    # A dense array's effectual MACs, counted on the packed masks, equal the count on
    # operand_masks' bool arrays (every shared/stacked combination).
    rng = np.random.default_rng(seed)
    w = BitMask.from_bool(rng.random(((repeat if w_stacked else 1) * k, n)) < 0.5)
    a = None
    if act != "dense":
        a = BitMask.from_bool(rng.random(((repeat if act == "stacked" else 1) * m, k)) < 0.6)
    gemm = Gemm("t", m, k, n, repeat=repeat, weight_mask=w, act_mask=a)
    masks = operand_masks(gemm)
    want = systolic_steps._effectual(masks.weight, masks.act, m)
    systolic_steps._effectual_packed.cache_clear()
    assert systolic_steps._effectual_of_gemm(gemm) == want


@SETTINGS
@given(st.integers(1, 50), st.integers(0, 9), st.integers(0, 2), st.integers(0, 2**32 - 1))
def test_stream_cycles_equal_emit_cycles(streams, vectors, chunk, seed):
    rng = np.random.default_rng(seed)
    need = np.cumsum(rng.integers(0, 90, (streams, vectors)), axis=1)
    timing = decompressor.emit_cycles(need, 64)
    saved = decompressor._CHUNK_ELEMENTS
    try:
        decompressor._CHUNK_ELEMENTS = [0, 7, 1 << 18][chunk]
        cycles, stalls = decompressor.stream_cycles(need, 64)
    finally:
        decompressor._CHUNK_ELEMENTS = saved
    assert np.array_equal(cycles, timing.cycles)
    assert np.array_equal(stalls, timing.stall_cycles)


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(1, 30),
    st.sampled_from([1, 5, 8, 12, 16, 31, 64, 70, 130]),
    st.integers(1, 6),
    st.integers(0, 4),
    st.integers(0, 2**32 - 1),
)
def test_widest_spans_bit_sliced_counts_match_definition(b, p, lines, macs, extra, seed):
    # Lines packed into 8- to 64-bit words (several words past 64 lines), counted
    # bit-sliced, give the definition: the widest v <= slots with at most macs non-zeros
    # on every line of [q, q + v).
    slots = macs + extra
    t = np.random.default_rng(seed).random((b, p, lines)) < 0.3
    want = np.empty((b, p), np.int64)
    for i in range(b):
        for q in range(p):
            v = macs
            while v < slots and (t[i, q : q + v + 1].sum(axis=0) <= macs).all():
                v += 1
            want[i, q] = min(v, p - q)
    assert np.array_equal(vusa.widest_spans(t, slots, macs), want)


def test_reordered_layer_in_place_equals_copy():
    # Layer.reordered(consume=True) permutes its own masks in place: the same layer.
    from sod.arch.presets import load_arch
    from sod.models.systolic_options import Layer, SystolicOptions

    rng = np.random.default_rng(5)
    w = BitMask.from_bool(rng.random((70, 50)) < 0.1)
    a = BitMask.from_bool(rng.random((6, 70)) < 0.5)
    gemm = Gemm("fc", 6, 70, 50, weight_mask=w, act_mask=a)
    opts = SystolicOptions.from_arch(load_arch("sparse-on-dense-reorder", dataflow="ws"))
    copied = Layer.of(gemm, opts).reordered(opts)
    layer = Layer.of(gemm, opts)
    moved = layer.reordered(opts, consume=True)
    assert copied is not None and moved is not None
    assert moved.masks.weight is layer.masks.weight  # permuted in place
    assert np.array_equal(moved.masks.weight, copied.masks.weight)
    assert np.array_equal(moved.masks.act, copied.masks.act)
