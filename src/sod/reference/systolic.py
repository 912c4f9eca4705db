"""Cycle-level R×C systolic array (WS, OS, IS) moving real int8 values register to register.

Every cycle each PE takes its operands from its left / upper neighbour's registers (or the
array edge), multiplies int8 × int8 and accumulates in int32, exactly as the hardware
would; numpy vectorizes each cycle across PEs and across folds (folds run one after
another on the real array, each from a clean pipeline, so simulating them side by side
and adding their cycle counts is exact). Timing follows SCALE-Sim 3.0.0 per fold:

* WS / IS: the stationary tile is shifted in from the top, one row per cycle (the first
  row pushed ends at the bottom); then the streamed operand enters skewed (row ``r`` gets
  element ``t`` at step ``t + r``), values move right, partial sums move down, and the last
  sum leaves the bottom of column ``C − 1`` at step ``T + R + C − 3``: ``R + T + R + C − 2``.
* OS: both operands stream skewed (A from the left, W from the top) and accumulate in
  place: ``T + R + C − 2``; outputs drain while the next fold runs (as in SCALE-Sim).

The weight operand W arrives as a *feed*: per W stream, the dense vectors in the order the
array consumes them and the cycle each becomes available (from the decompression unit;
:func:`ideal_feed` gives one per cycle). When the next W vector is late the whole array
freezes for that cycle (registers hold): a stall. ``cycles`` follows SCALE-Sim's count:
the sum of the folds' cycles minus one (it reports the index of the last cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.errors import SodError

_MAX_ELEMS = 1 << 22  # bound on per-batch state (folds × max(R·C, T·lanes)) to cap memory


class ArrayError(SodError):
    """Bad input to the cycle-level array (shapes, dataflow)."""


@dataclass(frozen=True, eq=False)
class WFeed:
    """The W operand as the array receives it.

    ``vectors[s, j]`` is the ``j``-th dense vector of W stream ``s`` (``lanes`` wide), and
    ``ready[s, j]`` the cycle it becomes available, counted from the start of the phase in
    which the array consumes W (the stationary load for WS, the stream for OS and IS).
    ``fold_stream[f]`` says which stream fold ``f`` consumes (OS re-reads a stream per
    m-block, IS streams all of W per m-block).
    """

    vectors: np.ndarray  # (S, V, lanes)
    ready: np.ndarray  # (S, V) int64, non-decreasing by >= 1, ready[:, j] >= j
    fold_stream: np.ndarray  # (F,) int64


@dataclass(frozen=True, eq=False)
class ArrayResult:
    output: np.ndarray  # (m, n) int32
    fold_cycles: np.ndarray  # (F,) cycles of each fold, stalls included
    stall_cycles: np.ndarray  # (F,) cycles each fold waited for W
    rows: int
    cols: int
    dataflow: str

    @property
    def cycles(self) -> int:
        """SCALE-Sim convention: total cycles − 1 (the index of the last cycle)."""
        return int(self.fold_cycles.sum()) - 1

    @property
    def total_stall_cycles(self) -> int:
        return int(self.stall_cycles.sum())


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def fold_grid(
    m: int,
    k: int,
    n: int,
    rows: int,
    cols: int,
    dataflow: str,
) -> list[tuple[int, int]]:
    """Folds in SCALE-Sim's order, as (row block, column block) of (Sr, Sc)."""
    df = _dataflow(dataflow)
    sr, sc = {"ws": (k, n), "os": (m, n), "is": (k, m)}[df]
    return [(rb, cb) for cb in range(_ceil(sc, cols)) for rb in range(_ceil(sr, rows))]


def _dataflow(dataflow: str) -> str:
    df = str(getattr(dataflow, "value", dataflow)).lower()
    if df not in ("ws", "os", "is"):
        raise ArrayError(f"unknown dataflow {dataflow!r}; choose from: ws, os, is")
    return df


def ideal_feed(w: np.ndarray, m: int, rows: int, cols: int, dataflow: str) -> WFeed:
    """W consumed straight from a dense buffer: one vector per cycle, never late."""
    df = _dataflow(dataflow)
    k, n = w.shape
    w = w.astype(np.int32)
    streams, fold_stream = [], []
    if df == "ws":  # per fold (kb, nb): R vectors of C lanes, bottom row first
        for kb, nb in fold_grid(m, k, n, rows, cols, df):
            blk = np.zeros((rows, cols), np.int32)
            part = w[kb * rows : (kb + 1) * rows, nb * cols : (nb + 1) * cols]
            blk[: part.shape[0], : part.shape[1]] = part
            streams.append(blk[::-1])
        fold_stream = list(range(len(streams)))
    elif df == "os":  # per column block: K vectors of C lanes; every m-block re-reads it
        for nb in range(_ceil(n, cols)):
            blk = np.zeros((k, cols), np.int32)
            part = w[:, nb * cols : (nb + 1) * cols]
            blk[:, : part.shape[1]] = part
            streams.append(blk)
        fold_stream = [nb for _, nb in fold_grid(m, k, n, rows, cols, df)]
    else:  # is: per k-block: N vectors (columns of W) of R lanes
        for kb in range(_ceil(k, rows)):
            blk = np.zeros((n, rows), np.int32)
            part = w[kb * rows : (kb + 1) * rows, :].T
            blk[:, : part.shape[1]] = part
            streams.append(blk)
        fold_stream = [kb for kb, _ in fold_grid(m, k, n, rows, cols, df)]
    vec = np.stack(streams)
    ready = np.broadcast_to(np.arange(vec.shape[1], dtype=np.int64), vec.shape[:2]).copy()
    return WFeed(vec, ready, np.asarray(fold_stream, dtype=np.int64))


def run_array(
    a: np.ndarray,
    feed: WFeed,
    n: int,
    rows: int,
    cols: int,
    dataflow: str,
) -> ArrayResult:
    """Simulate ``O = A · W`` (A: m × k int8, W given by ``feed``) cycle by cycle."""
    df = _dataflow(dataflow)
    a = np.asarray(a)
    if a.ndim != 2 or rows <= 0 or cols <= 0 or n <= 0:
        raise ArrayError(
            f"need a 2-D A, a positive n and array size, got A {a.shape}, "
            f"n={n}, array {rows}x{cols}"
        )
    m, k = a.shape
    folds = fold_grid(m, k, n, rows, cols, df)
    lanes = cols if df in ("ws", "os") else rows
    expect_v = {"ws": rows, "os": k, "is": n}[df]
    if (
        feed.vectors.ndim != 3
        or feed.vectors.shape[1:] != (expect_v, lanes)
        or feed.fold_stream.shape != (len(folds),)
    ):
        raise ArrayError(
            f"{df}: W feed of shape {feed.vectors.shape} for {len(folds)} folds "
            f"does not fit (expected streams of {expect_v} vectors x {lanes} lanes)"
        )
    a32 = a.astype(np.int32)
    out = np.zeros((m, n), dtype=np.int32)
    fold_cycles = np.zeros(len(folds), np.int64)
    stalls = np.zeros(len(folds), np.int64)
    t_len = {"ws": m, "os": k, "is": n}[df]
    batch = max(1, _MAX_ELEMS // max(rows * cols, t_len * max(rows, cols)))
    for lo in range(0, len(folds), batch):
        idx = np.arange(lo, min(lo + batch, len(folds)))
        blocks = [folds[i] for i in idx]
        fs = feed.fold_stream[idx]
        wv, wr = feed.vectors[fs].astype(np.int32), feed.ready[fs]
        if df == "ws":
            stream = np.stack(
                [_pad_cols(a32[:, rb * rows : (rb + 1) * rows], rows) for rb, _ in blocks]
            )
            res, cyc, st = _stationary(wv, wr, stream, None, rows, cols)
            for (_, nb), r in zip(blocks, res, strict=True):
                c1 = min(n, (nb + 1) * cols)
                out[:, nb * cols : c1] += r[:, : c1 - nb * cols]
        elif df == "is":
            stat = []
            for rb, cb in blocks:  # A^T tile: k rows, m columns, bottom row pushed first
                blk = np.zeros((rows, cols), np.int32)
                part = a32[cb * cols : (cb + 1) * cols, rb * rows : (rb + 1) * rows].T
                blk[: part.shape[0], : part.shape[1]] = part
                stat.append(blk[::-1])
            stat_ready = np.broadcast_to(np.arange(rows), (len(blocks), rows))
            res, cyc, st = _stationary(np.stack(stat), stat_ready, wv, wr, rows, cols)
            for (_, cb), r in zip(blocks, res, strict=True):
                c1 = min(m, (cb + 1) * cols)
                out[cb * cols : c1, :] += r[:, : c1 - cb * cols].T
        else:
            stream = np.stack(
                [_pad_cols(a32[rb * rows : (rb + 1) * rows, :].T, rows) for rb, _ in blocks]
            )
            res, cyc, st = _output_stationary(stream, wv, wr, rows, cols)
            for (rb, nb), r in zip(blocks, res, strict=True):
                r1, c1 = min(m, (rb + 1) * rows), min(n, (nb + 1) * cols)
                out[rb * rows : r1, nb * cols : c1] = r[: r1 - rb * rows, : c1 - nb * cols]
        fold_cycles[idx], stalls[idx] = cyc, st
    return ArrayResult(out, fold_cycles, stalls, rows, cols, df)


def run_dense(
    a: np.ndarray,
    w: np.ndarray,
    rows: int,
    cols: int,
    dataflow: str,
) -> ArrayResult:
    """The array fed from dense buffers (no decompression): ``O = A · W``."""
    a, w = np.asarray(a), np.asarray(w)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ArrayError(f"A {a.shape} and W {w.shape} do not multiply")
    return run_array(
        a, ideal_feed(w, a.shape[0], rows, cols, dataflow), w.shape[1], rows, cols, dataflow
    )


def _pad_cols(x: np.ndarray, width: int) -> np.ndarray:
    if x.shape[1] == width:
        return x
    out = np.zeros((x.shape[0], width), x.dtype)
    out[:, : x.shape[1]] = x
    return out


def _stationary(
    stat: np.ndarray,
    stat_ready: np.ndarray,
    stream: np.ndarray,
    stream_ready: np.ndarray | None,
    rows: int,
    cols: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WS/IS folds side by side. ``stat`` (F, R, C) rows pushed in order at ``stat_ready``;
    ``stream`` (F, T, R) element ``t`` enters row ``r`` at step ``t + r``, available from
    ``stream_ready`` (F, T) (None: always). Returns (outputs (F, T, C), cycles, stalls)."""
    nf, t_len, _ = stream.shape
    fi = np.arange(nf)
    # Load: the column of weight registers shifts down on every push.
    wreg = np.zeros((nf, rows, cols), np.int32)
    pushed = np.zeros(nf, np.int64)
    load_cycles = np.zeros(nf, np.int64)
    cycle = 0
    while (pushed < rows).any():
        busy = pushed < rows
        nxt = np.minimum(pushed, rows - 1)
        push = busy & (stat_ready[fi, nxt] <= cycle)
        shifted = np.concatenate([stat[fi, nxt][:, None, :], wreg[:, :-1, :]], axis=1)
        wreg = np.where(push[:, None, None], shifted, wreg)
        pushed += push
        load_cycles += busy
        cycle += 1
    # Stream: A (or W for IS) moves right, partial sums move down.
    span = t_len + rows + cols - 2
    areg = np.zeros((nf, rows, cols), np.int32)
    preg = np.zeros((nf, rows, cols), np.int32)
    bottom = np.zeros((nf, span, cols), np.int32)
    tau = np.zeros(nf, np.int64)
    stream_cycles = np.zeros(nf, np.int64)
    r_idx = np.arange(rows)
    step = 0
    while (tau < span).any():
        busy = tau < span
        if stream_ready is None:
            adv = busy
        else:
            adv = busy & ((tau >= t_len) | (stream_ready[fi, np.minimum(tau, t_len - 1)] <= step))
        src = tau[:, None] - r_idx  # element entering row r: skewed by r
        ok = (src >= 0) & (src < t_len)
        a_in = np.where(ok, stream[fi[:, None], np.clip(src, 0, t_len - 1), r_idx], 0)
        a_new = np.concatenate([a_in[:, :, None].astype(np.int32), areg[:, :, :-1]], axis=2)
        p_new = a_new * wreg
        p_new[:, 1:, :] += preg[:, :-1, :]
        sel = np.flatnonzero(adv)
        areg[sel], preg[sel] = a_new[sel], p_new[sel]
        bottom[sel, tau[sel]] = p_new[sel, rows - 1, :]
        tau += adv
        stream_cycles += busy
        step += 1
    # Output (m, c) left the bottom of column c at step m + R − 1 + c.
    m_idx = np.arange(t_len)[:, None] + rows - 1 + np.arange(cols)[None, :]
    outs = bottom[:, m_idx, np.arange(cols)[None, :]]
    stalls = (load_cycles - rows) + (stream_cycles - span)
    return outs, load_cycles + stream_cycles, stalls


def _output_stationary(
    a_stream: np.ndarray, w_vec: np.ndarray, w_ready: np.ndarray, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OS folds side by side: ``a_stream`` (F, K, R) enters from the left (row r skewed by
    r), ``w_vec`` (F, K, C) from the top (column c skewed by c), available from ``w_ready``.
    Returns (accumulators (F, R, C), cycles, stalls)."""
    nf, k_len, _ = a_stream.shape
    fi = np.arange(nf)
    span = k_len + rows + cols - 2
    areg = np.zeros((nf, rows, cols), np.int32)
    wreg = np.zeros((nf, rows, cols), np.int32)
    acc = np.zeros((nf, rows, cols), np.int32)
    tau = np.zeros(nf, np.int64)
    cycles = np.zeros(nf, np.int64)
    r_idx, c_idx = np.arange(rows), np.arange(cols)
    step = 0
    while (tau < span).any():
        busy = tau < span
        adv = busy & ((tau >= k_len) | (w_ready[fi, np.minimum(tau, k_len - 1)] <= step))
        src_a = tau[:, None] - r_idx
        ok_a = (src_a >= 0) & (src_a < k_len)
        a_in = np.where(ok_a, a_stream[fi[:, None], np.clip(src_a, 0, k_len - 1), r_idx], 0)
        src_w = tau[:, None] - c_idx
        ok_w = (src_w >= 0) & (src_w < k_len)
        w_in = np.where(ok_w, w_vec[fi[:, None], np.clip(src_w, 0, k_len - 1), c_idx], 0)
        a_new = np.concatenate([a_in[:, :, None].astype(np.int32), areg[:, :, :-1]], axis=2)
        w_new = np.concatenate([w_in[:, None, :].astype(np.int32), wreg[:, :-1, :]], axis=1)
        sel = np.flatnonzero(adv)
        areg[sel], wreg[sel] = a_new[sel], w_new[sel]
        acc[sel] += a_new[sel] * w_new[sel]
        tau += adv
        cycles += busy
        step += 1
    return acc, cycles, cycles - span
