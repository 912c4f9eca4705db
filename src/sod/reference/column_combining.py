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
    return pack_reference_split(w, cols, max_combine, window, 0)[0]


def pack_reference_split(
    w: np.ndarray, cols: int, max_combine: int, window: int, split_min: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group_of, split_of, fragment bits), each (T, k): with ``split_min`` > 0 a line that
    fits no open group whole gives the oldest open group where at least ``split_min`` of
    its non-zeros do not conflict those non-zeros (a fragment; its columns as a bit set in
    the third array), and the conflicting rest is placed by plain first fit."""
    w = np.asarray(w, dtype=bool)
    k, n = w.shape
    tiles = -(-n // cols)
    out = np.full((tiles, k), -1, np.int64)
    split_of = np.full((tiles, k), -1, np.int64)
    frag_bits = np.zeros((tiles, k), dtype=object)
    for t in range(tiles):
        sub = w[:, t * cols : (t + 1) * cols]
        open_groups: list[list[int]] = []  # [group id, bit set, members], oldest first
        opened = 0

        def join(grp: list[int], bits: int, open_groups: list[list[int]] = open_groups) -> None:
            grp[1] |= bits
            grp[2] += 1
            if grp[2] == max_combine:
                open_groups.remove(grp)

        for i in range(k):
            bits = sum(1 << c for c in range(sub.shape[1]) if sub[i, c])
            if bits == 0:
                continue
            whole = [grp for grp in open_groups if grp[1] & bits == 0]
            if not whole and split_min and max_combine > 1:
                for grp in open_groups:
                    frag = bits & ~grp[1]
                    if bin(frag).count("1") >= split_min:
                        split_of[t, i], frag_bits[t, i] = grp[0], frag
                        join(grp, frag)
                        bits &= ~frag  # the conflicting rest
                        break
                whole = [grp for grp in open_groups if grp[1] & bits == 0]
            if whole:
                out[t, i] = whole[0][0]
                join(whole[0], bits)
                continue
            out[t, i] = opened
            if max_combine > 1:
                if len(open_groups) == window:
                    open_groups.pop(0)  # the oldest open group closes
                open_groups.append([opened, bits, 1])
            opened += 1
    return out, split_of, frag_bits


def packed_gemm(
    a: np.ndarray,
    w: np.ndarray,
    group_of: np.ndarray,
    cols: int,
    max_combine: int,
    split_of: np.ndarray | None = None,
    frag_bits: np.ndarray | None = None,
) -> np.ndarray:
    """O = A·W computed the way the column-combined array does (integer operands); a split
    line's fragment (columns ``frag_bits``) sits in group ``split_of``, its rest in
    ``group_of``."""
    a = np.asarray(a, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    m, k = a.shape
    n = w.shape[1]
    out = np.zeros((m, n), np.int64)
    placed = 0
    for t in range(group_of.shape[0]):
        lo, hi = t * cols, min((t + 1) * cols, n)
        top = int(group_of[t].max())
        if split_of is not None:
            top = max(top, int(split_of[t].max()))
        for grp in range(top + 1):
            # Members: (line, columns it brings), in k order.
            members: list[tuple[int, set[int]]] = []
            for i in range(k):
                nz = {c for c in range(lo, hi) if w[i, c] != 0}
                frag = set()
                if split_of is not None and frag_bits is not None and split_of[t, i] >= 0:
                    frag = {lo + c for c in range(hi - lo) if (int(frag_bits[t, i]) >> c) & 1}
                if group_of[t, i] == grp:
                    members.append((i, nz - frag))
                elif split_of is not None and split_of[t, i] == grp:
                    members.append((i, frag))
            if not 1 <= len(members) <= max_combine:
                raise AssertionError(f"tile {t} group {grp} has {len(members)} lines")
            # The PEs of this packed row: (value, member index) per column, 0 = empty slot.
            value = [0] * (hi - lo)
            index = [0] * (hi - lo)
            filled = [False] * (hi - lo)
            for slot, (line, brings) in enumerate(members):
                for c in sorted(brings):
                    if w[line, c] != 0:
                        if filled[c - lo]:
                            raise AssertionError(f"tile {t} group {grp}: conflict at column {c}")
                        value[c - lo], index[c - lo], filled[c - lo] = int(w[line, c]), slot, True
                        placed += 1
            # Each activation row streams the group's member activations (g lanes).
            for r in range(m):
                lanes = [int(a[r, line]) for line, _ in members]
                for c in range(hi - lo):
                    out[r, lo + c] += lanes[index[c]] * value[c]  # the g-to-1 mux, then MAC
    if placed != int(np.count_nonzero(w)):
        raise AssertionError(f"{placed} weights placed, W has {int(np.count_nonzero(w))}")
    return out
