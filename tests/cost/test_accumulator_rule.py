"""One accumulator rule for every design: each accumulated product pays one
``accumulator_access`` (acc_bits register bits written at the design's accumulator width;
its add is in ``mac``). Hand-counted on a tiny GEMM for every kind."""

import numpy as np
import pytest

from sod.arch.presets import load_arch
from sod.designs.costing import energy_table_for
from sod.designs.registry import evaluate
from sod.tech import load_technology
from sod.workload.gemm import Gemm

# A 3 x 4 x 2 GEMM with explicit masks.
A = np.array([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0]], bool)
W = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], bool)
# Effectual products, by hand: row 0: col 0 {0, 3} + col 1 {3} -> 3 (position 2 hits
# W[2,1]: +1 -> 4); row 1: {3} + {3} -> 2; row 2: {0, 1} + {1} -> 3. Total 9.
EFFECTUAL = 9
assert int((A.astype(int) @ W.astype(int)).sum()) == EFFECTUAL
REG_PJ = load_technology(45).e("register_bit")


def _gemm() -> Gemm:
    return Gemm("t", 3, 4, 2, weight_mask=W, act_mask=A)


@pytest.mark.parametrize(
    ("preset", "accumulated"),
    [
        ("dense", 3 * 4 * 2),  # a dense array accumulates every MAC, zeros included
        ("sparse-on-dense", 3 * 4 * 2),  # so does Sparse-on-Dense (zeros multiplied)
        ("scnn-plane", EFFECTUAL),  # SCNN: every valid product reaches its bank
        ("sparten", EFFECTUAL),  # the sparse PEs accumulate their matches
        ("index-match", EFFECTUAL),
    ],
)
def test_every_accumulated_product_pays_one_accumulator_update(preset, accumulated):
    arch = load_arch("scnn", fc_mapping="plane") if preset == "scnn-plane" else load_arch(preset)
    counts = evaluate(_gemm(), arch)
    assert counts.actions["accumulator_access"] == accumulated
    # No design charges its accumulator any other way.
    assert "pe_reg_bits.out" not in counts.actions
    acc_bits = getattr(arch, "accumulator_bits", None) or arch.acc_bits
    table = energy_table_for(arch)
    assert table["accumulator_access"].energy_pj == pytest.approx(acc_bits * REG_PJ)


def test_scnn_channel_split_reduction_adds_are_accumulated_too():
    arch = load_arch("scnn").model_copy(update={"fc_mapping": "channels"})
    counts = evaluate(_gemm(), arch)
    # 4 input channels on 4 of the 64 PEs: 3 partial sums added into each of 3 x 2 outputs.
    assert counts.actions["reduce_add"] == 3 * 3 * 2
    assert counts.actions["accumulator_access"] == EFFECTUAL + 3 * 3 * 2
    plane = evaluate(_gemm(), arch.model_copy(update={"fc_mapping": "plane"}))
    assert plane.actions["accumulator_access"] == EFFECTUAL
    assert plane.actions["reduce_add"] == 0


def test_scnn_accumulators_are_24_bits_the_others_32():
    bits = {
        p: energy_table_for(load_arch(p))["accumulator_access"].energy_pj / REG_PJ
        for p in ("dense", "sparse-on-dense", "scnn", "sparten", "index-match")
    }
    assert bits == pytest.approx(
        {"dense": 32, "sparse-on-dense": 32, "scnn": 24, "sparten": 32, "index-match": 32}
    )
