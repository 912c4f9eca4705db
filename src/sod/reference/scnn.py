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

Only the geometry (:func:`sod.models.scnn.scnn_plane`), the bank hash
(:func:`sod.models.scnn.bank_of`) and the feature-map fold are shared with the analytic
model; the streams, vectors, products and cycle accounting are built here independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.models.scnn import (
    SCNNPlane,
    bank_of,
    by_channel,
    kernels_of,
    plane_operands,
    scnn_plane,
)
from sod.workload.gemm import Gemm


@dataclass(frozen=True)
class SCNNRun:
    """Result of a reference run."""

    output: np.ndarray  # (repeat, m, n) int64
    cycles: int
    products: int  # products computed (issued), wasted ones included
    valid_products: int  # products that reached an accumulator


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
    f_, i_, kc = arch.mult_f, arch.mult_i, arch.out_channel_group
    th, tw = -(-pl.in_h // arch.pe_rows), -(-pl.in_w // arch.pe_cols)
    out = np.zeros((gemm.repeat, gemm.m, gemm.n), np.int64)
    cycles = products = valid_products = 0
    deep = arch.crossbar_buffering == "deep"
    split = by_channel(pl, arch)
    per = -(-pl.channels // (arch.pe_rows * arch.pe_cols))
    for rep in range(gemm.repeat):
        if fmap is not None:
            fm = fmap[:, rep * pl.channels : (rep + 1) * pl.channels]
            kern = kernels_of(w3[rep], pl)
        else:
            fm, kern = plane_operands(gemm, pl, w3[rep], a3[rep])
        acc = np.zeros((pl.batch, pl.out_channels, pl.out_h, pl.out_w), np.int64)
        for b in range(pl.batch):
            for k0 in range(0, pl.out_channels, kc):
                slowest = 0
                for py in range(arch.pe_rows):
                    for px in range(arch.pe_cols):
                        if split:  # this PE: every pixel of a slice of the channels
                            pe = py * arch.pe_cols + px
                            chans = range(pe * per, min((pe + 1) * per, pl.channels))
                            ys, xs = range(pl.in_h), range(pl.in_w)
                        else:  # this PE: a planar tile of every channel
                            chans = range(pl.channels)
                            ys = range(py * th, min((py + 1) * th, pl.in_h))
                            xs = range(px * tw, min((px + 1) * tw, pl.in_w))
                        t = 0
                        backlog = [0] * arch.accumulator_banks  # queued products per bank
                        for c in chans:
                            ws = [
                                (k, r, s, int(kern[k, c, r, s]))
                                for k in range(k0, min(k0 + kc, pl.out_channels))
                                for r in range(pl.kernel_h)
                                for s in range(pl.kernel_w)
                                if kern[k, c, r, s] != 0
                            ]
                            acts = [
                                (y, x, int(fm[b, c, y, x]))
                                for y in ys
                                for x in xs
                                if fm[b, c, y, x] != 0
                            ]
                            # Activation vector held, weight vectors stream (one a cycle).
                            for av in range(0, len(acts), i_):
                                for wv in range(0, len(ws), f_):
                                    loads, nv = _cycle(
                                        ws[wv : wv + f_], acts[av : av + i_], k0, b, acc, pl, arch
                                    )
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
                                        backlog = [
                                            max(q + ld - 1, 0)
                                            for q, ld in zip(backlog, loads, strict=True)
                                        ]
                                        t += 1
                                    else:
                                        t += max(1, max(loads))
                        t += max(backlog)  # drain the bank queues before the barrier
                        slowest = max(slowest, t)
                cycles += slowest
        out[rep] = _to_gemm(acc, pl, gemm)
    return SCNNRun(out, cycles, products, valid_products)


def _cycle(
    ws: list, acts: list, k0: int, b: int, acc: np.ndarray, pl: SCNNPlane, arch: SCNNArch
) -> tuple[list[int], int]:
    """One F×I cycle: multiply, drop invalid products, scatter. (products per bank,
    valid count)."""
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
            valid += 1
            bank = int(
                bank_of(np.int64(k - k0), np.int64(oy), np.int64(ox), pl, arch.accumulator_banks)
            )
            loads[bank] += 1
    return loads, valid


def _to_gemm(acc: np.ndarray, pl: SCNNPlane, gemm: Gemm) -> np.ndarray:
    """Output (batch, K, OH, OW) back to the GEMM's (m, n)."""
    if gemm.conv is not None:
        return acc.transpose(0, 2, 3, 1).reshape(gemm.m, gemm.n)
    return acc.reshape(pl.out_channels, -1)[:, : gemm.m].T
