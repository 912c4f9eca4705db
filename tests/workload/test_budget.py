"""The memory estimate of building a workload's masks (a pure function of the shapes)."""

import pytest

from sod.errors import WorkloadError
from sod.sparsity import apply_sparsity
from sod.workload.budget import check_mask_memory, mask_memory_bytes
from sod.workload.gemm import Gemm, conv2d, linear
from sod.workload.zoo import get_model


def test_linear_layer_counts_mask_bits_and_working_set():
    g = Gemm("fc", m=10, k=800, n=16)
    # 800·16 weight bits + 10·800 activation bits, plus 13 bytes per weight while pruning.
    assert mask_memory_bytes([g]) == -(-(800 * 16 + 10 * 800) // 8) + 800 * 16 * 13


def test_repeats_of_a_linear_layer_share_one_mask_but_groups_do_not():
    one = linear("fc", 64, 64, tokens=4)
    stacked = one.with_(repeat=12)
    assert mask_memory_bytes([stacked]) == mask_memory_bytes([one])
    grouped = conv2d("c", 16, 16, 32, 32, 3, padding=1, groups=4)
    single = conv2d("c", 16, 16, 8, 8, 3, padding=1)
    assert mask_memory_bytes([grouped]) > mask_memory_bytes([single])


def test_estimate_grows_with_batch_and_errs_high():
    small, big = (mask_memory_bytes(get_model("lenet5", batch=b)) for b in (1, 64))
    assert big > small
    w = apply_sparsity(get_model("lenet5"), "uniform:0.3")
    stored = sum(x.packed.nbytes for g in w for x in (g.weight_mask, g.act_mask) if x is not None)
    assert mask_memory_bytes(w) >= stored


def test_check_names_the_option():
    with pytest.raises(WorkloadError, match="--max-memory-gb") as err:
        check_mask_memory(get_model("vgg16", batch=64).gemms, 1.0)
    assert "\n" not in str(err.value)
    assert check_mask_memory(get_model("lenet5").gemms, 1.0) < 1e9
