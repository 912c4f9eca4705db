"""SCNN: the analytic model equals the cycle-level reference (bank conflicts exact on small
layers; within a stated tolerance when sampled), and its geometry is right."""

import zlib

import numpy as np
import pytest
from sparse_helpers import sparse_ints, unfold

from sod.arch.sparse import SCNNArch
from sod.errors import WorkloadError
from sod.mapping.scnn import fold_im2col, im2col, im2col_counts, scnn_plane
from sod.models import scnn_banks
from sod.models.scnn import evaluate_scnn
from sod.reference.scnn import simulate_scnn
from sod.workload.gemm import conv2d, linear
from sod.workload.mask import BitMask

#: Stated accuracy of sampled bank conflicts (default budget): relative cycle error, at
#: SCNN's bank provisioning (2·F·I banks), and when banks are the bottleneck (F·I/2).
SAMPLED_TOLERANCE = 0.05
SAMPLED_TOLERANCE_BANK_BOUND = 0.08


def _random_arch(rng: np.random.Generator) -> SCNNArch:
    banks = int(rng.integers(1, 9))
    kc = int(rng.integers(0, 5))  # 0: auto
    # Small accumulators (often a few passes per tile), never smaller than Kc x the
    # 9 outputs one input pixel reaches in these geometries.
    entries = max(-(-max(kc, 1) * 9 // banks), int(rng.integers(1, 40)))
    return SCNNArch(
        crossbar_buffering=str(rng.choice(["deep", "none"])),
        pe_rows=int(rng.integers(1, 4)),
        pe_cols=int(rng.integers(1, 4)),
        mult_f=int(rng.integers(1, 5)),
        mult_i=int(rng.integers(1, 5)),
        accumulator_banks=banks,
        accumulator_entries=entries,
        out_channel_group=kc or "auto",
    )


@pytest.mark.parametrize("density", [(0.2, 0.3), (0.5, 0.6), (0.9, 0.9)])
@pytest.mark.parametrize("buffering", ["deep", "none"])
@pytest.mark.parametrize(
    "geometry",
    [
        dict(kernel=3, stride=1, padding=1),
        dict(kernel=3, stride=2, padding=0),
        dict(kernel=2, stride=1, padding=1, dilation=2),
        dict(kernel=1, stride=1, padding=0),
    ],
)
def test_conv_model_equals_reference(density, buffering, geometry):
    # A stable seed (Python's hash() of strings changes from process to process).
    rng = np.random.default_rng(
        zlib.crc32(repr((density, buffering, sorted(geometry.items()))).encode())
    )
    b, c, k_out, h = (
        int(rng.integers(1, 3)),
        int(rng.integers(1, 4)),
        int(rng.integers(1, 9)),
        int(rng.integers(5, 9)),
    )
    g = conv2d("c", h, h + 1, c, k_out, batch=b, **geometry)
    fmap = sparse_ints(rng, (b, c, h, h + 1), density[1])
    a = unfold(fmap, g)
    w = sparse_ints(rng, (g.k, g.n), density[0])
    arch = _random_arch(rng).model_copy(update={"crossbar_buffering": buffering})
    counts = evaluate_scnn(g, arch, w != 0, a != 0, conflict_cycles=1 << 20)
    run = simulate_scnn(g, arch, w, a)
    assert np.array_equal(run.output[0], a @ w)
    assert counts.details["bank_conflicts"] == "exact"
    assert counts.cycles == run.cycles
    # The partial sums a PE holds fit its accumulator banks.
    assert run.most_partial_sums <= arch.accumulator_banks * arch.accumulator_entries
    assert counts.macs_issued == run.products
    assert counts.actions["crossbar_transfer"] == run.valid_products
    assert counts.macs_effectual == run.valid_products  # a real im2col: nothing lost
    assert counts.effective_utilization <= 1


def test_grouped_conv_and_fc_plane_equal_reference():
    rng = np.random.default_rng(11)
    g = conv2d("grouped", 6, 6, 4, 6, 3, padding=1, groups=2)
    fmap = sparse_ints(rng, (1, 4, 6, 6), 0.6)
    a = np.stack([unfold(fmap[:, 2 * r : 2 * r + 2], g) for r in range(2)])
    w = sparse_ints(rng, (2, g.k, g.n), 0.5)
    arch = SCNNArch(
        pe_rows=2, pe_cols=2, mult_f=2, mult_i=3, accumulator_banks=4, out_channel_group=2
    )
    counts = evaluate_scnn(g, arch, w != 0, a != 0)
    run = simulate_scnn(g, arch, w, a)
    assert np.array_equal(run.output, a @ w)
    assert counts.cycles == run.cycles
    # The feature-map path agrees with the folded im2col path.
    assert evaluate_scnn(g, arch, w != 0, a != 0, input_mask=fmap != 0).cycles == run.cycles
    fc = linear("fc", 12, 10, tokens=7)
    a = sparse_ints(rng, (7, 12), 0.5)
    w = sparse_ints(rng, (12, 10), 0.5)
    counts = evaluate_scnn(fc, arch, w != 0, a != 0)
    run = simulate_scnn(fc, arch, w, a)
    assert np.array_equal(run.output[0], a @ w)
    assert counts.cycles == run.cycles and counts.macs_issued == run.products


def test_batch1_fc_runs_on_one_pe():
    rng = np.random.default_rng(3)
    fc = linear("fc", 64, 32, tokens=1)
    w, a = rng.random((64, 32)) < 0.5, rng.random((1, 64)) < 0.5
    counts = evaluate_scnn(fc, SCNNArch(), w, a)
    # One PE of 64 busy: effective utilization is at most 1/64.
    assert 0 < counts.effective_utilization <= 1 / 64


@pytest.mark.parametrize(
    ("arch", "tolerance"),
    [
        (SCNNArch(), SAMPLED_TOLERANCE),
        (SCNNArch(crossbar_buffering="none"), SAMPLED_TOLERANCE),
        (SCNNArch(accumulator_banks=8), SAMPLED_TOLERANCE_BANK_BOUND),
    ],
)
def test_sampled_bank_conflicts_within_stated_tolerance(arch, tolerance):
    rng = np.random.default_rng(5)
    g = conv2d("c", 28, 28, 16, 32, 3, padding=1)
    pl = scnn_plane(g)
    for wd, ad in ((0.3, 0.5), (0.8, 0.9)):
        fmap = rng.random((1, 16, 28, 28)) < ad
        a = im2col(fmap, pl)
        w = rng.random((g.k, g.n)) < wd
        exact = evaluate_scnn(g, arch, w, a, conflict_cycles=10**7)
        assert exact.details["bank_conflicts"] == "exact"
        assert exact.details["bank_conflict_cycles"] > 0
        for seed in range(2):
            sampled = evaluate_scnn(g, arch, w, a, rng=np.random.default_rng(seed))
            assert sampled.details["bank_conflicts"].startswith("sampled")
            assert abs(sampled.cycles / exact.cycles - 1) <= tolerance
            assert sampled.macs_issued == exact.macs_issued  # only conflicts are sampled


def test_queues_absorb_most_conflicts():
    rng = np.random.default_rng(8)
    g = conv2d("c", 12, 12, 8, 16, 3, padding=1)
    a = im2col(rng.random((1, 8, 12, 12)) < 0.6, scnn_plane(g))
    w = rng.random((g.k, g.n)) < 0.4
    deep = evaluate_scnn(g, SCNNArch(), w, a)
    strict = evaluate_scnn(g, SCNNArch(crossbar_buffering="none"), w, a)
    assert deep.details["ideal_cycles"] == strict.details["ideal_cycles"]
    assert deep.details["ideal_cycles"] < deep.cycles < strict.cycles


def test_im2col_and_fold_match_torch():
    rng = np.random.default_rng(2)
    g = conv2d("c", 7, 9, 3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), batch=2)
    fmap = sparse_ints(rng, (2, 3, 7, 9), 0.5)
    pl = scnn_plane(g)
    assert np.array_equal(im2col(fmap, pl), unfold(fmap, g))
    folded = fold_im2col(unfold(fmap, g), pl)
    covered = fold_im2col(np.ones((g.m, g.k), bool), pl)
    assert np.array_equal(folded, np.where(covered, fmap, 0))


def test_window_counts_and_or_fold():
    """im2col_counts equals the column sums of a built im2col (strides, padding,
    dilation, batch); the fold of an arbitrary (not im2col'd) mask ORs its windows."""
    rng = np.random.default_rng(7)
    g = conv2d("c", 7, 9, 3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), batch=2)
    pl = scnn_plane(g)
    fmap = rng.random((2, 3, 7, 9)) < 0.5
    assert np.array_equal(im2col_counts(fmap, pl), im2col(fmap, pl).sum(axis=0))
    a = rng.random((g.m, g.k)) < 0.3
    ored = np.zeros_like(fmap)
    for i, j in zip(*np.nonzero(a), strict=True):
        one = np.zeros_like(a)
        one[i, j] = True
        ored |= fold_im2col(one, pl)
    assert np.array_equal(fold_im2col(a, pl), ored)


@pytest.mark.parametrize("length", [8, 13, 1024, 1100])
def test_nth_nonzero_search_paths_agree(length):
    """The word-by-word search of long runs finds the same non-zeros as listing them."""
    rng = np.random.default_rng(length)
    runs = rng.random((40, length)) < rng.choice([0.0, 0.05, 0.5, 1.0], (40, 1))
    inv = rng.integers(0, 40, 300)
    nth = rng.integers(0, length // 3 + 2, 300)[:, None] + np.arange(3)[None, :]
    listed = [np.flatnonzero(runs[u]) for u in inv]
    for pos, ok in (
        scnn_banks._nth_nonzero(runs, inv, nth),
        scnn_banks._nth_by_words(runs, inv, nth),
    ):
        for i, nz in enumerate(listed):
            assert np.array_equal(ok[i], nth[i] < len(nz))
            assert np.array_equal(pos[i][ok[i]], nz[nth[i][ok[i]]])


@pytest.mark.parametrize(("n", "kc"), [(64, 16), (60, 16), (50, 8), (40, 24)])
def test_packed_group_counts_equal_bool_counts(n, kc):
    rng = np.random.default_rng(n + kc)
    g = linear("fc", 3, 37, n)
    pl = scnn_plane(g)
    arch = SCNNArch(out_channel_group=kc)
    w = rng.random((g.k, g.n)) < 0.3
    packed = scnn_banks.packed_group_counts(BitMask.from_bool(w).packed, pl, arch)
    want = scnn_banks.group_counts(scnn_banks.weight_taps(w, pl), pl, arch)
    assert packed is not None and packed.dtype == want.dtype
    assert np.array_equal(packed, want)


def test_fragmentation_and_imbalance_come_from_masks():
    g = conv2d("c", 8, 8, 1, 1, 1)
    arch = SCNNArch(
        pe_rows=2, pe_cols=2, mult_f=1, mult_i=4, accumulator_banks=64, crossbar_buffering="none"
    )
    w = np.ones((1, 1), bool)
    spread = np.zeros((1, 1, 8, 8), bool)
    spread[0, 0, ::2, ::2] = True  # 4 per PE tile
    clumped = np.zeros((1, 1, 8, 8), bool)
    clumped[0, 0, :4, :4] = True  # 16 in one tile
    pl = scnn_plane(g)
    c_spread = evaluate_scnn(g, arch, w, im2col(spread, pl))
    c_clumped = evaluate_scnn(g, arch, w, im2col(clumped, pl))
    assert c_spread.macs_effectual == c_clumped.macs_effectual == 16
    assert (c_spread.cycles, c_clumped.cycles) == (1, 4)
    assert c_clumped.details["pe_balance"] == pytest.approx(0.25)
    # With 8 banks the spread pattern's outputs (addresses 0, 2, 16, 18) collide in pairs.
    narrow = evaluate_scnn(
        g, arch.model_copy(update={"accumulator_banks": 8}), w, im2col(spread, pl)
    )
    assert narrow.cycles == 2 and narrow.details["bank_conflict_cycles"] == 1


def test_bad_inputs_are_clear_errors():
    g = conv2d("conv1", 6, 6, 2, 2, 3)
    with pytest.raises(WorkloadError, match="input_mask has shape"):
        evaluate_scnn(
            g,
            SCNNArch(),
            np.ones((g.k, g.n), bool),
            np.ones((g.m, g.k), bool),
            input_mask=np.ones((1, 2, 5, 6), bool),
        )
    with pytest.raises(WorkloadError, match="conflict_cycles"):
        evaluate_scnn(
            g, SCNNArch(), np.ones((g.k, g.n), bool), np.ones((g.m, g.k), bool), conflict_cycles=0
        )
    with pytest.raises(WorkloadError, match="act_mask has shape"):
        evaluate_scnn(g, SCNNArch(), np.ones((g.k, g.n), bool), np.ones((g.m, 3), bool))


def test_bounded_queues_in_the_reference_bracket_the_models():
    rng = np.random.default_rng(12)
    g = conv2d("c", 8, 8, 4, 8, 3, padding=1)
    a = unfold(sparse_ints(rng, (1, 4, 8, 8), 0.6), g)
    w = sparse_ints(rng, (g.k, g.n), 0.5)
    deep = evaluate_scnn(g, SCNNArch(pe_rows=2, pe_cols=2), w != 0, a != 0)
    none = evaluate_scnn(
        g, SCNNArch(pe_rows=2, pe_cols=2, crossbar_buffering="none"), w != 0, a != 0
    )
    by_depth = [
        simulate_scnn(g, SCNNArch(pe_rows=2, pe_cols=2), w, a, queue_depth=d).cycles
        for d in (0, 1, 2, 64)
    ]
    assert by_depth == sorted(by_depth, reverse=True)  # deeper queues never hurt
    assert by_depth[-1] == deep.cycles  # deep enough = the unbounded model
    assert deep.cycles < none.cycles


@pytest.mark.parametrize("buffering", ["deep", "none"])
def test_fc_channel_split_equals_reference(buffering):
    rng = np.random.default_rng(13)
    for tokens in (1, 5):
        fc = linear("fc", 37, 9, tokens=tokens)
        a = sparse_ints(rng, (tokens, 37), 0.6)
        w = sparse_ints(rng, (37, 9), 0.4)
        arch = SCNNArch(
            pe_rows=2,
            pe_cols=3,
            mult_f=2,
            mult_i=2,
            accumulator_banks=4,
            crossbar_buffering=buffering,
            fc_mapping="channels",
        )
        counts = evaluate_scnn(fc, arch, w != 0, a != 0)
        run = simulate_scnn(fc, arch, w, a)
        assert np.array_equal(run.output[0], a @ w)
        assert counts.cycles == run.cycles
        assert counts.macs_issued == run.products
        # The partial outputs of the 6 PEs (7 channels each) are added up.
        assert counts.actions["accumulator_access"] == run.valid_products + 5 * tokens * 9


def test_fc_channel_split_uses_every_pe_at_batch_1():
    rng = np.random.default_rng(3)
    fc = linear("fc", 640, 64, tokens=1)
    w, a = rng.random((640, 64)) < 0.5, rng.random((1, 640)) < 0.5
    plane = evaluate_scnn(fc, SCNNArch(), w, a)
    split = evaluate_scnn(fc, SCNNArch(fc_mapping="channels"), w, a)
    assert split.macs_effectual == plane.macs_effectual
    assert split.cycles * 20 < plane.cycles
