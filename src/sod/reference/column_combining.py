"""Reference for column combining (:mod:`sod.mapping.column_combining`), small cases only.

Re-derived from the definition, one tile and one line at a time with Python integers as
bit sets (it imports neither the mapping module nor :mod:`sod.models`):

* :func:`pack_reference` — the packing rule: lines in k order; a line joins the oldest open
  group of its tile it does not conflict with; otherwise it opens a group; a group closes
  at ``max_combine`` lines or when it is the oldest of ``window`` open groups and a new one
  needs room; all-zero lines are not placed.
* :func:`packed_gemm` — the array's arithmetic on the packed layout: every PE of a packed
  row holds one (value, member index) pair, its row carries the activations of the
  group's members, a g-to-1 mux picks one, and the PE multiplies and accumulates. It
  raises if two weights land on one PE (a conflict) or a weight is lost, and returns the
  output, which must equal ``A @ W``.
"""

from __future__ import annotations

import numpy as np


def pack_reference(w: np.ndarray, cols: int, max_combine: int, window: int) -> np.ndarray:
    """(T, k) group of every line in every tile (-1: all zero there)."""
    w = np.asarray(w, dtype=bool)
    k, n = w.shape
    tiles = -(-n // cols)
    out = np.full((tiles, k), -1, np.int64)
    for t in range(tiles):
        sub = w[:, t * cols : (t + 1) * cols]
        open_groups: list[list[int]] = []  # [group id, bit set, members], oldest first
        opened = 0
        for i in range(k):
            bits = sum(1 << c for c in range(sub.shape[1]) if sub[i, c])
            if bits == 0:
                continue
            placed = False
            for grp in open_groups:
                if grp[1] & bits == 0:
                    grp[1] |= bits
                    grp[2] += 1
                    out[t, i] = grp[0]
                    placed = True
                    if grp[2] == max_combine:
                        open_groups.remove(grp)
                    break
            if placed:
                continue
            out[t, i] = opened
            if max_combine > 1:
                if len(open_groups) == window:
                    open_groups.pop(0)  # the oldest open group closes
                open_groups.append([opened, bits, 1])
            opened += 1
    return out


def packed_gemm(
    a: np.ndarray, w: np.ndarray, group_of: np.ndarray, cols: int, max_combine: int
) -> np.ndarray:
    """O = A·W computed the way the column-combined array does (integer operands)."""
    a = np.asarray(a, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    m, k = a.shape
    n = w.shape[1]
    out = np.zeros((m, n), np.int64)
    placed = 0
    for t in range(group_of.shape[0]):
        lo, hi = t * cols, min((t + 1) * cols, n)
        groups = int(group_of[t].max()) + 1 if (group_of[t] >= 0).any() else 0
        for grp in range(groups):
            members = [i for i in range(k) if group_of[t, i] == grp]
            if not 1 <= len(members) <= max_combine:
                raise AssertionError(f"tile {t} group {grp} has {len(members)} lines")
            # The PEs of this packed row: (value, member index) per column, 0 = empty slot.
            value = [0] * (hi - lo)
            index = [0] * (hi - lo)
            filled = [False] * (hi - lo)
            for slot, line in enumerate(members):
                for c in range(lo, hi):
                    if w[line, c] != 0:
                        if filled[c - lo]:
                            raise AssertionError(f"tile {t} group {grp}: conflict at column {c}")
                        value[c - lo], index[c - lo], filled[c - lo] = int(w[line, c]), slot, True
                        placed += 1
            # Each activation row streams the group's member activations (g lanes).
            for r in range(m):
                lanes = [int(a[r, line]) for line in members]
                for c in range(hi - lo):
                    out[r, lo + c] += lanes[index[c]] * value[c]  # the g-to-1 mux, then MAC
    if placed != int(np.count_nonzero(w)):
        raise AssertionError(f"{placed} weights placed, W has {int(np.count_nonzero(w))}")
    return out
