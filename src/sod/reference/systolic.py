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


# --- the TPU timing: double-buffered stationary tiles, accumulator buffer ------------------


@dataclass(frozen=True, eq=False)
class RunResult:
    """One GEMM run as one pipeline of folds (the TPU timing)."""

    output: np.ndarray  # (m, n) int32
    total_cycles: int  # cycles from the first load / stream to the last output
    ideal_cycles: int  # the same run with every W vector on time
    fold_starts: np.ndarray  # (F,) cycle each fold's first element enters row 0
    rows: int
    cols: int
    dataflow: str

    @property
    def cycles(self) -> int:
        """SCALE-Sim's convention, as the model reports it: the index of the last cycle."""
        return self.total_cycles - 1

    @property
    def stall_cycles(self) -> int:
        """Cycles late W vectors added to the run."""
        return self.total_cycles - self.ideal_cycles


def run_dense_tpu(
    a: np.ndarray, w: np.ndarray, rows: int, cols: int, dataflow: str, eager_cycles: int = 0
) -> RunResult:
    """``O = A · W`` from dense buffers with the TPU timing (:func:`run_array_tpu`)."""
    a, w = np.asarray(a), np.asarray(w)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ArrayError(f"A {a.shape} and W {w.shape} do not multiply")
    feed = ideal_feed(w, a.shape[0], rows, cols, dataflow)
    return run_array_tpu(a, feed, w.shape[1], rows, cols, dataflow, eager_cycles)


def run_array_tpu(
    a: np.ndarray,
    feed: WFeed,
    n: int,
    rows: int,
    cols: int,
    dataflow: str,
    eager_cycles: int = 0,
) -> RunResult:
    """``O = A · W`` on an R×C array with the TPU timing, register by register.

    All folds (SCALE-Sim's order) run as one pipeline; nothing is drained between them.

    * WS / IS: each PE holds two stationary registers. A tile is shifted down a column's
      load chain (bottom row first) ``R`` pushes, column ``c`` ``c`` cycles behind column 0
      (the same skew as the data), and latched into the free register after the last push.
      The controller starts loading tile ``f+1`` when fold ``f`` starts streaming, and
      starts fold ``f+1`` once its tile is latched and fold ``f``'s last element entered.
      Every streamed element carries its fold, and a PE multiplies by that fold's register:
      a PE finding another fold's tile there raises :class:`ArrayError` (a hazard). Partial
      sums leave the bottom row into the accumulator buffer, which adds successive k-folds.
    * OS: each PE has two accumulators; the next fold streams right behind this one. A
      column's accumulators are read out over its bus to the accumulator buffer, row ``r``
      the cycle after its last MAC, one per cycle, so consecutive folds must end ``R``
      cycles apart (the controller delays a short fold's start); reading a busy bus or
      overwriting an unread accumulator raises :class:`ArrayError`.

    W comes from ``feed`` (as for :func:`run_array`): a unit starts a stream when the array
    starts taking it in (WS: the stationary load, behind the previous fold's stream; OS,
    IS: the fold's stream) and vector ``j`` is pushed / entered at ``ready[j]`` from then
    on; a late vector delays the load (WS) or leaves a bubble in the stream (OS, IS).

    ``eager_cycles`` starts every fold after the first that many cycles earlier than the
    controller allows (for tests: the hazard checks must catch it).
    """
    df = _dataflow(dataflow)
    a = np.asarray(a).astype(np.int32)
    if a.ndim != 2 or rows <= 0 or cols <= 0 or n <= 0:
        raise ArrayError(f"need a 2-D A, a positive n and array size, got A {a.shape}")
    m, k = a.shape
    folds = fold_grid(m, k, n, rows, cols, df)
    lanes = cols if df in ("ws", "os") else rows
    expect_v = {"ws": rows, "os": k, "is": n}[df]
    if feed.vectors.shape[1:] != (expect_v, lanes) or feed.fold_stream.shape != (len(folds),):
        raise ArrayError(f"{df}: W feed of shape {feed.vectors.shape} does not fit")
    wv = feed.vectors[feed.fold_stream].astype(np.int32)
    wr = feed.ready[feed.fold_stream].astype(np.int64)
    if df == "os":
        args = (a, wv, wr, n, rows, cols, folds)
        res = _run_os_tpu(*args, eager_cycles)
        ideal = _run_os_tpu(a, wv, _on_time(wr), n, rows, cols, folds, 0)
    else:
        res = _run_stationary_tpu(a, wv, wr, n, rows, cols, df, folds, eager_cycles)
        ideal = _run_stationary_tpu(a, wv, _on_time(wr), n, rows, cols, df, folds, 0)
    out, total, starts = res
    return RunResult(out, total, ideal[1], starts, rows, cols, df)


def _on_time(ready: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.arange(ready.shape[1], dtype=np.int64), ready.shape)


def _block(x: np.ndarray, r0: int, c0: int, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), np.int32)
    part = x[r0 : r0 + rows, c0 : c0 + cols]
    out[: part.shape[0], : part.shape[1]] = part
    return out


def _run_stationary_tpu(
    a: np.ndarray,
    wv: np.ndarray,
    wr: np.ndarray,
    n: int,
    rows: int,
    cols: int,
    df: str,
    folds: list[tuple[int, int]],
    eager: int,
) -> tuple[np.ndarray, int, np.ndarray]:
    m = a.shape[0]
    nf = len(folds)
    t_len = m if df == "ws" else n
    # Per fold: the pushes of the stationary tile (R, C), bottom row first, and when each
    # is ready; the stream (T, R) (element t enters row r) and when each element is ready.
    if df == "ws":
        pushes, push_ready = wv, wr
        streams = np.stack([_block(a, 0, kb * rows, t_len, rows) for kb, _ in folds])
        stream_ready = _on_time(np.zeros((nf, t_len)))
    else:  # IS: the A^T tile is stationary (from a dense buffer), W streams from the feed
        tiles = np.stack([_block(a.T, kb * rows, cb * cols, rows, cols) for kb, cb in folds])
        pushes, push_ready = tiles[:, ::-1], _on_time(np.zeros((nf, rows)))
        streams, stream_ready = wv, wr
    # The controller: load f+1 starts when fold f starts; fold f starts when its tile is
    # latched (column 0) and fold f-1's last element entered.
    load = np.zeros(nf, np.int64)
    start = np.zeros(nf, np.int64)
    stream_end = 0
    for f in range(nf):
        load[f] = 0 if f == 0 else start[f - 1]
        start[f] = max(load[f] + push_ready[f, -1] + 1, stream_end) - (eager if f else 0)
        stream_end = start[f] + stream_ready[f, -1] + 1
    horizon = int(max(stream_end, load[-1] + push_ready[-1, -1] + 1)) + rows + cols + 1
    # Injection at row 0: which fold and element enters at each cycle (-1: bubble).
    inj_f = np.full(horizon, -1, np.int64)
    inj_t = np.zeros(horizon, np.int64)
    push_f = np.full(horizon, -1, np.int64)
    push_p = np.zeros(horizon, np.int64)
    for f in range(nf):
        at = start[f] + stream_ready[f]
        if (inj_f[at] >= 0).any():
            raise ArrayError(f"hazard: fold {f} enters row 0 while fold {f - 1} does")
        inj_f[at], inj_t[at] = f, np.arange(t_len)
        push_f[load[f] + push_ready[f]], push_p[load[f] + push_ready[f]] = f, np.arange(rows)
    out = np.zeros((m, n), np.int32)
    chain = np.zeros((rows, cols), np.int32)  # the load chains
    wbuf = np.zeros((2, rows, cols), np.int32)
    wtag = np.full((2, rows, cols), -1, np.int64)
    areg = np.zeros((rows, cols), np.int32)
    atag = np.full((rows, cols), -1, np.int64)
    tidx = np.zeros((rows, cols), np.int64)
    preg = np.zeros((rows, cols), np.int32)
    r_idx, c_idx = np.arange(rows), np.arange(cols)
    last_active = -1
    for tau in range(horizon):
        # Streamed operand: row r takes the element injected r cycles ago; values move right.
        src = tau - r_idx
        ok = src >= 0
        f_in = np.where(ok, inj_f[np.maximum(src, 0)], -1)
        t_in = np.where(ok, inj_t[np.maximum(src, 0)], 0)
        x_in = np.where(f_in >= 0, streams[np.maximum(f_in, 0), t_in, r_idx], 0)
        areg = np.concatenate([x_in[:, None].astype(np.int32), areg[:, :-1]], axis=1)
        atag = np.concatenate([f_in[:, None], atag[:, :-1]], axis=1)
        tidx = np.concatenate([t_in[:, None], tidx[:, :-1]], axis=1)
        live = atag >= 0
        par = np.maximum(atag, 0) % 2
        held = np.take_along_axis(wtag, par[None], 0)[0]
        if (live & (held != atag)).any():
            raise ArrayError(f"hazard at cycle {tau}: a PE holds another fold's tile")
        wsel = np.take_along_axis(wbuf, par[None], 0)[0]
        above = np.concatenate([np.zeros((1, cols), np.int32), preg[:-1]], axis=0)
        preg = np.where(live, areg * wsel, 0).astype(np.int32) + np.where(live, above, 0)
        # The bottom row's sums enter the accumulator buffer.
        bf, bt = atag[rows - 1], tidx[rows - 1]
        for c in np.flatnonzero(bf >= 0):
            _, cb = folds[int(bf[c])]
            j = cb * cols + c
            if df == "ws" and j < n:
                out[bt[c], j] += preg[rows - 1, c]
            elif df == "is" and j < m:
                out[j, bt[c]] += preg[rows - 1, c]
        if live.any():
            last_active = tau
        # Load chains (column c runs c cycles behind column 0); latch after the last push.
        e = tau - c_idx
        fl = np.where(e >= 0, push_f[np.maximum(e, 0)], -1)
        for c in np.flatnonzero(fl >= 0):
            f, p = int(fl[c]), int(push_p[e[c]])
            chain[1:, c] = chain[:-1, c].copy()
            chain[0, c] = pushes[f, p, c]
            if p == rows - 1:
                wbuf[f % 2, :, c] = chain[:, c]
                wtag[f % 2, :, c] = f
    return out, last_active + 1, start


def _run_os_tpu(
    a: np.ndarray,
    wv: np.ndarray,
    wr: np.ndarray,
    n: int,
    rows: int,
    cols: int,
    folds: list[tuple[int, int]],
    eager: int,
) -> tuple[np.ndarray, int, np.ndarray]:
    m = a.shape[0]
    k = wv.shape[1]
    nf = len(folds)
    a_str = np.stack([_block(a, rb * rows, 0, rows, k).T for rb, _ in folds])  # (F, k, R)
    # The controller: fold f+1 streams right after fold f, but ends >= R cycles after it.
    start = np.zeros(nf, np.int64)
    ends = np.zeros(nf, np.int64)
    for f in range(nf):
        span = int(wr[f, -1]) + 1  # the fold's stream, late vectors included
        if f:
            start[f] = max(ends[f - 1], ends[f - 1] + rows - span) - eager
        ends[f] = start[f] + span
    horizon = int(ends[-1]) + rows + cols + 1
    inj_f = np.full(horizon, -1, np.int64)
    inj_t = np.zeros(horizon, np.int64)
    for f in range(nf):
        at = start[f] + wr[f]
        if (inj_f[at] >= 0).any():
            raise ArrayError(f"hazard: fold {f} enters row 0 while fold {f - 1} does")
        inj_f[at], inj_t[at] = f, np.arange(k)
    out = np.zeros((m, n), np.int32)
    areg = np.zeros((rows, cols), np.int32)
    wreg = np.zeros((rows, cols), np.int32)
    atag = np.full((rows, cols), -1, np.int64)
    wtag = np.full((rows, cols), -1, np.int64)
    tidx = np.zeros((rows, cols), np.int64)
    acc = np.zeros((2, rows, cols), np.int32)
    acc_tag = np.full((2, rows, cols), -1, np.int64)  # fold whose unread sum it holds
    r_idx, c_idx = np.arange(rows), np.arange(cols)
    last_active = -1
    for tau in range(horizon):
        # Column buses: column c reads row r of fold f at ends[f] + r + c.
        busy = False
        for c in range(cols):
            d = tau - c - ends
            reading = np.flatnonzero((d >= 0) & (d < rows))
            if reading.size > 1:
                raise ArrayError(f"hazard at cycle {tau}: column {c}'s bus read twice")
            for f in reading.tolist():
                r = int(d[f])
                if acc_tag[f % 2, r, c] != f:
                    raise ArrayError(f"hazard at cycle {tau}: accumulator lost fold {f}")
                rb, nb = folds[int(f)]
                i, j = rb * rows + r, nb * cols + c
                if i < m and j < n:
                    out[i, j] = acc[f % 2, r, c]
                acc_tag[f % 2, r, c] = -1
                busy = True
        # A enters row r skewed by r and moves right; W enters column c skewed by c, down.
        src_a = tau - r_idx
        fa = np.where(src_a >= 0, inj_f[np.maximum(src_a, 0)], -1)
        ta = np.where(src_a >= 0, inj_t[np.maximum(src_a, 0)], 0)
        a_in = np.where(fa >= 0, a_str[np.maximum(fa, 0), ta, r_idx], 0)
        src_w = tau - c_idx
        fw = np.where(src_w >= 0, inj_f[np.maximum(src_w, 0)], -1)
        tw = np.where(src_w >= 0, inj_t[np.maximum(src_w, 0)], 0)
        w_in = np.where(fw >= 0, wv[np.maximum(fw, 0), tw, c_idx], 0)
        areg = np.concatenate([a_in[:, None].astype(np.int32), areg[:, :-1]], axis=1)
        atag = np.concatenate([fa[:, None], atag[:, :-1]], axis=1)
        tidx = np.concatenate([ta[:, None], tidx[:, :-1]], axis=1)
        wreg = np.concatenate([w_in[None, :].astype(np.int32), wreg[:-1]], axis=0)
        wtag = np.concatenate([fw[None, :], wtag[:-1]], axis=0)
        live = atag >= 0
        if (live != (wtag >= 0)).any() or (live & (atag != wtag)).any():
            raise ArrayError(f"hazard at cycle {tau}: A and W of different folds meet")
        par = np.maximum(atag, 0) % 2
        first = live & (tidx == 0)
        held = np.take_along_axis(acc_tag, par[None], 0)[0]
        if (first & (held != -1)).any():
            raise ArrayError(f"hazard at cycle {tau}: an unread accumulator is overwritten")
        prod = areg * wreg
        cur = np.take_along_axis(acc, par[None], 0)[0]
        new = np.where(first, prod, cur + prod)
        for b in (0, 1):
            sel = live & (par == b)
            acc[b] = np.where(sel, new, acc[b])
            acc_tag[b] = np.where(sel, atag, acc_tag[b])
        if live.any() or busy:
            last_active = tau
    return out, last_active + 1, start
