"""Batch as a repeat: activation masks drawn for at most S images, tiled to the batch
(sod.workload.mask.TiledMask, sod.workload.batching, sod.sparsity.apply)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import SodError, WorkloadError
from sod.models.operands import operand_masks
from sod.sparsity import apply_sparsity
from sod.workload.batching import act_period_rows, check_act_images, rows_per_image
from sod.workload.budget import check_mask_memory, mask_memory_bytes
from sod.workload.gemm import Gemm, conv2d, linear
from sod.workload.mask import BitMask, TiledMask, tile_rows
from sod.workload.zoo import get_model


@settings(max_examples=40, deadline=None)
@given(
    groups=st.integers(1, 3),
    period=st.integers(1, 7),
    extra=st.integers(1, 20),
    cols=st.integers(1, 19),
    seed=st.integers(0, 2**16),
)
def test_tiled_mask_is_its_period_repeated(groups, period, extra, cols, seed):
    rng = np.random.default_rng(seed)
    rows = period + extra
    per = rng.random((groups, period, cols)) < 0.4
    mask = tile_rows(BitMask.from_bool(per.reshape(-1, cols)), rows, groups)
    assert isinstance(mask, TiledMask)
    want = per[:, np.arange(rows) % period].reshape(groups * rows, cols)
    np.testing.assert_array_equal(mask.to_bool(), want)
    np.testing.assert_array_equal(mask.expanded().packed, np.packbits(want, axis=1))
    assert mask.shape == want.shape
    assert mask.nnz == int(want.sum())
    assert mask.density == pytest.approx(want.mean())
    assert int(mask.row_weights().sum()) == rows
    np.testing.assert_array_equal(mask.T.to_bool(), want.T)
    # Period columns counted with their weights are the full columns' counts.
    g = Gemm("x", rows, cols, 3, repeat=groups, act_mask=mask)
    om = operand_masks(g, groups=groups, tiled=True)
    assert om.act_tiling == (rows, period) and om.act.shape == (groups, period, cols)
    np.testing.assert_array_equal(om.act_col_counts(), want.reshape(groups, rows, cols).sum(axis=1))
    full = operand_masks(g, groups=groups)
    assert full.act_tiling is None and full.act.shape == (groups, rows, cols)
    assert om.effectual(rows) == full.effectual(rows)


def test_tile_rows_of_a_whole_period_is_the_period_and_bad_shapes_raise():
    period = BitMask.from_bool(np.eye(4, dtype=bool))
    assert tile_rows(period, 4) is period
    with pytest.raises(SodError):
        tile_rows(period, 3)
    with pytest.raises(SodError, match="period"):
        TiledMask(period.packed, (8, 4), period_rows=8)
    with pytest.raises(SodError, match="packed"):
        TiledMask(period.packed, (12, 4), period_rows=3)


def test_period_rows_are_whole_images():
    conv = conv2d("c", 8, 8, 4, 4, 3, padding=1, batch=10)
    assert rows_per_image(conv, 10) == (10, 64)
    assert act_period_rows(conv, 10, 4) == 4 * 64
    assert act_period_rows(conv, 10, 16) == conv.m  # batch within S: drawn whole
    fc = linear("fc", 32, 8, tokens=10 * 3)  # 3 tokens per image
    assert act_period_rows(fc, 10, 4) == 12
    assert act_period_rows(fc, 7, 4) == fc.m  # rows that are not images: whole
    for bad in (0, -1, 1.5, "x", 10**9):
        with pytest.raises(WorkloadError, match="act_images"):
            check_act_images(bad, "act_images")  # type: ignore[arg-type]


def _act_masks(workload):
    return {g.name: g.act_mask for g in workload if g.act_mask is not None}


def test_batch_within_s_draws_exactly_as_before():
    """At a batch ≤ S nothing changes: the masks are the ones of an untiled draw."""
    small = apply_sparsity(get_model("lenet5", batch=3), "han2015", act_images=3)
    big = apply_sparsity(get_model("lenet5", batch=3), "han2015", act_images=1000)
    assert _act_masks(big)
    for name, mask in _act_masks(big).items():
        assert not isinstance(mask, TiledMask)
        np.testing.assert_array_equal(_act_masks(small)[name].packed, mask.packed)


@pytest.mark.parametrize("batch,s", [(5, 2), (6, 3), (4, 1)])
def test_image_i_uses_image_i_mod_s(batch, s):
    """Image i of a batch of B > S has the pattern image i mod S has in a batch of S."""
    tiled = apply_sparsity(get_model("lenet5", batch=batch), "han2015", act_images=s)
    ref = apply_sparsity(get_model("lenet5", batch=s), "han2015", act_images=s)
    ref_masks = _act_masks(ref)
    for g in tiled:
        if g.act_mask is None:
            continue
        assert isinstance(g.act_mask, TiledMask), g.name
        rows = g.m // batch
        full = g.act_mask.to_bool().reshape(batch, rows, g.k)
        period = ref_masks[g.name].to_bool().reshape(s, rows, g.k)
        for i in range(batch):
            np.testing.assert_array_equal(full[i], period[i % s])
        assert g.act_density == pytest.approx(full.mean())


def test_budget_counts_only_the_period():
    vgg = get_model("vgg16", batch=256).gemms
    whole = mask_memory_bytes(vgg, 256, act_images=256)
    tiled = mask_memory_bytes(vgg, 256, act_images=16)
    assert tiled < whole / 4
    # Within S the estimate is the untiled one (and S beyond the batch changes nothing).
    assert mask_memory_bytes(get_model("vgg16", batch=8).gemms, 8, 16) == mask_memory_bytes(
        get_model("vgg16", batch=8).gemms, 8, 8
    )
    # The large batches of issue 13 fit 4 GB; the old (untiled) estimate did not.
    assert check_mask_memory(vgg, 4.0, "vgg16", 256) < 4e9
    resnet = get_model("resnet50", batch=1024).gemms
    assert check_mask_memory(resnet, 4.0, "resnet50", 1024) < 4e9
    with pytest.raises(WorkloadError, match="--act-images"):
        check_mask_memory(vgg, 4.0, "vgg16", 256, act_images=256)


def test_budget_errs_high_on_a_tiled_workload():
    w = apply_sparsity(get_model("alexnet", batch=6), "han2015", act_images=2)
    stored = sum(x.packed.nbytes for g in w for x in (g.weight_mask, g.act_mask) if x is not None)
    assert mask_memory_bytes(w, 6, 2) >= stored


def test_statistics_see_every_row_of_a_tiled_mask():
    from sod.sparsity.stats import col_counts, row_counts

    per = np.random.default_rng(1).random((3, 10)) < 0.5
    mask = tile_rows(BitMask.from_bool(per), 7)
    full = per[np.arange(7) % 3]
    np.testing.assert_array_equal(row_counts(mask), full.sum(axis=1))
    np.testing.assert_array_equal(col_counts(mask), full.sum(axis=0))
