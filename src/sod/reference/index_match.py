"""Cycle-level reference of the comparator index-matching array (small layers).

Every PE of a tile steps its merge one cycle at a time, moving real values: it holds a
window of ``window`` (index, value) entries of its activation fiber and of its weight
fiber, compares every index pair (``window²`` comparators), multiplies and accumulates
every match, then pops the window whose last index is smaller (both on a tie). It stops
once either fiber's last window is popped. A tile ends with its slowest PE; a PE without
room to prefetch the next fibers (``fifo_depth < 2·window``) spends one bubble cycle per
dot product. Must agree exactly with :mod:`sod.models.index_match`.

Imports nothing from the model or :mod:`sod.mapping`: the tile shape (``tr = min(m,
pe_rows)`` rows of dot products by ``tc = PEs // tr`` columns, output-stationary) is
re-derived here from its definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import IndexMatchArch
from sod.errors import WorkloadError


@dataclass(frozen=True)
class IndexMatchRun:
    """Result of a reference run."""

    output: np.ndarray  # (repeat, m, n) int64
    cycles: int
    macs: int
    comparisons: int
    loaded: int  # operand entries that entered the compare windows


def _fiber(vec: np.ndarray) -> list[tuple[int, int]]:
    """A CSR fiber: sorted (index, value) of the non-zeros."""
    return [(int(i), int(vec[i])) for i in np.flatnonzero(vec)]


def _merge(
    fa: list[tuple[int, int]], fw: list[tuple[int, int]], p: int
) -> tuple[int, int, int, int, int]:
    """(cycles, dot product, MACs, comparisons, entries loaded into the windows) of one
    PE's windowed merge."""
    ia = iw = 0
    cycles = acc = macs = comps = 0
    loaded = len(fa[:p]) + len(fw[:p]) if fa and fw else 0
    while ia < len(fa) and iw < len(fw):
        wa, ww = fa[ia : ia + p], fw[iw : iw + p]
        cycles += 1
        comps += p * p  # the comparator array fires whole
        for idx_a, val_a in wa:
            for idx_w, val_w in ww:
                if idx_a == idx_w:
                    acc += val_a * val_w
                    macs += 1
        end_a, end_w = wa[-1][0], ww[-1][0]
        if end_a <= end_w:
            ia += p
            loaded += len(fa[ia : ia + p])  # the FIFO refills the window
        if end_w <= end_a:
            iw += p
            loaded += len(fw[iw : iw + p])
    return cycles, acc, macs, comps, loaded


def simulate_index_match(a: np.ndarray, w: np.ndarray, arch: IndexMatchArch) -> IndexMatchRun:
    """Run ``O = A·W`` (A (repeat, m, k) or (m, k), W (repeat, k, n) or (k, n), integer)."""
    a3 = a if a.ndim == 3 else a[None]
    w3 = w if w.ndim == 3 else w[None]
    reps = max(a3.shape[0], w3.shape[0])
    if a3.shape[-1] != w3.shape[-2] or a3.shape[0] not in (1, reps) or w3.shape[0] not in (1, reps):
        raise WorkloadError(f"reference: incompatible operands {a.shape} and {w.shape}")
    m, n = a3.shape[1], w3.shape[2]
    tr = min(m, arch.pe_rows)  # a tile: tr rows of A by tc columns of W, one PE each
    tc = arch.pe_rows * arch.pe_cols // tr
    bubble = 1 if arch.fifo_depth < 2 * arch.window else 0
    out = np.zeros((reps, m, n), np.int64)
    cycles = macs = comps = loaded = 0
    for rep in range(reps):
        av, wv = a3[min(rep, a3.shape[0] - 1)], w3[min(rep, w3.shape[0] - 1)]
        fa = [_fiber(av[r]) for r in range(m)]
        fw = [_fiber(wv[:, f]) for f in range(n)]
        for r0 in range(0, m, tr):
            for f0 in range(0, n, tc):
                slowest = 0
                for r in range(r0, min(m, r0 + tr)):
                    for f in range(f0, min(n, f0 + tc)):
                        c, acc, mc, cp, ld = _merge(fa[r], fw[f], arch.window)
                        out[rep, r, f] = acc
                        macs += mc
                        comps += cp
                        loaded += ld
                        slowest = max(slowest, max(c, 1) + bubble)
                cycles += slowest
    return IndexMatchRun(out, cycles, macs, comps, loaded)
