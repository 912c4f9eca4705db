"""Synthetic activation masks with the structure of real ReLU feature maps.

REFERENCES.md §7: ReLU activations cluster in space (P(non-zero | left neighbour
non-zero) 0.58–0.96 against marginal densities 0.07–0.59) and their density varies widely
across channels (p5–p95 e.g. 0.09–0.41). The generator here reproduces both:

* per-channel densities ``d_c ~ Beta`` with mean = the layer's density and concentration
  :data:`CHANNEL_CONCENTRATION` (std ≈ 0.1 at mean 0.23), rescaled so that the total count
  is exactly ``round(density × size)``;
* a spatially correlated Gaussian field (white noise box-filtered over a
  ``(2r+1) × (2r+1)`` window, r = :func:`cluster_radius`), thresholded per channel at the
  exact count, so non-zeros form blobs.

GELU / SwiGLU / softmax outputs and network inputs are dense: callers give them no mask.
Feature-map masks are im2col'd into sod's A operand (m × k, k in (channel, kh, kw)
order) by :func:`im2col_mask`; padding positions are zeros of A, as the array sees them.
"""

from __future__ import annotations

import numpy as np

from sod.sparsity.prune import check_density
from sod.workload.gemm import ConvShape
from sod.workload.mask import BitMask, im2col_mask

__all__ = [
    "channel_counts",
    "channel_densities",
    "channel_density_spread",
    "cluster_radius",
    "conv_activation_mask",
    "feature_map_mask",
    "im2col_mask",
    "left_neighbour_probability",
    "vector_mask",
]

CHANNEL_CONCENTRATION = 15.0


def cluster_radius(h: int, w: int, density: float) -> int:
    """Box-filter radius: 3 for large maps (2 at high density), 1 for maps under 14 px."""
    if min(h, w) < 14:
        return 1
    return 2 if density >= 0.5 else 3


def channel_densities(
    channels: int,
    density: float,
    rng: np.random.Generator,
    concentration: float = CHANNEL_CONCENTRATION,
) -> np.ndarray:
    """Per-channel densities ~ Beta(mean = density, concentration) (a channel property,
    shared by every image of a batch)."""
    density = check_density(density, "activation density")
    if density >= 1.0 or concentration <= 0:
        return np.full(channels, density)
    a, b = density * concentration, (1 - density) * concentration
    return rng.beta(a, b, size=channels)


def channel_counts(
    channels: int,
    per_channel: int,
    density: float,
    rng: np.random.Generator,
    concentration: float = CHANNEL_CONCENTRATION,
    densities: np.ndarray | None = None,
) -> np.ndarray:
    """Non-zeros per channel: spread like ``densities`` (default: fresh
    :func:`channel_densities`), summing exactly to ``round(density × channels ×
    per_channel)``, each in [0, per_channel]."""
    density = check_density(density, "activation density")
    total = round(density * channels * per_channel)
    d = (
        channel_densities(channels, density, rng, concentration)
        if densities is None
        else np.asarray(densities, dtype=float)
    )
    x = d * per_channel
    # Rescale to the exact total, re-clipping to the channel size (a few rounds converge).
    for _ in range(8):
        s = x.sum()
        if s <= 0:
            x = np.full(channels, total / channels)
        else:
            x = np.clip(x * (total / s), 0, per_channel)
    counts = np.floor(x).astype(np.int64)
    short = total - int(counts.sum())
    room = per_channel - counts
    # Largest-remainder rounding; channels without room never get an extra element.
    frac = np.where(room > 0, x - counts, -1.0)
    order = np.argsort(-frac, kind="stable")
    if short > 0:
        eligible = order[room[order] > 0]
        counts[eligible[:short]] += 1
    return counts


def _box_field(rng: np.random.Generator, shape: tuple[int, int, int, int], r: int) -> np.ndarray:
    """White noise box-filtered over (2r+1)² in the last two axes, float32."""
    b, c, h, w = shape
    z = rng.standard_normal((b, c, h + 2 * r, w + 2 * r), dtype=np.float32)
    if r == 0:
        return z
    cs = np.cumsum(np.cumsum(z, axis=2), axis=3)
    cs = np.pad(cs, ((0, 0), (0, 0), (1, 0), (1, 0)))
    k = 2 * r + 1
    return cs[:, :, k:, k:] - cs[:, :, :-k, k:] - cs[:, :, k:, :-k] + cs[:, :, :-k, :-k]


def feature_map_mask(
    batch: int,
    channels: int,
    h: int,
    w: int,
    density: float,
    rng: np.random.Generator,
    radius: int | None = None,
    concentration: float = CHANNEL_CONCENTRATION,
    densities: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean (batch, channels, h, w) ReLU-like mask; every image holds exactly
    ``round(density × channels × h × w)`` ones, spread over channels like ``densities``
    (default: one :func:`channel_densities` draw shared by the batch)."""
    density = check_density(density, "activation density")
    if density >= 1.0:
        return np.ones((batch, channels, h, w), dtype=bool)
    r = cluster_radius(h, w, density) if radius is None else radius
    if densities is None:
        densities = channel_densities(channels, density, rng, concentration)
    out = np.empty((batch, channels, h, w), dtype=bool)
    per = h * w
    for i in range(batch):  # one image at a time bounds the float32 scratch
        counts = channel_counts(channels, per, density, rng, concentration, densities)
        rows = _box_field(rng, (1, channels, h, w), r).reshape(channels, per)
        srt = -np.sort(-rows, axis=1)
        thr = np.take_along_axis(srt, np.clip(counts - 1, 0, per - 1)[:, None], axis=1)
        out[i] = ((rows >= thr) & (counts[:, None] > 0)).reshape(channels, h, w)
    return out


def conv_activation_mask(
    conv: ConvShape, batch: int, density: float, rng: np.random.Generator
) -> BitMask:
    """A synthetic im2col'd A mask for a convolution, generated image by image (so a
    large batch never holds more than one image's feature map and field)."""
    densities = channel_densities(conv.in_channels, density, rng)
    first = im2col_mask(
        feature_map_mask(
            1, conv.in_channels, conv.in_h, conv.in_w, density, rng, densities=densities
        ),
        conv,
    )
    g, m_img = conv.groups, first.shape[0] // conv.groups
    packed = np.empty((g, batch, m_img, first.packed.shape[1]), dtype=np.uint8)
    packed[:, 0] = first.packed.reshape(g, m_img, -1)
    for i in range(1, batch):
        fmap = feature_map_mask(
            1, conv.in_channels, conv.in_h, conv.in_w, density, rng, densities=densities
        )
        packed[:, i] = im2col_mask(fmap, conv).packed.reshape(g, m_img, -1)
    return BitMask(packed.reshape(g * batch * m_img, -1), (g * batch * m_img, first.shape[1]))


def vector_mask(
    rows: int,
    features: int,
    density: float,
    rng: np.random.Generator,
    concentration: float = CHANNEL_CONCENTRATION,
) -> np.ndarray:
    """Boolean rows × features mask for a linear layer's input: per-feature density spread
    (Beta), no spatial structure, exactly round(density·size) ones."""
    density = check_density(density, "activation density")
    if density >= 1.0:
        return np.ones((rows, features), dtype=bool)
    counts = channel_counts(features, rows, density, rng, concentration)
    # Per feature, choose `count` rows at random: rank random keys within each column.
    keys = rng.random((rows, features), dtype=np.float32)
    ranks = np.argsort(np.argsort(keys, axis=0), axis=0)
    return ranks < counts[None, :]


def left_neighbour_probability(fmap: np.ndarray) -> float:
    """P(non-zero | left neighbour non-zero) of a (…, h, w) mask (NaN if no non-zeros)."""
    left, right = fmap[..., :-1], fmap[..., 1:]
    n_left = np.count_nonzero(left)
    return float(np.count_nonzero(left & right) / n_left) if n_left else float("nan")


def channel_density_spread(fmap: np.ndarray) -> tuple[float, float]:
    """p5 and p95 of per-channel density of a (batch, channels, h, w) mask."""
    d = fmap.mean(axis=(0, 2, 3))
    return float(np.percentile(d, 5)), float(np.percentile(d, 95))
