"""Column combining (Kung et al., ASPLOS 2019; Sparse-TPU, He et al., ICS 2020): the
compile-time packing of a sparse weight matrix onto a weight-stationary systolic array.

W is ``k × n`` (k = reduction, the array's rows in WS). The n columns are cut into weight
tiles of ``cols`` (C) columns, the columns the array holds at once. Within a tile, the k
lines (rows of W restricted to the tile's C columns) are combined into **groups** of at
most ``max_combine`` (g) lines such that no two lines of a group have a non-zero in the
same column (conflict-free: every PE of a packed row holds at most one weight). A packed
row's PE keeps (value, member index); its row of the array carries the g activations of
the group's members and a g-to-1 mux picks the one its weight belongs to. Lines that are
all zero in a tile are dropped there; the packed reduction length ``K'_j`` (groups of tile
j) replaces k in the systolic timing of tile j. Nothing is ever dropped or approximated:
A @ W is computed exactly (``tests/mapping``, :mod:`sod.reference.column_combining`).

Packing is greedy **first-fit over a bounded window of open groups**: lines are taken in k
order; a line joins the oldest open group it does not conflict with; if none fits, it opens
a new group. A group closes when it holds g lines, or — when ``window`` groups are already
open and a new one is needed — when it is the oldest open group. ``window = 1`` is
next-fit; a large window approaches unbounded first-fit (which is O(k²) per tile). Every
tile is packed independently, all tiles at once: the loop runs over the k lines (O(k)
Python steps) with numpy over tiles and window slots inside, on bit-packed masks
(``np.packbits`` into 64-bit words, bitwise AND for conflicts).

The reference (:mod:`sod.reference.column_combining`) re-implements the same rule with
Python integers as bit sets, one tile and one line at a time, and checks the packed GEMM
value by value; it does not import this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.errors import ArchitectureError

# Mask elements of a weight matrix above which packing is refused (bounded scratch memory:
# the (T, k) group table is 4 bytes per line per tile).
MAX_PACK_ELEMENTS = 1 << 31


@dataclass(frozen=True)
class Packing:
    """The column-combined layout of one ``k × n`` weight mask on ``cols`` array columns.

    ``group_of[t, i]`` is the packed row (group, numbered from 0 in creation order) of line
    i in tile t, or -1 when line i is all zero there. Packed rows are mapped onto the
    array's rows in that order (row fold f holds groups ``f·R .. f·R + R − 1``).
    """

    k: int
    n: int
    cols: int
    max_combine: int
    window: int
    group_of: np.ndarray  # (T, k) int32

    @property
    def tiles(self) -> int:
        return int(self.group_of.shape[0])

    @property
    def groups(self) -> np.ndarray:
        """(T,) K'_j: packed rows of every tile."""
        return (self.group_of.max(axis=1, initial=-1) + 1).astype(np.int64)

    def tile_cols(self) -> np.ndarray:
        """(T,) columns of W in every tile (the last may be narrower)."""
        t = np.arange(self.tiles)
        return np.minimum(self.cols, self.n - t * self.cols).astype(np.int64)

    def members(self) -> list[np.ndarray]:
        """Per tile, the lines (k indices) of every group, as an object list of arrays
        ``(K'_j, g)`` padded with -1 (member slot = position in the group, k order)."""
        out = []
        for t in range(self.tiles):
            g_of = self.group_of[t]
            lines = np.flatnonzero(g_of >= 0)
            grp = g_of[lines]
            order = np.lexsort((lines, grp))
            lines, grp = lines[order], grp[order]
            kp = int(grp.max()) + 1 if grp.size else 0
            start = np.searchsorted(grp, np.arange(kp))
            slot = np.arange(grp.size) - start[grp]
            table = np.full((kp, self.max_combine), -1, np.int64)
            table[grp, slot] = lines
            out.append(table)
        return out


def check_packing_args(cols: int, max_combine: int, window: int) -> None:
    for name, value in (("cols", cols), ("max_combine", max_combine), ("window", window)):
        if not (isinstance(value, int) and value > 0):
            raise ArchitectureError(f"column combining: {name} must be a positive integer")


def line_words(w: np.ndarray, cols: int) -> np.ndarray:
    """(k, T, words) uint64: the bits of every line in every tile of ``cols`` columns."""
    k, n = w.shape
    t = -(-n // cols)
    words = -(-cols // 64)
    pad = np.zeros((k, t, words * 64), dtype=bool)
    full = np.zeros((k, t * cols), dtype=bool)
    full[:, :n] = w
    pad[:, :, :cols] = full.reshape(k, t, cols)
    packed = np.packbits(pad, axis=2, bitorder="little")  # (k, T, words * 8) uint8
    return np.ascontiguousarray(packed).view("<u8").reshape(k, t, words)


def pack_columns(w: np.ndarray, cols: int, max_combine: int, window: int = 32) -> Packing:
    """Pack a ``(k, n)`` boolean weight mask (see the module docstring)."""
    check_packing_args(cols, max_combine, window)
    w = np.asarray(w, dtype=bool)
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ArchitectureError(f"column combining: expected a non-empty k x n mask, got {w.shape}")
    k, n = w.shape
    t = -(-n // cols)
    if k * t * max(cols, 64) > MAX_PACK_ELEMENTS:
        raise ArchitectureError(f"column combining: a {k}x{n} weight is too large to pack")
    lines = line_words(w, cols)  # (k, T, words)
    active = np.asarray(lines.any(axis=2))  # (k, T)
    group_of = np.full((t, k), -1, np.int32)
    if max_combine == 1:  # nothing combines: every non-empty line is its own group
        rank = np.cumsum(active, axis=0) - 1
        group_of[:] = np.where(active, rank, -1).T
        return Packing(k, n, cols, max_combine, window, group_of)
    _first_fit(lines, active, max_combine, min(window, k), group_of)
    return Packing(k, n, cols, max_combine, window, group_of)


def _first_fit(
    lines: np.ndarray, active: np.ndarray, g: int, win: int, group_of: np.ndarray
) -> None:
    """The packing loop (one step per line, every tile at once): fills ``group_of``.

    Per tile, ``win`` slots hold the open groups: ``key_open`` is a slot's group id while
    it is open (else ``never``), ``key_new`` the same with -1 for a free or full slot, so
    the slot a new group takes is the first free one, else the oldest open group's."""
    t, words = lines.shape[1], lines.shape[2]
    one_word = words == 1
    mask = np.zeros((t, win) if one_word else (t, win, words), np.uint64)
    count = np.zeros((t, win), np.int64)
    never = np.iinfo(np.int64).max
    key_open = np.full((t, win), never, np.int64)
    key_new = np.full((t, win), -1, np.int64)
    opened = np.zeros(t, np.int64)
    for i in np.flatnonzero(active.any(axis=1)):
        lt = np.flatnonzero(active[i])  # tiles where line i has a non-zero
        line = lines[i, lt, 0] if one_word else lines[i, lt]
        mk = mask[lt]
        clash = (mk & line[:, None]) != 0 if one_word else (mk & line[:, None, :]).any(axis=2)
        fit_key = np.where(clash, never, key_open[lt])
        best = fit_key.argmin(axis=1)  # first fit: the oldest open group without a conflict
        rows = np.arange(lt.size)
        joins = fit_key[rows, best] != never
        slot = np.where(joins, best, key_new[lt].argmin(axis=1))
        c = np.where(joins, count[lt, slot] + 1, 1)
        gid = np.where(joins, key_open[lt, slot], opened[lt])
        opened[lt] += ~joins
        mask[lt, slot] = (
            np.where(joins, mk[rows, slot] | line, line)
            if one_word
            else (np.where(joins[:, None], mk[rows, slot] | line, line))
        )
        count[lt, slot] = c
        still = c < g
        key_open[lt, slot] = np.where(still, gid, never)
        key_new[lt, slot] = np.where(still, gid, -1)
        group_of[lt, i] = gid


@dataclass(frozen=True)
class PackedTiles:
    """Per (tile, row fold), what the packed layout puts on the array (WS image order:
    tile-major, row folds inside)."""

    rows: np.ndarray  # (T, F) packed rows in the fold (0: the fold does not exist)
    nnz: np.ndarray  # (T, F) weights placed
    members: np.ndarray  # (T, F) lines fed (activation columns read) by the fold
    lines: np.ndarray  # (T,) non-empty lines of every tile
    cols: np.ndarray  # (T,) columns of every tile


def packed_tiles(w: np.ndarray, packing: Packing, rows: int) -> PackedTiles:
    """Occupancy of every row fold of every tile for an array of ``rows`` rows."""
    if not (isinstance(rows, int) and rows > 0):
        raise ArchitectureError("column combining: rows must be a positive integer")
    w = np.asarray(w, dtype=bool)
    t, cols = packing.tiles, packing.cols
    kp = packing.groups
    folds = max(int(-(-kp.max() // rows)) if kp.size else 0, 1)
    fold_idx = np.arange(folds)
    n_rows = np.clip(kp[:, None] - fold_idx[None, :] * rows, 0, rows)
    # Non-zeros per line per tile, then summed per group's fold.
    k, n = w.shape
    full = w if n == t * cols else np.concatenate([w, np.zeros((k, t * cols - n), bool)], 1)
    line_nnz = full.reshape(k, t, cols).sum(axis=2, dtype=np.int32).T  # (T, k)
    g = packing.group_of
    has = g >= 0
    tt = np.broadcast_to(np.arange(t)[:, None], g.shape)[has]
    ff = (g[has] // rows).astype(np.int64)
    idx = tt * folds + ff
    size = t * folds
    nnz = np.bincount(idx, weights=line_nnz[has], minlength=size).astype(np.int64)
    members = np.bincount(idx, minlength=size).astype(np.int64)
    nnz, members = nnz.reshape(t, folds), members.reshape(t, folds)
    return PackedTiles(n_rows, nnz, members, has.sum(axis=1), packing.tile_cols())
