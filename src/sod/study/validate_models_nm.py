"""The N:M systolic array's claims of :mod:`sod.study.validate` (validate_models.py is
near 500 lines): NVIDIA A100's 2:4 sparse tensor cores, built with sod's models."""

from __future__ import annotations

import numpy as np

from sod.study.validate_models import Modelled

# A large 2:4-pruned GEMM (an FFN projection of 2,048 tokens): fills and drains are
# amortized, as in a peak-throughput figure.
_M, _K, _N = 2048, 4096, 4096


def _nm_gemm() -> object:
    from sod.sparsity.prune import prune_n_m
    from sod.workload.gemm import Gemm
    from sod.workload.mask import BitMask

    scores = np.random.default_rng(0).standard_normal((_K, _N))
    keep = prune_n_m(scores, 2, 4)
    return Gemm("ffn", _M, _K, _N, weight_mask=BitMask.from_bool(keep))


def a100_sparse_math_speedup() -> Modelled:
    """Compute cycles of the dense 32x32 WS array over the 2:4 array's, same GEMM."""
    from sod.arch.presets import load_arch
    from sod.designs import evaluate

    gemm = _nm_gemm()
    nm = evaluate(gemm, load_arch("nm-systolic", ideal_memory=True))  # type: ignore[arg-type]
    dense = evaluate(gemm, load_arch("dense", dataflow="ws", ideal_memory=True))  # type: ignore[arg-type]
    return Modelled(
        dense.compute_cycles / nm.compute_cycles,
        f"dense {dense.compute_cycles:,} / 2:4 {nm.compute_cycles:,} compute cycles "
        f"({_M}x{_K}x{_N}, 32x32 WS, ideal memory)",
    )


def a100_sparse_footprint() -> Modelled:
    """Dense weight bits over the 2:4 array's stored weight bits (values + indices)."""
    from sod.arch.presets import load_arch
    from sod.designs import evaluate

    counts = evaluate(_nm_gemm(), load_arch("nm-systolic", ideal_memory=True))  # type: ignore[arg-type]
    stored = counts.details["weight_bits_stored"]
    dense = counts.details["weight_bits_dense"]
    return Modelled(dense / stored, f"{dense:,} dense / {stored:,} stored weight bits (int8)")
