"""A Gemm's operand masks: always BitMask, checked at construction, one repeat rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import WorkloadError
from sod.models.operands import operand_masks
from sod.models.sparse_masks import distinct_repeats, mask_arrays
from sod.workload.gemm import Gemm, conv2d
from sod.workload.mask import BitMask, stack_mask

RNG = np.random.default_rng(0)


def test_arrays_are_packed_at_construction():
    w = RNG.random((6, 4)) < 0.5
    a = RNG.random((3, 6)) < 0.5
    g = Gemm("x", 3, 6, 4, weight_mask=w, act_mask=a.astype(np.float32))
    assert isinstance(g.weight_mask, BitMask) and isinstance(g.act_mask, BitMask)
    np.testing.assert_array_equal(g.weight_mask.to_bool(), w)
    np.testing.assert_array_equal(g.act_mask.to_bool(), a)
    # with_ keeps the same BitMask object (no re-packing)
    assert g.with_(name="y").weight_mask is g.weight_mask


def test_three_d_arrays_are_stacked_per_repeat():
    w = RNG.random((3, 6, 4)) < 0.5
    g = Gemm("x", 2, 6, 4, repeat=3, weight_mask=w)
    assert g.weight_mask.shape == (18, 4)
    assert g.operand_groups == 3
    np.testing.assert_array_equal(g.stacked_weight_mask(), w)


@pytest.mark.parametrize(
    ("field", "shape"),
    [("weight_mask", (5, 4)), ("weight_mask", (12, 5)), ("act_mask", (3, 5)), ("act_mask", (5,))],
)
def test_wrong_shapes_are_one_line_workload_errors(field, shape):
    with pytest.raises(WorkloadError, match=rf"layer 'x': {field} has shape") as err:
        Gemm("x", 3, 6, 4, repeat=2, **{field: np.ones(shape, bool)})
    assert "\n" not in str(err.value)
    assert "(shared) or" in str(err.value)


def test_shared_and_stacked_masks():
    shared = BitMask.from_bool(RNG.random((6, 4)) < 0.5)
    lin = Gemm("blocks", 2, 6, 4, repeat=8, weight_mask=shared)
    assert lin.operand_groups == 1
    assert lin.stacked_weight_mask().shape == (1, 6, 4)
    assert lin.stacked_act_mask() is None
    m = operand_masks(lin)
    assert (m.groups, m.multiplier) == (1, 8)

    conv = conv2d("grouped", 6, 6, 4, 4, 3, padding=1, groups=2)
    assert conv.operand_groups == 2  # groups have their own weights, even without masks
    w = RNG.random((2 * conv.k, conv.n)) < 0.5
    conv = conv.with_(weight_mask=w)
    stacked = conv.stacked_weight_mask()
    np.testing.assert_array_equal(stacked.reshape(-1, conv.n), w)
    # A shared mask on a grouped GEMM (topology files) is broadcast to every group.
    one = conv.with_(weight_mask=w[: conv.k])
    assert one.stacked_weight_mask().shape == (2, conv.k, conv.n)
    m = operand_masks(one)
    assert (m.groups, m.multiplier) == (2, 1)
    # W's non-zeros come from the packed mask's popcount: the bool arrays' count.
    for gemm in (conv, one, lin):
        masks = operand_masks(gemm)
        assert masks.weight_nnz == np.count_nonzero(masks.weight)


def test_stack_mask_and_model_arguments():
    w = RNG.random((6, 4)) < 0.5
    view = stack_mask(w, 3, 6, 4)
    assert view.shape == (3, 6, 4) and not view.flags.writeable  # broadcast, no copy
    np.testing.assert_array_equal(stack_mask(BitMask.from_bool(w), 1, 6, 4)[0], w)
    with pytest.raises(WorkloadError, match="w has shape"):
        stack_mask(w, 3, 4, 6, "w")
    g = Gemm("x", 2, 6, 4, repeat=3)
    a = RNG.random((3, 2, 6)) < 0.5
    wa, aa = mask_arrays(g, w, a)
    assert wa.shape == (3, 6, 4) and aa.shape == (3, 2, 6)
    assert distinct_repeats(g, w, a[0]) == (1, 3)
    assert distinct_repeats(g, w, a) == (3, 1)
    assert distinct_repeats(g, BitMask.from_bool(w), BitMask.from_bool(a[0])) == (1, 3)
    assert distinct_repeats(g, w, BitMask.from_bool(a.reshape(6, 6))) == (3, 1)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_nnz_counts_every_set_bit(rows, cols, seed):
    # Counted in 64-bit words plus a tail of bytes: equal to the bool mask's count for
    # any number of packed bytes (multiple of 8 or not).
    dense = np.random.default_rng(seed).random((rows, cols)) < 0.4
    assert BitMask.from_bool(dense).nnz == int(dense.sum())
