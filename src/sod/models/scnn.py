"""Analytic model of SCNN (Parashar et al., ISCA 2017), from real non-zero masks.

SCNN runs a convolution as Cartesian products. The input plane (H × W) is cut into
``pe_rows × pe_cols`` equal tiles, one per PE (planar tiling, all channels). Output
channels are processed in groups of ``Kc = out_channel_group``; for each group and input
channel c, every PE multiplies each vector of F non-zero weights (of channel c, group's
output channels, all kernel positions, in (k, r, s) order) with each vector of I non-zero
activations of its tile (in (y, x) order): one F×I product array per cycle. Each product
goes through a scatter crossbar to the accumulator bank of its output coordinate; the
``accumulator_banks`` banks take one product each per cycle, so a cycle whose products
hit one bank q times lasts q cycles (bank conflicts; same-address products conflict too).
Products whose output falls outside the plane (or between strides) are computed and
dropped (wasted). PEs synchronize after every output-channel group (the slowest PE sets
its time); images of a batch run one after another.

Per (image, PE, group, channel) block, ideal cycles are
``ceil(nnz_w / F) · ceil(nnz_a / I)`` (intra-PE fragmentation: partial vectors waste
multiplier slots); layer cycles are ``Σ_(image, group) max_PE Σ_c block cycles`` with bank
conflicts added. Everything except the conflicts is exact and costs a few small matrix
products. Bank conflicts need the coordinates of every product: they are computed exactly
(every cycle enumerated, vectorized) when the layer has at most ``conflict_cycles`` ideal
cycles; otherwise on ``conflict_cycles`` cycles drawn uniformly with a seeded Generator,
and the measured slow-down ratio is applied to every block (a stated approximation whose
error against :mod:`sod.reference.scnn` is tested).

Non-convolution GEMMs (FC, attention) are mapped as SCNN maps FC layers: a 1 × 1
convolution with k input and n output channels over a plane of the m rows (tokens), laid
out ``ceil(m / ceil(√m)) × ceil(√m)``. A batch-1 FC layer is then a 1 × 1 plane on a
single PE — SCNN's known poor FC efficiency.

Conv GEMMs need the input feature-map mask. Pass it as ``input_mask`` (batch, channels,
H, W); otherwise it is folded back from the im2col'd ``act_mask``: an input pixel is
non-zero if any window entry that reads it is (exact when ``act_mask`` is a real im2col;
for an arbitrary m × k mask this ORs the windows, a superset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.errors import WorkloadError
from sod.models.common import Counts
from sod.models.sparse_masks import distinct_repeats, effectual_macs, mask_arrays
from sod.workload.gemm import Gemm

#: Ideal cycles up to which bank conflicts are computed exactly (else sampled), with strict
#: per-cycle bank arbitration (``crossbar_buffering: none``).
DEFAULT_CONFLICT_CYCLES = 1 << 14
#: The same with queued banks (``deep``, the default) and at least two banks per product
#: slot (32 banks for 4x4 multipliers): conflicts add ~2 % of cycles, and 2,048 sampled
#: cycles keep the error within 0.8 % (measured against full enumeration on 9 conv
#: layers x 2 seeds; 4,096 cycles give 0.4 %, 16,384 give 0.2 % at 8x the time). With
#: fewer banks (8: bank-bound) the error at 4,096 reaches 12 %, so those keep the larger
#: sample.
DEEP_CONFLICT_CYCLES = 1 << 11


@dataclass(frozen=True)
class SCNNPlane:
    """The convolution SCNN runs for one repeat of a GEMM."""

    batch: int
    channels: int
    in_h: int
    in_w: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    out_h: int = 1
    out_w: int = 1
    rows: int = 0  # GEMM rows m (non-conv planes hold fewer pixels than in_h·in_w)
    is_fc: bool = False  # a non-convolution GEMM mapped as a 1 × 1 convolution


def scnn_plane(gemm: Gemm) -> SCNNPlane:
    """The convolution geometry SCNN sees for ``gemm`` (see the module docstring)."""
    cv = gemm.conv
    if cv is not None:
        pixels = cv.out_h * cv.out_w
        if gemm.m % pixels:
            raise WorkloadError(
                f"layer {gemm.name!r}: m={gemm.m} is not a multiple of the "
                f"output plane {cv.out_h}x{cv.out_w}"
            )
        return SCNNPlane(
            gemm.m // pixels,
            cv.in_channels // cv.groups,
            cv.in_h,
            cv.in_w,
            gemm.n,
            cv.kernel_h,
            cv.kernel_w,
            cv.stride_h,
            cv.stride_w,
            cv.pad_h,
            cv.pad_w,
            cv.dilation_h,
            cv.dilation_w,
            cv.out_h,
            cv.out_w,
            gemm.m,
        )
    w = int(np.ceil(np.sqrt(gemm.m)))
    h = -(-gemm.m // w)
    return SCNNPlane(1, gemm.k, h, w, gemm.n, 1, 1, out_h=h, out_w=w, rows=gemm.m, is_fc=True)


def _window_slices(pl: SCNNPlane, r: int, s: int) -> tuple[slice, slice, slice, slice] | None:
    """Output rows/cols whose kernel tap (r, s) reads inside the input, and those inputs."""
    out = []
    for o_n, i_n, st, pd, dl, tap in (
        (pl.out_h, pl.in_h, pl.stride_h, pl.pad_h, pl.dilation_h, r),
        (pl.out_w, pl.in_w, pl.stride_w, pl.pad_w, pl.dilation_w, s),
    ):
        off = tap * dl - pd  # input coordinate of output 0
        lo = max(0, (st - 1 - off) // st)  # first output reading input ≥ 0
        hi = min(o_n - 1, (i_n - 1 - off) // st)
        if hi < lo:
            return None
        out.append((slice(lo, hi + 1), slice(off + lo * st, off + hi * st + 1, st)))
    (oy, iy), (ox, ix) = out
    return oy, ox, iy, ix


def fold_im2col(act: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Feature map (batch, C, H, W) from an im2col'd (m, k) operand: bool → OR of windows,
    numbers → the value read (consistent for a real im2col)."""
    fmap = np.zeros((pl.batch, pl.channels, pl.in_h, pl.in_w), act.dtype)
    a6 = act.reshape(pl.batch, pl.out_h, pl.out_w, pl.channels, pl.kernel_h, pl.kernel_w)
    for r in range(pl.kernel_h):
        for s in range(pl.kernel_w):
            sl = _window_slices(pl, r, s)
            if sl is None:
                continue
            oy, ox, iy, ix = sl
            part = a6[:, oy, ox, :, r, s].transpose(0, 3, 1, 2)
            view = fmap[:, :, iy, ix]
            fmap[:, :, iy, ix] = (
                (view | part) if act.dtype == bool else np.where(part != 0, part, view)
            )
    return fmap


def im2col(fmap: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """The (m, k) GEMM operand of a (batch, C, H, W) feature map (k order (c, r, s))."""
    a6 = np.zeros((pl.batch, pl.out_h, pl.out_w, pl.channels, pl.kernel_h, pl.kernel_w), fmap.dtype)
    for r in range(pl.kernel_h):
        for s in range(pl.kernel_w):
            sl = _window_slices(pl, r, s)
            if sl is not None:
                oy, ox, iy, ix = sl
                a6[:, oy, ox, :, r, s] = fmap[:, :, iy, ix].transpose(0, 2, 3, 1)
    return a6.reshape(pl.batch * pl.out_h * pl.out_w, -1)


def kernels_of(weight: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Kernels (K, C, kh, kw) of a (k, n) weight operand (k order (c, r, s))."""
    return weight.reshape(pl.channels, pl.kernel_h, pl.kernel_w, pl.out_channels).transpose(
        3, 0, 1, 2
    )


def plane_operands(
    gemm: Gemm, pl: SCNNPlane, weight: np.ndarray, act: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(feature map (batch, C, H, W), kernels (K, C, kh, kw)) of one repeat's operands."""
    kern = kernels_of(weight, pl)
    if gemm.conv is not None:
        return fold_im2col(act, pl), kern
    fmap = np.zeros((1, pl.channels, pl.in_h * pl.in_w), act.dtype)
    fmap[0, :, : gemm.m] = act.T
    return fmap.reshape(1, pl.channels, pl.in_h, pl.in_w), kern


def pe_tiles(
    fmap: np.ndarray, arch: SCNNArch, by_channel: bool = False
) -> tuple[np.ndarray, int, int]:
    """Feature map split per PE: (batch, PE, C, th, tw), th, tw.

    Planar tiling (SCNN's): PE (py, px) holds a th × tw tile of every channel. With
    ``by_channel`` (``fc_mapping="channels"``) PE p holds the whole plane of a contiguous
    slice of the channels instead.
    """
    b, c, h, w = fmap.shape
    pes = arch.pe_rows * arch.pe_cols
    if by_channel:
        per = -(-c // pes)
        owner = np.arange(c) // per  # PE of each channel
        tiles = np.zeros((b, pes, c, h, w), fmap.dtype)
        tiles[:, owner, np.arange(c)] = fmap
        return tiles, h, w
    th, tw = -(-h // arch.pe_rows), -(-w // arch.pe_cols)
    pad = np.zeros((b, c, arch.pe_rows * th, arch.pe_cols * tw), fmap.dtype)
    pad[:, :, :h, :w] = fmap
    t = pad.reshape(b, c, arch.pe_rows, th, arch.pe_cols, tw).transpose(0, 2, 4, 1, 3, 5)
    return t.reshape(b, pes, c, th, tw), th, tw


def weight_rows(weight: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Weights as SCNN streams them: (C, K·kh·kw), each input channel's row in (k, r, s)
    order, so a group's stream is one contiguous run of ``Kc·kh·kw`` columns (a view for
    1 × 1 kernels, no copy of a large FC matrix)."""
    taps = pl.kernel_h * pl.kernel_w
    return (
        weight.reshape(pl.channels, taps, pl.out_channels)
        .transpose(0, 2, 1)
        .reshape(pl.channels, pl.out_channels * taps)
    )


def group_counts(rows: np.ndarray, pl: SCNNPlane, arch: SCNNArch) -> np.ndarray:
    """Non-zero weights per (group, channel): (G, C)."""
    span = arch.out_channel_group * pl.kernel_h * pl.kernel_w
    width = rows.shape[1]
    if span % 8 == 0 and width % span == 0 and rows.flags.c_contiguous:
        # Fast path: a bool is one byte (0 or 1), so a uint64 word holds 8 of them and its
        # bit count is their sum.
        words = np.bitwise_count(rows.view(np.uint64)).reshape(rows.shape[0], -1, span // 8)
        return words.sum(axis=2, dtype=np.int64).T
    starts = np.arange(0, width, span)
    return np.add.reduceat(rows, starts, axis=1, dtype=np.int64).T


def bank_of(
    k_local: np.ndarray, oy: np.ndarray, ox: np.ndarray, pl: SCNNPlane, banks: int
) -> np.ndarray:
    """Accumulator bank of an output coordinate: linear address modulo the bank count."""
    return ((k_local * pl.out_h + oy) * pl.out_w + ox) % banks


def output_coords(
    y: np.ndarray, x: np.ndarray, r: np.ndarray, s: np.ndarray, pl: SCNNPlane
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(oy, ox, valid) of the product of input pixel (y, x) with kernel tap (r, s)."""
    ny = y + pl.pad_h - r * pl.dilation_h
    nx = x + pl.pad_w - s * pl.dilation_w
    oy, ox = ny // pl.stride_h, nx // pl.stride_w
    valid = (
        (ny % pl.stride_h == 0)
        & (nx % pl.stride_w == 0)
        & (ny >= 0)
        & (nx >= 0)
        & (oy < pl.out_h)
        & (ox < pl.out_w)
    )
    if pl.rows < pl.out_h * pl.out_w * pl.batch:  # padding pixels of an FC plane
        valid &= oy * pl.out_w + ox < pl.rows
    return oy, ox, valid


@dataclass(frozen=True)
class _Layer:
    """One repeat's operands in SCNN's order, and the cycle bookkeeping to decode a cycle
    number into (image, PE, group, channel, weight vector, activation vector)."""

    rows: np.ndarray  # (C, K·kh·kw) weight mask rows
    a_y: np.ndarray  # non-zero activations, ordered (image, PE, channel, y, x)
    a_x: np.ndarray
    a_start: np.ndarray  # (batch, PE, C) first entry of each activation stream
    na: np.ndarray  # (batch, PE, C) non-zero activations
    nw: np.ndarray  # (G, C) non-zero weights
    av: np.ndarray  # (batch, PE, C) activation vectors
    wvec: np.ndarray  # (G, C) weight vectors
    cum_pc: np.ndarray  # running cycles over (PE, channel), flattened
    cum_b: np.ndarray  # (PE, C, batch) running activation vectors over images
    cum_g: np.ndarray  # (C, G) running weight vectors over groups


def by_channel(pl: SCNNPlane, arch: SCNNArch) -> bool:
    """Whether this plane's input channels (not its pixels) are split over the PEs."""
    return arch.fc_mapping == "channels" and pl.is_fc


def _layer(fmap: np.ndarray, weight: np.ndarray, pl: SCNNPlane, arch: SCNNArch) -> _Layer:
    split = by_channel(pl, arch)
    tiles, th, tw = pe_tiles(fmap, arch, split)
    rows = weight_rows(weight, pl)
    na = tiles.sum(axis=(3, 4), dtype=np.int64)
    nw = group_counts(rows, pl, arch)
    av, wvec = -(-na // arch.mult_i), -(-nw // arch.mult_f)
    b, pe, c = na.shape
    _, p_idx, _, ty, tx = np.nonzero(tiles)
    a_y = ty if split else (p_idx // arch.pe_cols) * th + ty
    a_x = tx if split else (p_idx % arch.pe_cols) * tw + tx
    a_start = np.concatenate([[0], np.cumsum(na.ravel())[:-1]]).reshape(b, pe, c)
    per_pc = av.sum(axis=0) * wvec.sum(axis=0)[None, :]  # (PE, C) cycles
    return _Layer(
        rows,
        a_y,
        a_x,
        a_start,
        na,
        nw,
        av,
        wvec,
        np.cumsum(per_pc.ravel()),
        np.cumsum(av.transpose(1, 2, 0), axis=2),
        np.cumsum(wvec.T, axis=1),
    )


def _decode(ids: np.ndarray, ly: _Layer) -> tuple[np.ndarray, ...]:
    """(image, PE, group, channel, weight vector, activation vector) of cycle numbers.

    A PE's cycles are numbered channel by channel; inside a channel the activation
    vectors (over images) are the outer loop and the weight vectors (over groups) the
    inner one. Only the set of cycles matters, not their order."""
    n_c = ly.nw.shape[1]
    pc = np.searchsorted(ly.cum_pc, ids, side="right")
    local = ids - np.concatenate([[0], ly.cum_pc])[pc]
    p, c = pc // n_c, pc % n_c
    w_per = ly.cum_g[c, -1]
    ja, jw = local // w_per, local % w_per
    cb = ly.cum_b[p, c]  # (S, batch)
    b = (cb <= ja[:, None]).sum(axis=1)
    avi = ja - np.take_along_axis(cb, b[:, None], axis=1)[:, 0] + ly.av[b, p, c]
    cg = ly.cum_g[c]  # (S, G)
    g = (cg <= jw[:, None]).sum(axis=1)
    wv = jw - np.take_along_axis(cg, g[:, None], axis=1)[:, 0] + ly.wvec[g, c]
    return b, p, g, c, wv, avi


def bank_loads(
    ids: np.ndarray, ly: _Layer, pl: SCNNPlane, arch: SCNNArch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products sent to each accumulator bank by the given cycles (S, banks), the flat
    (image, PE, group) index of each cycle, and its issue position inside that PE-group
    (a sort key: channel, activation vector, weight vector)."""
    f_, i_, kc = arch.mult_f, arch.mult_i, arch.out_channel_group
    taps = pl.kernel_h * pl.kernel_w
    span = kc * taps
    b, p, g, c, wv, avi = _decode(ids, ly)
    # Weight vector: entries wv·F … wv·F+F−1 of the (channel, group) run, found by a
    # running count over that short run (Kc·kh·kw positions).
    cols = g[:, None] * span + np.arange(span)[None, :]
    seg = np.take_along_axis(ly.rows[c], np.minimum(cols, ly.rows.shape[1] - 1), axis=1)
    seg &= cols < ly.rows.shape[1]
    rank = np.cumsum(seg, axis=1, dtype=np.int32)
    target = wv[:, None] * f_ + np.arange(1, f_ + 1)[None, :]  # 1-based ranks
    pos = (rank[:, :, None] < target[:, None, :]).sum(axis=1)  # (S, F)
    ok_w = target <= rank[:, -1:]
    pos = np.minimum(pos, span - 1)
    k_local, tap = pos // taps, pos % taps
    r, s = tap // pl.kernel_w, tap % pl.kernel_w
    ja = avi[:, None] * i_ + np.arange(i_)[None, :]
    ok_a = ja < ly.na[b, p, c][:, None]
    ia = np.where(ok_a, ly.a_start[b, p, c][:, None] + ja, 0)
    oy, ox, valid = output_coords(
        ly.a_y[ia][:, None, :], ly.a_x[ia][:, None, :], r[:, :, None], s[:, :, None], pl
    )
    valid &= ok_w[:, :, None] & ok_a[:, None, :]
    nb = arch.accumulator_banks
    bank = bank_of(k_local[:, :, None], oy, ox, pl, nb)
    key = np.arange(len(ids))[:, None, None] * nb + bank
    loads = np.bincount(key[valid], minlength=len(ids) * nb).reshape(len(ids), nb)
    n_pe, n_g = ly.na.shape[1], ly.nw.shape[0]
    order = (c * (ly.av.max() + 1) + avi) * (ly.wvec.max() + 1) + wv
    return loads, (b * n_pe + p) * n_g + g, order


def queue_drain(loads: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Cycles each PE-group needs after its last issue to empty its bank queues.

    ``loads`` (cycles in issue order, banks), ``segment`` the PE-group of each cycle
    (non-decreasing). A bank retires one product per cycle (Lindley recursion), so its
    backlog after the last issue is ``max(0, max_t Σ_(τ≥t) (L_τ − 1))``: a segmented
    suffix sum, no loop over cycles. Returns one value per segment, in order.
    """
    excess = loads.astype(np.int64) - 1
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    ends = np.r_[starts[1:], len(segment)]
    before = np.cumsum(excess, axis=0) - excess  # Σ over earlier cycles (all segments)
    total_before_end = np.cumsum(excess, axis=0)[ends - 1]  # Σ up to each segment's end
    seg_of = np.repeat(np.arange(len(starts)), ends - starts)
    suffix = total_before_end[seg_of] - before  # Σ_(τ≥t) within the segment
    return np.maximum(np.maximum.reduceat(suffix.max(axis=1), starts), 0)


def _one_repeat(
    fmap: np.ndarray,
    weight: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    conflict_cycles: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    ly = _layer(fmap, weight, pl, arch)
    b_, p_, c_ = ly.av.shape
    # Ideal cycles per (image, PE, group): a product over channels (float64 BLAS, exact
    # below 2**53).
    ideal = (
        np.rint(ly.av.reshape(b_ * p_, c_).astype(np.float64) @ ly.wvec.T.astype(np.float64))
        .astype(np.int64)
        .reshape(b_, p_, -1)
    )
    issued = int(ly.na.sum(axis=(0, 1)) @ ly.nw.sum(axis=0))
    # PE input registers: an activation vector is latched once per block and held while
    # the block's weight vectors stream by, one per cycle.
    latched = {
        "a": int(ly.na.sum(axis=(0, 1)) @ (ly.nw > 0).sum(axis=0)),
        "w": int(ly.av.sum(axis=(0, 1)) @ ly.nw.sum(axis=0)),
    }
    ideal_layer = int(ideal.max(axis=1).sum())
    total = int(ly.cum_pc[-1]) if ly.cum_pc.size else 0
    if total == 0:
        return {
            "cycles": 0,
            "ideal": 0,
            "issued": issued,
            "exact": 1,
            "ratio": 1.0,
            "busy_ideal": 0,
            "pe_slots": 0,
            "latched": latched,
        }
    n_pe = ly.na.shape[1]
    pe_cycles = ideal.sum(axis=(0, 2))
    exact = total <= conflict_cycles
    if exact:
        ids = np.arange(total)
    else:
        # Stratified by PE (the slowest PE's conflicts matter, and they differ between
        # border and interior tiles): conflict_cycles / busy PEs uniform draws per PE.
        busy_pes = np.flatnonzero(pe_cycles)
        per = max(2, conflict_cycles // len(busy_pes))
        start = np.concatenate([[0], np.cumsum(pe_cycles)[:-1]])[busy_pes]
        draws = np.floor(rng.random((len(busy_pes), per)) * pe_cycles[busy_pes][:, None]).astype(
            np.int64
        )
        ids = (start[:, None] + draws).ravel()
    nb = arch.accumulator_banks
    loads = np.empty((len(ids), nb), np.int64)
    where = np.empty(len(ids), np.int64)
    order = np.empty(len(ids), np.int64)
    step = 1 << 12  # bound scratch memory
    for lo in range(0, len(ids), step):
        chunk = bank_loads(ids[lo : lo + step], ly, pl, arch)
        loads[lo : lo + step], where[lo : lo + step], order[lo : lo + step] = chunk
    strict = np.maximum(loads.max(axis=1), 1)  # a cycle lasts as long as its fullest bank
    deep = arch.crossbar_buffering == "deep"
    if exact:
        if deep:
            # Queued banks: ideal issue, then each PE-group drains its queues.
            seq = np.lexsort((order, where))
            drain = queue_drain(loads[seq], where[seq])
            actual = ideal.astype(np.float64).ravel()
            actual[np.unique(where)] += drain
            actual = actual.reshape(ideal.shape)
        else:
            actual = np.bincount(where, weights=strict, minlength=ideal.size).reshape(ideal.shape)
        ratio = float(actual.sum() / total)
    else:
        busy = busy_pes
        draws = strict.reshape(len(busy), per).astype(float)
        if deep:
            # Queued banks (sampled): a PE-group is slowed only if its busiest bank cannot
            # keep up on average (more than one product per cycle), plus the final drain,
            # estimated as the mean backlog one cycle leaves behind.
            per_bank = loads.reshape(len(busy), per, nb).transpose(0, 2, 1).astype(float)
            bank_rate = _shrunk_means(per_bank).max(axis=1)
            tail = (draws - 1).mean(axis=1)
            rate = np.ones(n_pe)
            rate[busy] = np.maximum(1.0, bank_rate)
            extra = np.zeros(n_pe)
            extra[busy] = tail
            actual = ideal * rate[None, :, None] + (ideal > 0) * extra[None, :, None]
        else:
            ratio_pe = np.ones(n_pe)
            ratio_pe[busy] = _shrunk_means(draws)
            actual = ideal * ratio_pe[None, :, None]
        ratio = float(actual.sum() / total)
    cycles = round(float(actual.max(axis=1).sum()))
    return {
        "cycles": cycles,
        "ideal": ideal_layer,
        "issued": issued,
        "exact": int(exact),
        "ratio": ratio,
        "busy_ideal": int(ideal.sum()),
        "pe_slots": ideal_layer * ideal.shape[1],
        "latched": latched,
    }


def _shrunk_means(draws: np.ndarray) -> np.ndarray:
    """Means over the last axis, shrunk toward their pooled mean over the second-to-last
    axis (empirical Bayes; leading axes are independent batches).

    The layer's time takes a MAX (over PEs, over banks), which turns sampling noise in the
    means into an upward bias; shrinking each mean by its estimated noise share removes
    most of it.
    """
    means = draws.mean(axis=-1)
    rows, n = draws.shape[-2:]
    if rows < 2 or n < 2:
        return means
    noise = draws.var(axis=-1, ddof=1).mean(axis=-1, keepdims=True) / n
    between = np.maximum(0.0, means.var(axis=-1, ddof=1, keepdims=True) - noise)
    total = between + noise
    keep = np.divide(between, total, out=np.zeros_like(total), where=total > 0)
    pooled = means.mean(axis=-1, keepdims=True)
    return pooled + keep * (means - pooled)


def evaluate_scnn(
    gemm: Gemm,
    arch: SCNNArch,
    weight_mask: object,
    act_mask: object,
    *,
    input_mask: np.ndarray | None = None,
    conflict_cycles: int | None = None,
    rng: np.random.Generator | None = None,
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on SCNN, from its masks.

    ``weight_mask`` bool (k, n) or (repeat, k, n); ``act_mask`` bool (m, k) or
    (repeat, m, k). ``input_mask`` (conv only): the input feature-map mask (batch,
    channels, H, W) with all groups' channels, used instead of folding ``act_mask``.
    ``rng`` draws the bank-conflict sample of large layers (default: seeded with 0).
    Compute cycles only (DRAM stalls are the memory model's).
    """
    if conflict_cycles is None:
        # Queued banks with at least 2 banks per product slot rarely back up: a smaller
        # sample suffices. Bank-bound or strictly arbitrated crossbars need the larger one.
        light = (
            arch.crossbar_buffering == "deep"
            and arch.accumulator_banks >= 2 * arch.mult_f * arch.mult_i
        )
        conflict_cycles = DEEP_CONFLICT_CYCLES if light else DEFAULT_CONFLICT_CYCLES
    if conflict_cycles <= 0:
        raise WorkloadError(f"conflict_cycles must be positive, got {conflict_cycles}")
    weight, act = mask_arrays(gemm, weight_mask, act_mask)
    rng = rng if rng is not None else np.random.default_rng(0)
    pl = scnn_plane(gemm)
    if input_mask is not None:
        if gemm.conv is None:
            raise WorkloadError(f"layer {gemm.name!r}: input_mask applies to conv layers only")
        cv = gemm.conv
        want = (pl.batch, cv.in_channels, cv.in_h, cv.in_w)
        if np.shape(input_mask) != want:
            raise WorkloadError(
                f"layer {gemm.name!r}: input_mask has shape {np.shape(input_mask)}, expected {want}"
            )
    cycles = ideal = issued = 0
    valid_products = busy_ideal = pe_slots = nnz_in = latched_w = latched_a = 0
    ratios, exact_all = [], True
    reps, scale = distinct_repeats(gemm, weight_mask, act_mask)
    if input_mask is not None:
        reps, scale = gemm.repeat, 1  # groups read different channels
    # The sampling budget is per GEMM, shared by its distinct repeats (heads, groups).
    budget = max(1024, conflict_cycles // reps)
    for rep in range(reps):
        if input_mask is not None:
            fmap = np.asarray(input_mask)[:, rep * pl.channels : (rep + 1) * pl.channels] != 0
        else:
            fmap = plane_operands(gemm, pl, weight[rep], act[rep])[0]
        im = im2col(fmap, pl) if gemm.conv is not None else act[rep]
        nnz_in += int(fmap.sum(dtype=np.int64))
        res = _one_repeat(fmap, weight[rep], pl, arch, budget, rng)
        cycles += res["cycles"]
        ideal += res["ideal"]
        issued += res["issued"]
        busy_ideal += res["busy_ideal"]
        latched_w += res["latched"]["w"]
        latched_a += res["latched"]["a"]
        pe_slots += res["pe_slots"]
        ratios.append(res["ratio"])
        exact_all &= bool(res["exact"])
        valid_products += effectual_macs(weight[rep][None], im[None])
    cycles, ideal, issued, busy_ideal, pe_slots, latched_w, latched_a, valid_products, nnz_in = (
        x * scale
        for x in (
            cycles,
            ideal,
            issued,
            busy_ideal,
            pe_slots,
            latched_w,
            latched_a,
            valid_products,
            nnz_in,
        )
    )
    reduce_adds = 0
    if by_channel(pl, arch):
        pes = arch.pe_rows * arch.pe_cols
        used = -(-pl.channels // -(-pl.channels // pes))  # PEs holding channels
        reduce_adds = (used - 1) * gemm.repeat * gemm.m * gemm.n
    # With input_mask the feature map defines the work (valid products); otherwise the
    # GEMM masks do (folding ORs windows, so valid products ≥ effectual).
    effectual = effectual_macs(weight, act)
    vb, ib = arch.value_bits, arch.index_bits
    groups = -(-gemm.n // arch.out_channel_group)
    nnz_w = int(weight.sum(dtype=np.int64))
    actions = {
        "mac": float(issued),
        "crossbar_transfer": float(valid_products),
        # Channel-split FC layers also add up every PE's partial outputs.
        "accumulator_access": float(valid_products + reduce_adds),
        # Each image re-broadcasts every weight group; each PE re-reads its input tile
        # once per output-channel group.
        "glb_read_bits.weight": float(pl.batch * nnz_w * vb),
        "glb_read_bits.act": float(groups * nnz_in * vb),
        "glb_read_bits.meta": float((pl.batch * nnz_w + groups * nnz_in) * ib),
        "glb_write_bits.out": float(gemm.repeat * gemm.m * gemm.n * vb),
        "pe_reg_bits.weight": float(latched_w * vb),
        "pe_reg_bits.act": float(latched_a * vb),
    }
    details = {
        "model": "scnn",
        "ideal_cycles": ideal,
        "bank_conflict_cycles": cycles - ideal,
        "bank_conflicts": "exact" if exact_all else f"sampled ({conflict_cycles} cycles)",
        "conflict_ratio": float(np.mean(ratios)) if ratios else 1.0,
        "wasted_products": issued - valid_products,
        # Fraction of multiplier slots filled in issued cycles (intra-PE fragmentation).
        "multiplier_slot_use": issued / (busy_ideal * arch.mult_f * arch.mult_i)
        if busy_ideal
        else 0.0,
        # Mean PE work over the slowest PE's, per group barrier (inter-PE balance).
        "pe_balance": busy_ideal / pe_slots if pe_slots else 0.0,
    }
    return Counts(
        compute_cycles=cycles,
        stall_cycles=0,
        macs_dense=gemm.macs,
        macs_issued=issued,
        macs_effectual=valid_products if input_mask is not None else effectual,
        pe_count=arch.pe_count,
        actions=actions,
        details=details,
    )
