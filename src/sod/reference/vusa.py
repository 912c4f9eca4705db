"""Brute-force per-fold reference of VUSA (a virtually upscaled systolic array).

Plain Python, window by window: the compiler's greedy mapping (each window takes the
widest span of V, V−1, ..., M columns in which every row of the k-block has at most M
non-zeros), the slot contents of every fold (value + in-window index per MAC, padded),
the output computed THROUGH those slots (each MAC multiplies its activation column by its
slot value and adds into the virtual column its index names), and the cycles of the fold
sequence under the TPU or SCALE-Sim timing (docs/dense-model.md), written from the
formulas rather than imported. It must not import :mod:`sod.models` (an AST test checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VusaFold:
    group: int
    line0: int  # first line (across the window axis) of the fold's block
    lines: int  # lines loaded
    pos0: int  # first position along the window axis covered
    spans: tuple[int, ...]  # span of each window used
    slots: np.ndarray  # (lines, windows, M, 2): (value, index) per MAC, index −1 = empty


@dataclass(frozen=True)
class VusaRun:
    output: np.ndarray  # (G, m, n) computed through the slots
    folds: list[VusaFold]
    cycles: int  # the index of the last cycle, summed over groups (models' convention)


def _fits(w: np.ndarray, k0: int, rows: int, p: int, v: int, macs: int) -> bool:
    for r in range(k0, k0 + rows):
        if sum(1 for c in range(p, p + v) if w[r, c] != 0) > macs:
            return False
    return True


def map_group(w: np.ndarray, group: int, R: int, per: int, V: int, M: int) -> list[VusaFold]:
    """Folds of one group's weights (values or a mask) with windows along axis 1, blocks of
    ``R`` lines along axis 0 and ``per`` windows per fold."""
    k, n = w.shape
    folds = []
    for k0 in range(0, k, R):
        rows = min(R, k - k0)
        spans: list[int] = []
        p = 0
        while p < n:
            v = min(V, n - p)
            while v > min(M, n - p) and not _fits(w, k0, rows, p, v, M):
                v -= 1
            spans.append(v)
            p += v
        col = 0
        for f0 in range(0, len(spans), per):
            fs = spans[f0 : f0 + per]
            slots = np.zeros((rows, len(fs), M, 2), np.int64)
            slots[..., 1] = -1
            start = col
            for wi, span in enumerate(fs):
                for r in range(rows):
                    used = 0
                    for j in range(span):
                        value = w[k0 + r, start + j]
                        if value != 0:
                            slots[r, wi, used] = (value, j)
                            used += 1
                start += span
            folds.append(VusaFold(group, k0, rows, col, tuple(fs), slots))
            col = start
    return folds


def run_vusa(
    a: np.ndarray,
    w: np.ndarray,
    R: int,
    C: int,
    V: int,
    M: int,
    timing: str = "tpu",
    axis: str = "k",
) -> VusaRun:
    """``O = A · W`` for ``(G, m, k)`` activations and ``(G, k, n)`` weights on a VUSA array
    of ``R`` × ``C`` MACs in windows of ``M`` MACs serving ``V`` positions along ``axis``
    (k: virtual rows, each MAC selects its activation; n: virtual columns, each MAC routes
    its product to a column)."""
    g, m, _ = a.shape
    n = w.shape[2]
    out = np.zeros((g, m, n), np.int64)
    folds: list[VusaFold] = []
    cycles = 0
    for gi in range(g):
        if axis == "k":
            gf = map_group(w[gi].T, gi, C, R // M, V, M)
        else:
            gf = map_group(w[gi], gi, R, C // M, V, M)
        for f in gf:
            pos = f.pos0
            for wi, span in enumerate(f.spans):
                for line in range(f.lines):
                    for value, idx in f.slots[line, wi]:
                        if idx < 0:
                            continue
                        if axis == "k":  # MAC: activation k = pos + idx, column line0 + line
                            out[gi, :, f.line0 + line] += a[gi, :, pos + idx] * value
                        else:  # MAC: activation k = line0 + line → column pos + idx
                            out[gi, :, pos + idx] += a[gi, :, f.line0 + line] * value
                pos += span
        folds += gf
        if gf:
            cycles += _run_cycles(len(gf), m, R, C, timing) - 1
    return VusaRun(out, folds, cycles)


def _run_cycles(folds: int, t: int, R: int, C: int, timing: str) -> int:
    """Cycles of ``folds`` WS folds streaming ``t`` rows each, as one run (TPU: the next
    tile's R-cycle load hides behind each stream, one fill and drain per run) or fold by
    fold (SCALE-Sim: load R, stream t, fill and drain R + C − 2 each)."""
    if timing == "scalesim":
        return folds * (2 * R + C - 2 + t)
    return R + (folds - 1) * max(t, R) + t + R + C - 2
