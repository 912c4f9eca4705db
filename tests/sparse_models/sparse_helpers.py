"""Shared helpers: random integer operands with a chosen density; torch's im2col.

torch is imported by `unfold` only, so the tests that do not use it still run without the
`torch` extra (those that do skip)."""

from __future__ import annotations

import numpy as np
import pytest

from sod.workload.gemm import Gemm


def sparse_ints(rng: np.random.Generator, shape: tuple[int, ...], density: float) -> np.ndarray:
    """Non-zero integers in [-3, 3] \\ {0} where a Bernoulli(density) mask is set."""
    values = rng.integers(1, 4, shape) * rng.choice([-1, 1], shape)
    return values * (rng.random(shape) < density)


def unfold(fmap: np.ndarray, gemm: Gemm) -> np.ndarray:
    """im2col of a (batch, C, H, W) feature map by torch (independent of sod's own)."""
    torch = pytest.importorskip(
        "torch", reason="torch not installed (pip install 'sparse-on-dense[torch]')"
    )
    cv = gemm.conv
    assert cv is not None
    t = torch.nn.functional.unfold(
        torch.tensor(fmap, dtype=torch.float64),
        (cv.kernel_h, cv.kernel_w),
        dilation=(cv.dilation_h, cv.dilation_w),
        padding=(cv.pad_h, cv.pad_w),
        stride=(cv.stride_h, cv.stride_w),
    )
    return t.numpy().transpose(0, 2, 1).reshape(-1, t.shape[1]).round().astype(np.int64)
