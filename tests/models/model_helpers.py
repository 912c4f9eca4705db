"""Shared helpers of the model tests (imported by sibling test modules)."""

import numpy as np

from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def masked(gemm: Gemm, w_density: float, a_density: float, seed: int = 0) -> Gemm:
    """``gemm`` with i.i.d. weight and activation masks of the given densities (seeded)."""
    rng = np.random.default_rng(seed)
    g = gemm.operand_groups
    w = rng.random((g * gemm.k, gemm.n)) < w_density
    a = rng.random((g * gemm.m, gemm.k)) < a_density
    return gemm.with_(
        weight_mask=BitMask.from_bool(w),
        act_mask=BitMask.from_bool(a),
        weight_density=float(w.mean()),
        act_density=float(a.mean()),
    )
