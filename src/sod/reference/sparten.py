"""Cycle-level reference of SparTen (small layers): steps every compute unit (CU) cycle by
cycle, moving real values, and must agree exactly with :mod:`sod.models.sparten`.

Each CU holds the filters its slot was given by :func:`sod.mapping.sparten.sparten_mapping`
(the compiler's static assignment, shared on purpose with the model: it is this project's
mapping policy, not a cycle count, and it is tested on its own). Nothing is imported from
:mod:`sod.models`. For every row broadcast to its cluster, a CU walks its filters and, per
``chunk_bits`` chunk, ANDs the two masks and performs one MAC per cycle at the lowest
remaining match, locating each operand's value with a prefix popcount of its mask below
that position (values are stored packed, non-zeros only). A chunk with no match still
costs one cycle. The cluster moves to the next row when all its CUs are done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SparTenArch
from sod.errors import WorkloadError
from sod.mapping.sparten import sparten_mapping


@dataclass(frozen=True)
class SparTenRun:
    """Result of a reference run: the product and its cycle count."""

    output: np.ndarray  # (repeat, m, n) int64
    cycles: int
    macs: int  # MACs performed (each matched position once)


def _chunks(vec: np.ndarray, chunk: int) -> list[tuple[int, list[int]]]:
    """A vector as SparTen stores it: per chunk, (bitmask as int, packed non-zero values)."""
    out = []
    for lo in range(0, len(vec), chunk):
        part = vec[lo : lo + chunk]
        mask = sum(1 << i for i, v in enumerate(part) if v != 0)
        out.append((mask, [int(v) for v in part if v != 0]))
    return out


def _popcount(x: int) -> int:
    return bin(x).count("1")


def simulate_sparten(a: np.ndarray, w: np.ndarray, arch: SparTenArch) -> SparTenRun:
    """Run ``O = A·W`` (A (repeat, m, k) or (m, k), W (repeat, k, n) or (k, n), integer)."""
    a3 = a if a.ndim == 3 else a[None]
    w3 = w if w.ndim == 3 else w[None]
    reps = max(a3.shape[0], w3.shape[0])
    if a3.shape[-1] != w3.shape[-2] or a3.shape[0] not in (1, reps) or w3.shape[0] not in (1, reps):
        raise WorkloadError(f"reference: incompatible operands {a.shape} and {w.shape}")
    m, n = a3.shape[1], w3.shape[2]
    out = np.zeros((reps, m, n), np.int64)
    total_cycles = macs = 0
    units = arch.units_per_cluster
    for rep in range(reps):
        av, wv = a3[min(rep, a3.shape[0] - 1)], w3[min(rep, w3.shape[0] - 1)]
        mp = sparten_mapping(m, wv != 0, arch)
        w_chunks = [_chunks(wv[:, f], arch.chunk_bits) for f in range(n)]
        rep_cycles = 0
        for rg in range(mp.row_groups):
            for fg in range(mp.filter_groups):
                # The filters of each CU of this cluster, in index order.
                cu_filters = [
                    list(np.flatnonzero(mp.slot_of_filter == fg * units + u)) for u in range(units)
                ]
                t = 0
                for r in range(rg, m, mp.row_groups):
                    a_chunks = _chunks(av[r], arch.chunk_bits)
                    # Per-CU task lists: (filter, chunk index); state: remaining matches.
                    tasks = [
                        [(f, c) for f in fl for c in range(len(a_chunks))] for fl in cu_filters
                    ]
                    pos = [0] * units
                    rem: list[int | None] = [None] * units
                    while any(pos[u] < len(tasks[u]) for u in range(units)):
                        t += 1  # one clock for every CU
                        for u in range(units):
                            if pos[u] >= len(tasks[u]):
                                continue
                            f, c = tasks[u][pos[u]]
                            a_mask, a_vals = a_chunks[c]
                            w_mask, w_vals = w_chunks[f][c]
                            left = rem[u]
                            if left is None:
                                left = a_mask & w_mask
                            if left:
                                onehot = left & -left
                                below = onehot - 1
                                out[rep, r, f] += (
                                    a_vals[_popcount(a_mask & below)]
                                    * w_vals[_popcount(w_mask & below)]
                                )
                                macs += 1
                                left &= ~onehot
                            rem[u] = left if left else None
                            if not left:  # chunk finished this cycle
                                pos[u] += 1
                rep_cycles = max(rep_cycles, t)
        total_cycles += rep_cycles
    return SparTenRun(out, total_cycles, macs)
