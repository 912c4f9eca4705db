"""Magnitude pruning of weight matrices in sod's layout (``W`` is k × n).

Every function takes a score array (normally ``|W|``; larger = more important) and
returns a boolean *keep* mask of the same shape. Target densities are met exactly:
unstructured, global and row-balanced pruning keep ``round(density × size)`` elements
(row-balanced spreads the rounding so per-channel counts differ by at most one); N:M keeps
exactly N of every full group of M; block pruning is exact to within one block.

The kept mask says which weights *survive*; a surviving weight that is exactly 0.0 is
still a zero, so callers take ``keep & (W != 0)`` as the non-zero mask
(:func:`nonzero_after_pruning`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sod.errors import SparsityError

# Sample size used to bracket the magnitude threshold before the exact selection.
_SAMPLE = 200_000


def check_density(density: float, what: str = "density") -> float:
    """A density must be in (0, 1]."""
    try:
        value = float(density)
    except (TypeError, ValueError):
        raise SparsityError(f"{what} must be a number in (0, 1], got {density!r}") from None
    if not 0.0 < value <= 1.0 or np.isnan(value):
        raise SparsityError(f"{what} must be in (0, 1], got {density!r}")
    return value


def _as_scores(scores: np.ndarray) -> np.ndarray:
    a = np.asarray(scores)
    if a.ndim != 2:
        raise SparsityError(f"weights to prune must be a 2-D k x n array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    return a


def topk_mask(scores: np.ndarray, keep: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Boolean mask of exactly ``keep`` largest entries of ``scores`` (any shape).

    Brackets the threshold with a random sample, then selects exactly inside the bracket,
    so the cost is a few linear passes instead of a full partition. Ties are broken by
    an arbitrary but deterministic rule.
    """
    flat = scores.reshape(-1)
    size = flat.size
    keep = int(min(max(keep, 0), size))
    if keep == size:
        return np.ones(scores.shape, dtype=bool)
    if keep == 0:
        return np.zeros(scores.shape, dtype=bool)
    if size > 4 * _SAMPLE:
        rng = rng or np.random.default_rng(0)
        sample = np.sort(flat[rng.integers(0, size, _SAMPLE)])
        q = 1.0 - keep / size
        # ±6 sample-sigma bracket around the quantile: the exact threshold is inside it
        # with overwhelming probability; if not, fall through to the full partition.
        half = 6.0 * np.sqrt(q * (1 - q) / _SAMPLE) + 2.0 / _SAMPLE
        lo = sample[int(np.clip(np.floor((q - half) * _SAMPLE), 0, _SAMPLE - 1))]
        hi = sample[int(np.clip(np.ceil((q + half) * _SAMPLE), 0, _SAMPLE - 1))]
        out = flat > hi
        need = keep - int(np.count_nonzero(out))
        if need >= 0:
            band = np.flatnonzero((flat > lo) & ~out) if lo < hi else np.zeros(0, np.int64)
            if need <= band.size:
                if need:
                    part = np.argpartition(-flat[band], need - 1)[:need]
                    out[band[part]] = True
                return out.reshape(scores.shape)
    idx = np.argpartition(-flat, keep - 1)[:keep]
    out = np.zeros(size, dtype=bool)
    out[idx] = True
    return out.reshape(scores.shape)


def prune_unstructured(scores: np.ndarray, density: float, nonnegative: bool = False) -> np.ndarray:
    """Keep the ``round(density × size)`` largest-magnitude entries of one layer.

    ``nonnegative=True`` promises ``scores`` are magnitudes already (saves a copy).
    """
    a = _as_scores(scores)
    density = check_density(density)
    return topk_mask(a if nonnegative else np.abs(a), round(density * a.size))


def prune_global(
    scores: Sequence[np.ndarray],
    density: float,
    multiplicity: Sequence[int] | None = None,
    rng: np.random.Generator | None = None,
    nonnegative: bool = False,
) -> list[np.ndarray]:
    """One magnitude threshold across all layers; kept = round(density × total).

    ``multiplicity[i]`` says how many identical copies layer i stands for (a repeated
    transformer block stored once); the total then counts copies, and the kept count is
    exact to within half the largest multiplicity (plus the rounding of the target).
    Layers are never concatenated: the threshold is bracketed from a size-weighted sample
    and resolved exactly inside the bracket.
    ``nonnegative=True`` promises the scores are magnitudes already (saves copies).
    """
    density = check_density(density)
    arrays = [_as_scores(s) if nonnegative else np.abs(_as_scores(s)) for s in scores]
    if not arrays:
        raise SparsityError("global pruning needs at least one weight layer")
    mult = (
        np.ones(len(arrays), dtype=np.int64)
        if multiplicity is None
        else np.asarray(multiplicity, dtype=np.int64)
    )
    sizes = np.array([a.size for a in arrays], dtype=np.int64)
    weighted = sizes * mult
    total = int(weighted.sum())
    keep = round(density * total)
    rng = rng or np.random.default_rng(0)
    # Size-weighted sample of magnitudes -> a bracket [lo, hi] around the threshold.
    per_layer = np.maximum(1, np.round(_SAMPLE * weighted / total)).astype(np.int64)
    sample_vals, sample_w = [], []
    for a, cnt, w in zip(arrays, per_layer, weighted, strict=True):
        sample_vals.append(a.reshape(-1)[rng.integers(0, a.size, cnt)])
        sample_w.append(np.full(cnt, w / cnt))
    vals = np.concatenate(sample_vals)
    wts = np.concatenate(sample_w)
    order = np.argsort(-vals)
    cum = np.cumsum(wts[order]) / total  # fraction of weights at or above each value
    q = keep / total
    half = 6.0 * np.sqrt(max(q * (1 - q), 1e-12) / vals.size) + 2.0 / vals.size
    hi_i = np.searchsorted(cum, max(q - half, 0.0))
    lo_i = np.searchsorted(cum, min(q + half, 1.0))
    hi = vals[order[min(hi_i, vals.size - 1)]] if q - half > 0 else np.inf
    lo = vals[order[min(lo_i, vals.size - 1)]] if q + half < 1 else -np.inf
    masks = [a > hi for a in arrays]
    above = int(sum(int(np.count_nonzero(m)) * int(c) for m, c in zip(masks, mult, strict=True)))
    need = keep - above
    band_vals, band_layer, band_idx = [], [], []
    for i, (a, m) in enumerate(zip(arrays, masks, strict=True)):
        idx = np.flatnonzero((a.reshape(-1) > lo) & ~m.reshape(-1))
        band_vals.append(a.reshape(-1)[idx])
        band_layer.append(np.full(idx.size, i, dtype=np.int64))
        band_idx.append(idx)
    bv = np.concatenate(band_vals)
    bl = np.concatenate(band_layer)
    bw = mult[bl]
    if need < 0 or need > int(bw.sum()):
        # The bracket missed (rare; tiny or tied inputs): exact, memory-hungry fallback.
        joined = np.concatenate([a.reshape(-1) for a in arrays])
        copies = np.repeat(mult, sizes)
        order = np.argsort(-joined, kind="stable")
        flat = np.zeros(joined.size, dtype=bool)
        flat[order[: _closest_prefix(copies[order], keep)]] = True
        out, start = [], 0
        for a in arrays:
            out.append(flat[start : start + a.size].reshape(a.shape))
            start += a.size
        return out
    if need:
        bo = np.argsort(-bv, kind="stable")
        # Take band elements, largest first, until their copies come closest to the need.
        take = bo[: _closest_prefix(bw[bo], need)]
        bi = np.concatenate(band_idx)
        for i, m in enumerate(masks):
            sel = take[bl[take] == i]
            m.reshape(-1)[bi[sel]] = True
    return masks


def _closest_prefix(copies: np.ndarray, target: int) -> int:
    """Length of the prefix of ``copies`` whose sum is closest to ``target``."""
    cum = np.concatenate([[0], np.cumsum(copies)])
    return int(np.argmin(np.abs(cum - target)))


def prune_row_balanced(
    scores: np.ndarray,
    density: float,
    act_norm: np.ndarray | None = None,
    nonnegative: bool = False,
) -> np.ndarray:
    """Wanda/SparseGPT-style: every output channel (column of W) keeps the same count.

    ``act_norm`` (length k, optional) multiplies the magnitudes row-wise, which is
    Wanda's score ``|W| · ‖X‖₂``. Total kept = round(density × size), spread so that
    per-channel counts differ by at most one. A Fortran-ordered input (each output
    channel contiguous) is read without a transpose; ``nonnegative=True`` promises
    magnitudes (saves a copy).
    """
    a = _as_scores(scores)
    a = a if nonnegative else np.abs(a)
    density = check_density(density)
    k, n = a.shape
    if act_norm is not None:
        act_norm = np.asarray(act_norm, dtype=a.dtype).reshape(-1)
        if act_norm.size != k:
            raise SparsityError(f"act_norm has {act_norm.size} entries, weights have k={k}")
        a = a * act_norm[:, None]
    total = round(density * a.size)
    base, extra = divmod(total, n)
    per_col = np.full(n, base, dtype=np.int64)
    per_col[:extra] += 1
    # Work on Wᵀ (n × k, contiguous rows): one partition per output channel gives its
    # threshold in linear time; channels with ties at the threshold are ranked exactly.
    at = np.ascontiguousarray(a.T)
    keep_t = np.zeros((n, k), dtype=bool)
    if base >= k:
        keep_t[:] = True
    elif base + extra > 0:
        kth = sorted({k - base, k - base - 1} if extra else {k - base})
        kth = [x for x in kth if 0 <= x < k]
        part = np.partition(at, kth, axis=1)
        cols = np.arange(n)
        hi_idx = np.where(cols < extra, k - base - 1, k - base).clip(0, k - 1)
        thr = part[cols, hi_idx]
        keep_t = at >= thr[:, None]
        keep_t[per_col == 0] = False
    bad = np.flatnonzero(keep_t.sum(axis=1) != per_col)
    if bad.size:
        sub = at[bad]
        order = np.argsort(-sub, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(k)[None, :].repeat(bad.size, axis=0), axis=1)
        keep_t[bad] = ranks < per_col[bad][:, None]
    return np.ascontiguousarray(keep_t.T)


def prune_n_m(scores: np.ndarray, n_keep: int, m_group: int) -> np.ndarray:
    """N:M along the reduction dimension: keep the N largest of every M consecutive k.

    A trailing partial group of size r keeps min(N, r) elements.
    """
    a = np.abs(_as_scores(scores))
    if not (isinstance(n_keep, int | np.integer) and isinstance(m_group, int | np.integer)):
        raise SparsityError(f"N:M needs integers, got {n_keep}:{m_group}")
    if m_group <= 0 or n_keep <= 0:
        raise SparsityError(f"N:M needs positive N and M, got {n_keep}:{m_group}")
    if n_keep > m_group:
        raise SparsityError(f"N:M needs N <= M, got {n_keep}:{m_group}")
    k, n = a.shape
    pad = (-k) % m_group
    # -inf padding is never among the top N (ties with real -inf are impossible for |W|).
    padded = np.pad(a, ((0, pad), (0, 0)), constant_values=-np.inf) if pad else a
    groups = padded.reshape(-1, m_group, n)
    order = np.argsort(-groups, axis=1, kind="stable")[:, :n_keep, :]
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=1)
    keep = keep.reshape(-1, n)[:k]
    if pad:
        keep &= np.isfinite(padded[:k])
    return keep


def prune_blocks(scores: np.ndarray, density: float, block: int | tuple[int, int]) -> np.ndarray:
    """Keep whole ``b × b`` blocks with the largest L1 norm (edge blocks may be partial).

    Blocks are taken in decreasing norm order until the kept element count is as close
    as possible to ``density × size`` (exact to within one block).
    """
    a = np.abs(_as_scores(scores))
    density = check_density(density)
    br, bc = (block, block) if isinstance(block, int | np.integer) else block
    k, n = a.shape
    if br <= 0 or bc <= 0:
        raise SparsityError(f"block must be positive, got {br}x{bc}")
    if br > k or bc > n:
        raise SparsityError(f"block {br}x{bc} is larger than the {k}x{n} weight tensor")
    pr, pc = (-k) % br, (-n) % bc
    padded = np.pad(a, ((0, pr), (0, pc)))
    tiles = padded.reshape(padded.shape[0] // br, br, padded.shape[1] // bc, bc)
    norms = tiles.sum(axis=(1, 3))
    ones = np.pad(np.ones((k, n), dtype=np.int64), ((0, pr), (0, pc)))
    sizes = ones.reshape(tiles.shape).sum(axis=(1, 3))
    order = np.argsort(-norms.reshape(-1), kind="stable")
    cum = np.cumsum(sizes.reshape(-1)[order])
    target = density * a.size
    # Number of blocks whose cumulative size is closest to the target (at least one).
    n_blocks = int(np.argmin(np.abs(cum - target))) + 1
    keep_blocks = np.zeros(norms.size, dtype=bool)
    keep_blocks[order[:n_blocks]] = True
    keep_blocks = keep_blocks.reshape(norms.shape)
    full = np.repeat(np.repeat(keep_blocks, br, axis=0), bc, axis=1)
    return full[:k, :n]


def nonzero_after_pruning(weights: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The non-zero mask of pruned weights: kept and not already exactly zero."""
    return keep & (np.asarray(weights) != 0)
