"""Cycle-level reference of SCNN (small layers).

Moves real values through SCNN's PE grid one cycle at a time: for every image, output-
channel group (a barrier: the slowest PE sets the group's time), PE and input channel, the
PE streams its compressed weights (group's output channels, (k, r, s) order) in vectors of
F and its tile's compressed activations ((y, x) order) in vectors of I (an activation
vector is held while the weight vectors stream by); each cycle it forms the F×I products,
drops those whose output is out of the plane (or off-stride), and routes the rest through
the scatter crossbar to the accumulator banks. With ``crossbar_buffering="none"`` a cycle
lasts as long as its most loaded bank (one product per bank per cycle); with ``"deep"``
each bank queues its products and retires one per cycle, and the PE drains its queues
before the group barrier. The output must equal ``A·W``.

Only the plane's sizes (:func:`sod.mapping.scnn.scnn_plane`: batch, channels, input and
output plane, kernel, stride, padding, dilation, and the FC plane layout) are shared with
the analytic model, through :mod:`sod.mapping`; nothing is imported from
:mod:`sod.models`. Everything else is re-derived here, in plain loops, from SCNN's
definition: the feature map and kernels read entry by entry out of the GEMM operands, the
planar tiles and channel slices, the output coordinate of each product, the accumulator
bank (linear address ``(k_local·OH + oy)·OW + ox`` of the group-local output, modulo the
bank count), as well as the streams, vectors, products and cycle accounting.

``stride_mapping="polyphase"`` (a strided, undilated convolution): each input channel c is
run as its phases (p, q) (p < min(stride_h, kh), q < min(stride_w, kw)), in that order: the
weight stream holds the taps r ≡ p (mod stride_h), s ≡ q (mod stride_w) ((k, r, s) order),
the activation stream the pixels ``(stride_h·j + p − pad_h, stride_w·i + q − pad_w)`` of the
PE's tile of the phase plane (j < OH + ⌈kh/stride_h⌉ − 1, i likewise; (j, i) order,
planar tiles of that plane). Products keep their real coordinates, so the same
off-stride / out-of-plane checks apply (and never fire off-stride).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.mapping.scnn import SCNNPlane, accumulator_tiling, polyphase_plane, scnn_plane
from sod.workload.gemm import Gemm


@dataclass(frozen=True)
class SCNNRun:
    """Result of a reference run."""

    output: np.ndarray  # (repeat, m, n) int64
    cycles: int
    products: int  # products computed (issued), wasted ones included
    valid_products: int  # products that reached an accumulator
    # Most distinct partial sums one PE held in one pass of one group: must fit the
    # accumulator banks (banks x entries).
    most_partial_sums: int = 0


def simulate_scnn(
    gemm: Gemm,
    arch: SCNNArch,
    w: np.ndarray,
    a: np.ndarray,
    fmap: np.ndarray | None = None,
    queue_depth: int | None = None,
) -> SCNNRun:
    """Run one GEMM. ``w``: (k, n) or (repeat, k, n) ints; ``a``: (m, k) or (repeat, m, k)
    ints (im2col'd for convs), or pass the input feature map ``fmap`` (batch, C, H, W).

    ``queue_depth`` (only with ``crossbar_buffering="deep"``; None = unbounded, as the
    analytic model assumes) bounds each bank's backlog: a cycle's products wait (the PE
    stalls) while a non-empty bank queue would grow beyond it. It measures how deep the
    queues must be for the unbounded model to hold (docs/sparse-accelerators.md).
    """
    pl = scnn_plane(gemm)
    w3 = w if w.ndim == 3 else np.broadcast_to(w, (gemm.repeat, *w.shape))
    a3 = a if a.ndim == 3 else np.broadcast_to(a, (gemm.repeat, *a.shape))
    # Kc and the sub-tile passes: the mapping's policy (sod.mapping.scnn), run here on a
    # grid of pe_rows·py x pe_cols·px sub-tiles, PE (ry, rx) taking sub-tile
    # (ry·py + i, rx·px + j) in pass (i, j).
    poly = _polyphase(pl, arch)
    tiling = accumulator_tiling(polyphase_plane(pl) if poly else pl, arch)
    py, px = tiling.passes_y, tiling.passes_x
    arch = arch.model_copy(
        update={
            "out_channel_group": tiling.out_channel_group,
            "pe_rows": arch.pe_rows * py,
            "pe_cols": arch.pe_cols * px,
        }
    )
    kc = tiling.out_channel_group
    vcols = arch.pe_cols
    passes = [
        [
            (ry * py + i) * vcols + rx * px + j
            for ry in range(arch.pe_rows // py)
            for rx in range(vcols // px)
        ]
        for i in range(py)
        for j in range(px)
    ]
    out = np.zeros((gemm.repeat, gemm.m, gemm.n), np.int64)
    cycles = products = valid_products = most_sums = 0
    for rep in range(gemm.repeat):
        kern = _kernels(w3[rep], pl)
        if fmap is not None:
            fm = fmap[:, rep * pl.channels : (rep + 1) * pl.channels]
        else:
            fm = _feature_map(a3[rep], pl, gemm.conv is not None)
        acc = np.zeros((pl.batch, pl.out_channels, pl.out_h, pl.out_w), np.int64)
        split = arch.fc_mapping == "channels" and pl.is_fc
        work = _pe_work(pl, arch, poly)
        for b in range(pl.batch):
            for k0 in range(0, pl.out_channels, kc):
                for pes in passes:
                    slowest = 0
                    partials = []
                    for pe in pes:
                        chans = work[pe][0]
                        # A channel-split PE accumulates its own partial outputs.
                        pe_acc = np.zeros_like(acc) if split else acc
                        sums: set[tuple[int, int, int]] = set()
                        t, n_prod, n_valid = _run_pe(
                            fm, kern, b, k0, work[pe], pe_acc, pl, arch, queue_depth, sums
                        )
                        products += n_prod
                        valid_products += n_valid
                        most_sums = max(most_sums, len(sums))
                        slowest = max(slowest, t)
                        if split and len(chans):
                            partials.append(pe_acc)
                    cycles += slowest
                    if split:
                        cycles += _reduce_tree(partials, acc, b, k0, pl, arch)
        out[rep] = _to_gemm(acc, pl, gemm)
    return SCNNRun(out, cycles, products, valid_products, most_sums)


def _reduce_tree(
    partials: list[np.ndarray], acc: np.ndarray, b: int, k0: int, pl: SCNNPlane, arch: SCNNArch
) -> int:
    """Add up the channel-split PEs' partial outputs of one image and output-channel group
    into ``acc``, pairwise (PE i + 2^s receives from PE i each stage), the receiving PE
    adding ``accumulator_banks`` values a cycle; returns the cycles it took."""
    k1 = min(k0 + int(arch.out_channel_group), pl.out_channels)
    cycles = 0
    live = [p[b, k0:k1].reshape(-1).copy() for p in partials]
    while len(live) > 1:
        stage = 0
        nxt = []
        for i in range(0, len(live), 2):
            if i + 1 == len(live):
                nxt.append(live[i])  # odd one out waits for the next stage
                continue
            dst, src = live[i + 1], live[i]
            t = 0
            for lo in range(0, src.size, arch.accumulator_banks):
                dst[lo : lo + arch.accumulator_banks] += src[lo : lo + arch.accumulator_banks]
                t += 1
            stage = max(stage, t)
            nxt.append(dst)
        cycles += stage
        live = nxt
    if live:
        acc[b, k0:k1] += live[0].reshape(acc[b, k0:k1].shape)
    return cycles


def _kernels(w: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Kernels (K, C, kh, kw): W row ``(c·kh + r)·kw + s``, column k (im2col order)."""
    kern = np.zeros((pl.out_channels, pl.channels, pl.kernel_h, pl.kernel_w), w.dtype)
    for k in range(pl.out_channels):
        for c in range(pl.channels):
            for r in range(pl.kernel_h):
                for s in range(pl.kernel_w):
                    kern[k, c, r, s] = w[(c * pl.kernel_h + r) * pl.kernel_w + s, k]
    return kern


def _feature_map(a: np.ndarray, pl: SCNNPlane, conv: bool) -> np.ndarray:
    """Input feature map (batch, C, H, W) read out of the GEMM operand A (m, k).

    Conv: A row ``(b·OH + oy)·OW + ox``, column ``(c·kh + r)·kw + s`` reads input pixel
    ``(oy·stride − pad + r·dilation, ox·stride − pad + s·dilation)`` of channel c (out of
    the plane: padding, not stored). Taps are visited in (r, s) order and a later non-zero
    read wins (all agree for a real im2col). FC: A row i is pixel ``(i // W, i mod W)``.
    """
    fm = np.zeros((pl.batch, pl.channels, pl.in_h, pl.in_w), a.dtype)
    if not conv:
        for i in range(a.shape[0]):
            for c in range(pl.channels):
                fm[0, c, i // pl.in_w, i % pl.in_w] = a[i, c]
        return fm
    for r in range(pl.kernel_h):
        for s in range(pl.kernel_w):
            for b in range(pl.batch):
                for oy in range(pl.out_h):
                    iy = oy * pl.stride_h - pl.pad_h + r * pl.dilation_h
                    for ox in range(pl.out_w):
                        ix = ox * pl.stride_w - pl.pad_w + s * pl.dilation_w
                        if not (0 <= iy < pl.in_h and 0 <= ix < pl.in_w):
                            continue
                        row = (b * pl.out_h + oy) * pl.out_w + ox
                        for c in range(pl.channels):
                            val = a[row, (c * pl.kernel_h + r) * pl.kernel_w + s]
                            if val != 0:
                                fm[b, c, iy, ix] = val
    return fm


def _polyphase(pl: SCNNPlane, arch: SCNNArch) -> tuple[int, int, int, int] | None:
    """Polyphase: (phases along y, along x, phase-plane rows, cols), or None (direct)."""
    sh, sw = pl.stride_h, pl.stride_w
    if arch.stride_mapping != "polyphase" or pl.is_fc or (sh == 1 and sw == 1):
        return None
    if pl.dilation_h != 1 or pl.dilation_w != 1:
        return None
    rows = pl.out_h + (pl.kernel_h + sh - 1) // sh - 1
    cols = pl.out_w + (pl.kernel_w + sw - 1) // sw - 1
    return min(sh, pl.kernel_h), min(sw, pl.kernel_w), rows, cols


def _pe_work(
    pl: SCNNPlane, arch: SCNNArch, poly: tuple[int, int, int, int] | None = None
) -> list[tuple[range, range, range]]:
    """(channels, rows, cols) of the input each PE holds, PE by PE (row-major).

    Planar tiling: PE (py, px) holds rows ``py·th … py·th + th − 1`` and columns
    ``px·tw …`` (``th = ceil(H / pe_rows)``, ``tw = ceil(W / pe_cols)``) of every channel.
    ``fc_mapping="channels"`` on an FC plane: PE p holds the whole plane of channels
    ``p·per … p·per + per − 1``, ``per = ceil(C / PEs)``. Polyphase: rows and cols are
    those of the phase plane (``poly``), tiled the same way.
    """
    in_h, in_w = (pl.in_h, pl.in_w) if poly is None else (poly[2], poly[3])
    th, tw = -(-in_h // arch.pe_rows), -(-in_w // arch.pe_cols)
    per = -(-pl.channels // (arch.pe_rows * arch.pe_cols))
    split = arch.fc_mapping == "channels" and pl.is_fc
    work = []
    for py in range(arch.pe_rows):
        for px in range(arch.pe_cols):
            if split:
                pe = py * arch.pe_cols + px
                chans = range(pe * per, min((pe + 1) * per, pl.channels))
                work.append((chans, range(pl.in_h), range(pl.in_w)))
            else:
                ys = range(py * th, min((py + 1) * th, in_h))
                xs = range(px * tw, min((px + 1) * tw, in_w))
                work.append((range(pl.channels), ys, xs))
    return work


def _run_pe(
    fm: np.ndarray,
    kern: np.ndarray,
    b: int,
    k0: int,
    work: tuple[range, range, range],
    acc: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    queue_depth: int | None,
    sums: set[tuple[int, int, int]],
) -> tuple[int, int, int]:
    """One PE's share of one image and output-channel group: (cycles, products, valid
    products), accumulating into ``acc``."""
    f_, i_ = arch.mult_f, arch.mult_i
    deep = arch.crossbar_buffering == "deep"
    t = products = valid_products = 0
    backlog = [0] * arch.accumulator_banks  # queued products per bank
    for _c, ws, acts in _streams(fm, kern, b, k0, work, pl, arch):
        # Activation vector held, weight vectors stream (one a cycle).
        for av in range(0, len(acts), i_):
            for wv in range(0, len(ws), f_):
                loads, nv = _cycle(ws[wv : wv + f_], acts[av : av + i_], k0, b, acc, pl, arch, sums)
                valid_products += nv
                products += len(ws[wv : wv + f_]) * len(acts[av : av + i_])
                if deep and queue_depth is not None:
                    while any(
                        q > 0 and q + ld - 1 > queue_depth
                        for q, ld in zip(backlog, loads, strict=True)
                    ):
                        backlog = [max(q - 1, 0) for q in backlog]
                        t += 1  # stall: queues drain, nothing issues
                if deep:
                    # Issue, then every bank retires one product.
                    backlog = [max(q + ld - 1, 0) for q, ld in zip(backlog, loads, strict=True)]
                    t += 1
                else:
                    t += max(1, max(loads))
    t += max(backlog)  # drain the bank queues before the barrier
    return t, products, valid_products


def _streams(
    fm: np.ndarray,
    kern: np.ndarray,
    b: int,
    k0: int,
    work: tuple[range, range, range],
    pl: SCNNPlane,
    arch: SCNNArch,
) -> list[tuple[int, list, list]]:
    """(channel, weight stream, activation stream) of one PE, one image and one group, in
    the order the PE runs them: per channel, or per (channel, phase) when polyphase."""
    chans, ys, xs = work
    ks = range(k0, min(k0 + int(arch.out_channel_group), pl.out_channels))
    poly = _polyphase(pl, arch)
    out = []
    for c in chans:
        if poly is None:
            ws = [
                (k, r, s, int(kern[k, c, r, s]))
                for k in ks
                for r in range(pl.kernel_h)
                for s in range(pl.kernel_w)
                if kern[k, c, r, s] != 0
            ]
            acts = [(y, x, int(fm[b, c, y, x])) for y in ys for x in xs if fm[b, c, y, x] != 0]
            out.append((c, ws, acts))
            continue
        sh, sw = pl.stride_h, pl.stride_w
        for p in range(poly[0]):
            for q in range(poly[1]):
                ws = [
                    (k, r, s, int(kern[k, c, r, s]))
                    for k in ks
                    for r in range(p, pl.kernel_h, sh)
                    for s in range(q, pl.kernel_w, sw)
                    if kern[k, c, r, s] != 0
                ]
                acts = []
                for j in ys:
                    for i in xs:
                        y, x = sh * j + p - pl.pad_h, sw * i + q - pl.pad_w
                        if 0 <= y < pl.in_h and 0 <= x < pl.in_w and fm[b, c, y, x] != 0:
                            acts.append((y, x, int(fm[b, c, y, x])))
                out.append((c, ws, acts))
    return out


def _cycle(
    ws: list,
    acts: list,
    k0: int,
    b: int,
    acc: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    sums: set[tuple[int, int, int]],
) -> tuple[list[int], int]:
    """One F×I cycle: multiply, drop invalid products, scatter. (products per bank,
    valid count); ``sums`` collects the partial sums (k, oy, ox) the PE holds."""
    loads = [0] * arch.accumulator_banks
    valid = 0
    for k, r, s, wval in ws:
        for y, x, aval in acts:
            ny = y + pl.pad_h - r * pl.dilation_h
            nx = x + pl.pad_w - s * pl.dilation_w
            if ny < 0 or nx < 0 or ny % pl.stride_h or nx % pl.stride_w:
                continue
            oy, ox = ny // pl.stride_h, nx // pl.stride_w
            if oy >= pl.out_h or ox >= pl.out_w:
                continue
            if oy * pl.out_w + ox >= pl.rows:  # padding pixels of an FC plane
                continue
            acc[b, k, oy, ox] += wval * aval
            sums.add((k, oy, ox))
            valid += 1
            # Bank: linear address of the group-local output, modulo the bank count.
            address = ((k - k0) * pl.out_h + oy) * pl.out_w + ox
            loads[address % arch.accumulator_banks] += 1
    return loads, valid


def _to_gemm(acc: np.ndarray, pl: SCNNPlane, gemm: Gemm) -> np.ndarray:
    """Output (batch, K, OH, OW) back to the GEMM's (m, n)."""
    if gemm.conv is not None:
        return acc.transpose(0, 2, 3, 1).reshape(gemm.m, gemm.n)
    return acc.reshape(pl.out_channels, -1)[:, : gemm.m].T
