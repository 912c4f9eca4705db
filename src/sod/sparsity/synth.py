"""Structured synthetic weights for networks whose trained weights are not available.

Real magnitude-pruned layers are far less uniform than random masks of the same density
(REFERENCES.md §7): some filters and input channels are much weaker than others, whole
kernels die, zero runs are long. i.i.d. weights + magnitude pruning give a Bernoulli mask
and understate all of that. The generator here builds weight *magnitudes* as

    |W[c·P + p, o]| = Exp(1) · F[o] · C[c] · K[p] · Q[c, o] · s_layer

with Exp(1) = |Laplace(0, 1)|, lognormal per-output-filter ``F``, per-input-channel ``C``,
per-kernel-position ``K`` and per-(filter, channel)-kernel ``Q`` scales (σ per layer kind,
:data:`PARAMS`), and ``s_layer = sqrt(2 / fan_in)`` (He initialisation) so that *global*
pruning across layers prunes wide fully connected layers harder, as in real networks.
Only magnitudes are generated: the sign of a weight never changes its mask.

The σ were calibrated (``benchmarks/bench_sparsity.py --calibrate``, docs/sparsity.md):
convolutions so that VGG-16 3×3 layers pruned to Han et al.'s densities land in the
measured ranges (per-output-channel non-zero CV 0.3–0.8, empty 3×3 kernels 10–60 % at
densities ≤ 0.42, 99th-percentile zero run ≈ 2× i.i.d.); linear layers by fitting the
real all-MiniLM-L6-v2 encoder matrices. ``Q`` is this module's addition to the three scales
of the issue: without it empty kernels stay at the i.i.d. level.

Layout: sod's W (k × n) with k in im2col order (in_channel, kh, kw); a grouped convolution
(``repeat == groups``) yields ``(groups · k) × n`` (groups stacked along rows), a linear
layer with ``repeat > 1`` (identical stacked blocks) yields one representative k × n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.workload.gemm import Gemm, LayerKind


@dataclass(frozen=True)
class SynthParams:
    """Lognormal σ of each scale factor (0 = factor absent)."""

    filter_sigma: float
    channel_sigma: float
    position_sigma: float
    kernel_sigma: float


# Per layer kind; see the module docstring for how they were calibrated.
PARAMS: dict[str, SynthParams] = {
    "conv": SynthParams(0.6, 0.3, 0.2, 0.6),  # k×k convolution, k > 1
    "pointwise": SynthParams(0.6, 0.3, 0.0, 0.0),  # 1×1 convolution
    "depthwise": SynthParams(0.6, 0.0, 0.2, 0.0),  # one input channel per group
    # Fitted to the 36 encoder matrices of all-MiniLM-L6-v2 (real BERT-family weights)
    # pruned to 10/30/50 %: median CVs within ~5 % (docs/sparsity.md).
    "linear": SynthParams(0.2, 0.16, 0.0, 0.0),  # fully connected / transformer projection
}

IID = SynthParams(0.0, 0.0, 0.0, 0.0)


def layer_kind(gemm: Gemm) -> str:
    """Which :data:`PARAMS` entry a GEMM uses."""
    if gemm.kind == LayerKind.CONV and gemm.conv is not None:
        area = gemm.conv.kernel_h * gemm.conv.kernel_w
        if gemm.conv.groups > 1 and gemm.conv.in_channels == gemm.conv.groups:
            return "depthwise"
        return "conv" if area > 1 else "pointwise"
    return "linear"


def mask_rows(gemm: Gemm) -> int:
    """Rows of the weight mask sod stores for this GEMM (see module docstring)."""
    return gemm.k * gemm.operand_groups


def _lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    if sigma <= 0:
        return np.ones(size, dtype=np.float32)
    return np.exp(sigma * rng.standard_normal(size, dtype=np.float32))


def _view(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reshape that must not copy (in-place scaling goes through it)."""
    v = a.reshape(shape)
    if not np.shares_memory(v, a):
        raise AssertionError(f"reshape {a.shape}->{shape} copied")
    return v


def synthetic_magnitudes(
    gemm: Gemm,
    rng: np.random.Generator,
    params: SynthParams | None = None,
    column_major: bool = False,
) -> np.ndarray:
    """|W| of a GEMM as float32, shape (:func:`mask_rows`, n).

    ``params=None`` picks :data:`PARAMS` by :func:`layer_kind`; pass :data:`IID` for
    i.i.d. Laplace weights (the baseline the structured generator is compared with).
    ``column_major=True`` returns a Fortran-ordered array (each output channel
    contiguous), which per-channel pruning (row-balanced, N:M) reads without transposing.
    """
    p = PARAMS[layer_kind(gemm)] if params is None else params
    groups = gemm.operand_groups
    area = gemm.conv.kernel_h * gemm.conv.kernel_w if gemm.conv is not None else 1
    if gemm.k % area:
        area = 1
    chans = gemm.k // area
    rows, n = groups * gemm.k, gemm.n
    if column_major:
        out = rng.standard_exponential((n, rows), dtype=np.float32).T
    else:
        out = rng.standard_exponential((rows, n), dtype=np.float32)
    # Row scale = channel × position (per group); column scale = filter (per group).
    chan = _lognormal(rng, p.channel_sigma, groups * chans).reshape(groups, chans, 1)
    pos = _lognormal(rng, p.position_sigma, area).reshape(1, 1, area)
    row_scale = (chan * pos).reshape(groups, gemm.k)
    fan_in = gemm.k
    row_scale *= np.float32(np.sqrt(2.0 / fan_in))
    view = _view(out, (groups, gemm.k, n))
    view *= row_scale[:, :, None]
    filt = _lognormal(rng, p.filter_sigma, groups * n).reshape(groups, 1, n)
    view *= filt
    if p.kernel_sigma > 0 and area > 1:
        kern = _lognormal(rng, p.kernel_sigma, groups * chans * n).reshape(groups, chans, 1, n)
        _view(view, (groups, chans, area, n))[...] *= kern
    return out
