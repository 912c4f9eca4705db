"""SCNN's accumulator capacity: Kc per layer and sub-tile passes (mapping.scnn
accumulator_tiling), model against the cycle-level reference."""

import numpy as np
import pytest
from sparse_helpers import sparse_ints, unfold

from sod.arch.presets import load_arch
from sod.arch.sparse import SCNNArch
from sod.designs import evaluate
from sod.errors import ArchitectureError
from sod.mapping.scnn import accumulator_capacity, accumulator_tiling, scnn_plane
from sod.models.scnn import evaluate_scnn
from sod.reference.scnn import simulate_scnn
from sod.workload.gemm import conv2d, linear
from sod.workload.mask import BitMask


@pytest.mark.parametrize("entries", [3, 4, 8, 64])
def test_passes_and_kc_model_equals_reference(entries):
    rng = np.random.default_rng(entries)
    g = conv2d("c", 9, 10, 2, 6, 3, padding=1)
    fmap = sparse_ints(rng, (1, 2, 9, 10), 0.6)
    a, w = unfold(fmap, g), sparse_ints(rng, (g.k, g.n), 0.5)
    arch = SCNNArch(
        pe_rows=2, pe_cols=1, mult_f=2, mult_i=2, accumulator_banks=4, accumulator_entries=entries
    )
    counts = evaluate_scnn(g, arch, w != 0, a != 0, conflict_cycles=1 << 20)
    run = simulate_scnn(g, arch, w, a)
    assert np.array_equal(run.output[0], a @ w)
    assert counts.cycles == run.cycles
    assert counts.macs_issued == run.products
    cap = accumulator_capacity(arch)
    assert run.most_partial_sums <= cap
    tiling = accumulator_tiling(scnn_plane(g), arch)
    assert counts.details["tile_passes"] == tiling.passes
    assert counts.details["out_channel_group"] == tiling.out_channel_group
    if entries <= 4:
        assert tiling.passes > 1  # a 5x10 tile's outputs do not fit 12 or 16 sums
    # Kc is the largest that fits: one more channel would not.
    kc = tiling.out_channel_group
    assert kc * tiling.positions <= cap
    assert kc == g.n or (kc + 1) * tiling.positions > cap


def test_more_accumulator_entries_never_slow_scnn_down():
    rng = np.random.default_rng(5)
    g = conv2d("c", 12, 12, 4, 16, 3, padding=1)
    fmap = sparse_ints(rng, (1, 4, 12, 12), 0.5)
    a, w = unfold(fmap, g) != 0, sparse_ints(rng, (g.k, g.n), 0.5) != 0
    base = SCNNArch(pe_rows=2, pe_cols=2, crossbar_buffering="deep")
    runs = [
        evaluate_scnn(g, base.model_copy(update={"accumulator_entries": e}), w, a)
        for e in (1, 4, 32)
    ]
    cycles = [c.cycles for c in runs]
    sends = [c.actions["glb_read_bits.act"] for c in runs]
    # Bigger buffers: larger Kc, fewer passes -> fewer input re-reads.
    assert sends[0] >= sends[1] >= sends[2]
    assert cycles[0] >= cycles[2]


def test_fixed_kc_that_cannot_fit_is_a_clear_error():
    g = conv2d("c", 8, 8, 2, 8, 3, padding=1)
    arch = SCNNArch(accumulator_banks=1, accumulator_entries=8, out_channel_group=2)
    with pytest.raises(ArchitectureError, match="accumulator capacity"):
        accumulator_tiling(scnn_plane(g), arch)


def test_channel_split_needs_its_plane_in_the_accumulators():
    fc = linear("fc", 64, 32, tokens=200)
    arch = SCNNArch(accumulator_banks=4, accumulator_entries=32, fc_mapping="channels")
    with pytest.raises(ArchitectureError, match="fc_mapping 'channels'"):
        accumulator_tiling(scnn_plane(fc), arch)
    # The design's search then keeps to the plane mapping.
    rng = np.random.default_rng(0)
    w, a = rng.random((64, 32)) < 0.5, rng.random((200, 64)) < 0.5
    fc = fc.with_(weight_mask=BitMask.from_bool(w), act_mask=BitMask.from_bool(a))
    c = evaluate(fc, load_arch("scnn", accumulator_banks=4))
    assert c.details["mapping"] == "fc=plane"


def test_input_tiles_that_fit_the_iaram_are_sent_once():
    rng = np.random.default_rng(9)
    g = conv2d("c", 8, 8, 4, 24, 3, padding=1)
    fmap = sparse_ints(rng, (1, 4, 8, 8), 0.5)
    a, w = unfold(fmap, g) != 0, sparse_ints(rng, (g.k, g.n), 0.5) != 0
    arch = SCNNArch(pe_rows=2, pe_cols=2, out_channel_group=4, value_bits=8)
    nnz_in = int((fmap != 0).sum())
    groups = 24 // 4
    big = evaluate_scnn(g, arch.model_copy(update={"iaram_bytes": 1 << 20}), w, a)
    tiny = evaluate_scnn(g, arch.model_copy(update={"iaram_bytes": 1}), w, a)
    assert big.actions["glb_read_bits.act"] == nnz_in * 8
    assert tiny.actions["glb_read_bits.act"] == groups * nnz_in * 8
    assert big.cycles == tiny.cycles  # traffic only; the DRAM/GLB stalls come later
