"""The cycle-level systolic array under the TPU-like timing: double-buffered stationary
tiles, an accumulator buffer, one pipeline of folds per GEMM (docs/dense-model.md). It moves
real values register by register and raises :class:`ArrayError` on any timing hazard; the
SCALE-Sim timing is :mod:`sod.reference.systolic`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.reference.systolic import ArrayError, WFeed, _dataflow, fold_grid, ideal_feed

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
