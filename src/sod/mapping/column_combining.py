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
(``np.packbits`` into 64-bit words, bitwise AND for conflicts). For narrow tiles a slot
is one word (key, columns, count); sparse layers step through every tile's own
non-empty lines, and layers of few tiles pack segments of lines side by side, each
re-run from the exact end of the one before until it meets its first run
(:func:`_segment_keys`) — every variant places every line exactly as the loop does.

The reference (:mod:`sod.reference.column_combining`) re-implements the same rule with
Python integers as bit sets, one tile and one line at a time, and checks the packed GEMM
value by value; it does not import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sod.errors import ArchitectureError
from sod.workload.mask import BitMask

try:  # the compiled first fit (optional build; the numpy loops below are its twin)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - a build without a C compiler
    _NATIVE = None  # type: ignore[assignment]

# Mask elements of a weight matrix above which packing is refused (bounded scratch memory:
# the (T, k) group table is 4 bytes per line per tile).
MAX_PACK_ELEMENTS = 1 << 31


@dataclass(frozen=True)
class Packing:
    """The column-combined layout of one ``k × n`` weight mask on ``cols`` array columns.

    ``group_of[t, i]`` is the packed row (group, numbered from 0 in creation order) of line
    i in tile t, or -1 when line i is all zero there. Packed rows are mapped onto the
    array's rows in that order (row fold f holds groups ``f·R .. f·R + R − 1``).
    With line splitting (``split_min`` > 0), ``split_of[t, i]`` is the group that took a
    fragment of line i (-1: not split) and ``split_nnz[t, i]`` that fragment's non-zeros;
    ``group_of`` then holds the rest of the line.
    """

    k: int
    n: int
    cols: int
    max_combine: int
    window: int
    group_of: np.ndarray  # (T, k) int32
    split_min: int = 0
    split_of: np.ndarray | None = None  # (T, k) int32, with split_min > 0
    split_nnz: np.ndarray | None = None  # (T, k) int32, with split_min > 0
    # (T, k) int32 non-zeros of every line in every tile (None: counted when needed).
    line_nnz: np.ndarray | None = None

    @property
    def tiles(self) -> int:
        return int(self.group_of.shape[0])

    @property
    def groups(self) -> np.ndarray:
        """(T,) K'_j: packed rows of every tile."""
        top = self.group_of.max(axis=1, initial=-1)
        if self.split_of is not None:
            top = np.maximum(top, self.split_of.max(axis=1, initial=-1))
        return (top + 1).astype(np.int64)

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


def line_words(w: np.ndarray | BitMask, cols: int) -> np.ndarray:
    """(k, T, words) uint64: the bits of every line in every tile of ``cols`` columns.

    ``w`` is a bool ``(k, n)`` mask or a :class:`~sod.workload.mask.BitMask` of one. A
    column's bit within its tile's words is fixed per column (from a bool mask: bit c of
    the tile's columns, little-endian; from a BitMask with whole-byte tiles: its packed
    bytes as they are) — every use (conflicts, popcounts) depends on which columns a line
    shares with another, never on where a column's bit sits."""
    if isinstance(w, BitMask):
        k, n = w.shape
        if cols % 8:
            w = w.to_bool()
        else:  # tiles of whole bytes: the packed rows, cut into tiles as they are
            return _tile_words(w.packed, k, n, cols)
    k, n = w.shape
    t = -(-n // cols)
    if cols % 8 == 0:  # tiles of whole bytes: one packing of the contiguous rows
        return _tile_words(np.packbits(w, axis=1, bitorder="little"), k, n, cols)
    words = -(-cols // 64)
    out = np.zeros((k, t, words * 8), np.uint8)  # padded to whole 64-bit words
    full = w if n == t * cols else np.concatenate([w, np.zeros((k, t * cols - n), bool)], 1)
    packed = np.packbits(full.reshape(k, t, cols), axis=2, bitorder="little")
    out[:, :, : packed.shape[2]] = packed
    return out.view("<u8").reshape(k, t, words)


def _tile_words(packed: np.ndarray, k: int, n: int, cols: int) -> np.ndarray:
    """:func:`line_words` of a mask packed along its rows (``(k, ⌈n/8⌉)`` bytes, zero
    padding bits) for tiles of ``cols`` (a multiple of 8) columns."""
    t = -(-n // cols)
    words = -(-cols // 64)
    per = cols // 8
    whole = packed.shape[1] // per  # tiles all of whose bytes exist
    if per == words * 8 and whole == t:  # tiles of whole words: a view of the bytes
        return np.ascontiguousarray(packed).view("<u8").reshape(k, t, words)
    out = np.zeros((k, t, words * 8), np.uint8)  # padded to whole 64-bit words
    out[:, :whole, :per] = packed[:, : whole * per].reshape(k, whole, per)
    if whole < t:  # the last tile is cut short
        rest = packed[:, whole * per :]
        out[:, whole, : rest.shape[1]] = rest
    return out.view("<u8").reshape(k, t, words)


def pack_columns(
    w: np.ndarray | BitMask,
    cols: int,
    max_combine: int,
    window: int = 32,
    split_min: int = 0,
    native: bool = True,
) -> Packing:
    """Pack a ``(k, n)`` boolean weight mask, or a BitMask of one (see the module
    docstring).

    ``split_min`` > 0 enables line splitting (Sparse-TPU-style collision handling that
    costs rows and activation lanes, never weights): a line that fits no open group whole
    gives the oldest open group in which at least ``split_min`` of its non-zeros do not
    conflict those non-zeros as a fragment; the rest of the line (the conflicting
    non-zeros) is then placed by plain first fit (an open group it fits, else a new one).
    The activation of a split line is fed to both groups.

    ``native``: without splitting, pack with the compiled loop (:mod:`sod._native`) when
    it is built; ``False`` (or no build) runs the numpy loops, which place every line
    the same way."""
    check_packing_args(cols, max_combine, window)
    if not (isinstance(split_min, int) and split_min >= 0):
        raise ArchitectureError("column combining: split_min must be a non-negative integer")
    if not isinstance(w, BitMask):
        w = np.asarray(w, dtype=bool)
        if w.ndim != 2:
            raise ArchitectureError(f"column combining: expected a k x n mask, got {w.shape}")
    k, n = w.shape
    if k == 0 or n == 0:
        raise ArchitectureError(f"column combining: expected a non-empty k x n mask, got {w.shape}")
    t = -(-n // cols)
    if k * t * max(cols, 64) > MAX_PACK_ELEMENTS:
        raise ArchitectureError(f"column combining: a {k}x{n} weight is too large to pack")
    if native and _NATIVE is not None and not split_min and max_combine > 1:
        return _pack_native(w, cols, max_combine, window)
    lines = line_words(w, cols)  # (k, T, words)
    active = np.asarray(lines.any(axis=2))  # (k, T)
    group_of = np.full((t, k), -1, np.int32)
    if max_combine == 1:  # nothing combines: every non-empty line is its own group
        rank = np.cumsum(active, axis=0) - 1
        group_of[:] = np.where(active, rank, -1).T
        return Packing(k, n, cols, max_combine, window, group_of, line_nnz=_line_nnz(lines))
    if not split_min:
        if lines.shape[2] == 1 and max_combine < 128 and _one_word_fits(k, cols):
            _first_fit_one_word(lines[:, :, 0], active, max_combine, min(window, k), group_of)
        else:
            _first_fit(lines, active, max_combine, min(window, k), group_of)
        return Packing(k, n, cols, max_combine, window, group_of, line_nnz=_line_nnz(lines))
    split_of = np.full((t, k), -1, np.int32)
    split_nnz = np.zeros((t, k), np.int32)
    _first_fit(
        lines, active, max_combine, min(window, k), group_of, (split_min, split_of, split_nnz)
    )
    nnz = _line_nnz(lines)
    return Packing(k, n, cols, max_combine, window, group_of, split_min, split_of, split_nnz, nnz)


def _pack_native(w: np.ndarray | BitMask, cols: int, g: int, window: int) -> Packing:
    """:func:`pack_columns` without splitting by the compiled loop, on the mask's packed
    rows (whole-byte tiles: a BitMask's own bytes) — the same placements as
    :func:`_first_fit` (``tests/reference/test_column_combining_native.py``)."""
    assert _NATIVE is not None
    k, n = w.shape
    t = -(-n // cols)
    if cols % 8 == 0:  # tile j = bytes j·cols/8 … of every packed row
        rows = w.packed if isinstance(w, BitMask) else np.packbits(w, axis=1)
        per = cols // 8
    else:  # narrower tiles: padded to whole words first
        lines = line_words(w, cols)
        rows, per = lines.view(np.uint8).reshape(k, -1), lines.shape[2] * 8
    group_of = np.full((t, k), -1, np.int32)
    line_nnz = np.empty((t, k), np.int32)
    rows = np.ascontiguousarray(rows)
    _NATIVE.cc_first_fit(rows, k, rows.shape[1], per, t, g, min(window, k), group_of, line_nnz)
    return Packing(k, n, cols, g, window, group_of, line_nnz=line_nnz)


def _line_nnz(lines: np.ndarray) -> np.ndarray:
    """(T, k) int32 non-zeros of every line in every tile: popcounts of its words."""
    return np.bitwise_count(lines).sum(axis=2, dtype=np.int32).T


def _first_fit(
    lines: np.ndarray,
    active: np.ndarray,
    g: int,
    win: int,
    group_of: np.ndarray,
    split: tuple[int, np.ndarray, np.ndarray] | None = None,
) -> None:
    """The packing loop (one step per line, every tile at once): fills ``group_of`` (and,
    with ``split`` = (split_min, split_of, split_nnz), the fragments of split lines).

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

    def bits(x: np.ndarray) -> np.ndarray:
        """Non-zeros of line words (last axis: words when more than one)."""
        c = np.bitwise_count(x).astype(np.int64)
        return c if one_word else c.sum(axis=-1)

    def fit_keys(lt: np.ndarray, line: np.ndarray) -> np.ndarray:
        mk = mask[lt]
        clash = (mk & line[:, None]) != 0 if one_word else (mk & line[:, None, :]).any(axis=2)
        return np.where(clash, never, key_open[lt])

    def take(lt: np.ndarray, slot: np.ndarray, gid: np.ndarray, add: np.ndarray) -> None:
        """Slot ``slot`` of tiles ``lt`` (holding group ``gid``) takes one more member."""
        c = count[lt, slot] + 1
        count[lt, slot] = c
        mask[lt, slot] = mask[lt, slot] | add
        still = c < g
        key_open[lt, slot] = np.where(still, gid, never)
        key_new[lt, slot] = np.where(still, gid, -1)

    def place(lt: np.ndarray, line: np.ndarray) -> np.ndarray:
        """First fit of ``line`` (one per tile of ``lt``); the group each joined."""
        fit_key = fit_keys(lt, line)
        best = fit_key.argmin(axis=1)  # first fit: the oldest open group without a conflict
        rows = np.arange(lt.size)
        gid = fit_key[rows, best]
        joins = gid != never
        slot = np.where(joins, best, key_new[lt].argmin(axis=1))
        first = opened[lt]
        gid = np.where(joins, gid, first)
        opened[lt] = first + ~joins
        # A new group replaces its slot's content: clear it, then add the line.
        new = ~joins
        mask[lt[new], slot[new]] = 0
        count[lt[new], slot[new]] = 0
        take(lt, slot, gid, line)
        return gid

    for i in np.flatnonzero(active.any(axis=1)):
        lt = np.flatnonzero(active[i])  # tiles where line i has a non-zero
        line = lines[i, lt, 0] if one_word else lines[i, lt]
        if split is not None:
            line = _split_step(
                int(i), lt, line, fit_keys, bits, take, split, mask, key_open, int(never)
            )
        group_of[lt, i] = place(lt, line)


# Bits of one slot word of the one-word loop: group key, columns, member count (top).
_WORD_BITS = 57


def _one_word_fits(k: int, cols: int) -> bool:
    """Whether tiles of ``cols`` columns of a k-line mask fit :func:`_first_fit_one_word`'s
    slot words (a key of up to k, the columns, a 7-bit count in the top bits)."""
    return k.bit_length() + cols <= _WORD_BITS


class _SlotWords:
    """The open groups of ``n`` tiles for :func:`_first_fit_one_word`, ``win`` slot words
    per tile (see there), plus a spare word that all-zero lines write."""

    def __init__(self, n: int, win: int, kb: int, cols: int, g: int) -> None:
        self.n, self.win, self.kb, self.cols, self.g = n, win, kb, cols, g
        self.key_bits = np.uint64((1 << kb) - 1)
        self.one = np.uint64(1 << _WORD_BITS)  # one member
        self.full = np.uint64(g << _WORD_BITS)  # g < 128
        self.closed = np.uint64(((1 << cols) - 1) << kb)  # every column, key 0
        self.flat = np.full(n * win + 1, self.closed, np.uint64)  # + the spare word
        self.word = self.flat[: n * win].reshape(n, win)
        self.base = np.arange(n) * win
        # One AND and one argmin per line for both searches: row 0 of `query` is the
        # line and the key bits (the first fit), row 1 the key bits alone (the slot a
        # new group takes: the first free one, key 0, else the oldest open group's).
        self.query = np.full((2, n, 1), self.key_bits, np.uint64)

    def like(self, n: int) -> _SlotWords:
        """Empty slots for ``n`` tiles, of the same shape."""
        return _SlotWords(n, self.win, self.kb, self.cols, self.g)

    def place(self, bits: np.ndarray, new: int | np.ndarray, partial: bool) -> np.ndarray:
        """First fit of one line per tile (its columns ``bits``, shifted above the key
        bits; ``new``: the key a new group of it gets; ``partial``: the line may be all
        zero in some tiles, which then change nothing): the key each joins or opens."""
        key_bits = self.key_bits
        np.bitwise_or(bits, key_bits, out=self.query[0, :, 0])
        fit = self.word & self.query
        best, free = fit.argmin(axis=2)
        got = fit.take(self.base + best)  # (row 0 of the flattened fit)
        joins = got <= key_bits  # (an all-zero line "joins": it conflicts with nothing)
        slot = np.where(joins, best, free)
        key = np.where(joins, got, new)
        at = self.base + slot
        if partial:
            at = np.where(bits != 0, at, self.n * self.win)
        add = np.where(joins, self.flat[at], key) | bits  # a new group: its key, no columns
        add += self.one
        self.flat[at] = np.where(add >= self.full, self.closed, add)
        return key


# Short-and-wide masks (few tiles, many lines: convolutions) are packed in segments of
# lines, side by side as up to this many virtual tiles, of at least this many lines.
_SEGMENT_TILES = 128
_SEGMENT_LINES = 256
_CHECK_EVERY = 16  # lines between comparisons of a segment's re-run with its first run


def _segment_keys(bits: np.ndarray, segments: int, proto: _SlotWords) -> np.ndarray:
    """The key every line gets ``(k, T)`` (all-zero lines: any), by packing the k lines
    (``bits``: columns shifted above the key bits) in ``segments`` segments at once.

    The first run starts every segment with no open group; only the first segment is
    then exact. A re-run of segment s starts from where the (exact) run of segment s−1
    ended, and stops at the first check where its open groups equal the first run's at
    the same line (same keys, columns, counts: from there on the runs place every line
    alike — keys are first lines, the same in both). A segment whose re-run never meets
    the first run ends elsewhere, so the segments after it are re-run again from there;
    every round makes at least one more segment exact."""
    k, t = bits.shape
    n = -(-k // segments)  # lines per segment
    x = np.zeros((segments * n, t), np.uint64)
    x[:k] = bits
    x = x.reshape(segments, n, t)
    first = (np.arange(segments, dtype=np.uint64) * np.uint64(n) + np.uint64(1))[:, None]

    def run(
        segs: np.ndarray, slots: _SlotWords, stop: np.ndarray | None, keys: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Packs segments ``segs`` from ``slots``, writing ``keys``; with ``stop`` (the
        first run's sorted slots at every check), stops a tile where they meet. Returns
        which tiles met, and the sorted slots at every check (first run)."""
        met = np.zeros(slots.n, bool)
        checks = []
        start = np.broadcast_to(first[segs], (segs.size, t)).ravel()  # keys of first lines
        for r in range(n):
            b = x[segs, r].ravel()
            if stop is not None:
                b = np.where(met, 0, b)  # a tile that met the first run changes nothing
            key = slots.place(b, start + r, True).reshape(segs.size, t)
            if stop is None:
                keys[segs, r] = key
            else:
                keys[segs, r] = np.where(met.reshape(segs.size, t), keys[segs, r], key)
            if (r + 1) % _CHECK_EVERY == 0:
                now = np.sort(slots.word, axis=1)
                if stop is None:
                    checks.append(now)
                else:
                    met |= (now == stop[(r + 1) // _CHECK_EVERY - 1]).all(axis=1)
                    if met.all():
                        break
        return met, checks

    spec_keys = np.zeros((segments, n, t), np.uint64)
    spec = proto.like(segments * t)
    _, checks = run(np.arange(segments), spec, None, spec_keys)
    spec_end = spec.word.reshape(segments, t, -1).copy()
    keys = spec_keys.copy()
    end = spec_end.copy()  # every segment's end state (exact once it is resolved)
    exact = 1  # segments 0 … exact − 1 are resolved
    while exact < segments:
        todo = np.arange(exact, segments)
        slots = proto.like(todo.size * t)
        slots.word[:] = end[todo - 1].reshape(todo.size * t, -1)
        keys[todo] = spec_keys[todo]
        stop = [c.reshape(segments, t, -1)[todo].reshape(todo.size * t, -1) for c in checks]
        met_tiles, _ = run(todo, slots, np.stack(stop) if stop else None, keys)
        met_tiles = met_tiles.reshape(todo.size, t)
        ran = slots.word.reshape(todo.size, t, -1)  # (a tile that met stopped there)
        # Segment `exact` started exact; each next one did if every tile of the one
        # before met its first run (then it ended where that run ended, which the next
        # one started from).
        for i, s in enumerate(todo.tolist()):
            end[s] = np.where(met_tiles[i][:, None], spec_end[s], ran[i])
            exact = s + 1
            if not met_tiles[i].all():
                break
    return keys.reshape(segments * n, t)[:k]


def _first_fit_one_word(
    lines: np.ndarray, active: np.ndarray, g: int, win: int, group_of: np.ndarray
) -> None:
    """:func:`_first_fit` without splitting, for narrow tiles (:func:`_one_word_fits`):
    the same rule, with fewer and cheaper numpy steps per line.

    A slot is one 64-bit word: its group's key (its first line + 1; 0 = free) in the low
    ``kb`` bits, its columns above them, its member count in the top 7 bits. ANDing
    every slot with the line's columns and the key bits leaves the key where the line
    fits and a larger number where it conflicts, so one argmin finds the oldest group
    it fits. A slot holding no open group has every column bit set (it conflicts with
    any line) and key 0, so the argmin of the slots' key bits is the first free slot,
    else the oldest open group's. A tile where the line is all zero writes a
    spare word past the slots, so no tile is gathered out. Lines are taken as
    :func:`_line_steps` orders them."""
    k, t = active.shape
    kb = k.bit_length()  # keys 1 … k
    cols = max(int(lines.max()).bit_length(), 1)
    if kb + cols > _WORD_BITS:
        raise ArchitectureError("column combining: tiles too wide for the one-word loop")
    shift = np.uint64(kb)  # a line's columns go above the key bits
    key_of = group_of.T  # the key every line gets, in place (kept where the line is active)
    segments = min(_SEGMENT_TILES // t, k // _SEGMENT_LINES)
    if segments >= 2 and active.all(axis=1).mean() > 0.9:
        key_of[:] = _segment_keys(lines << shift, segments, _SlotWords(1, win, kb, cols, g))
    else:
        slots = _SlotWords(t, win, kb, cols, g)
        for index, partial in _line_steps(active):
            bits = lines[index] << shift
            # A group's key is its first line + 1: in creation order, like group ids.
            new = index + 1 if isinstance(index, int) else index[0] + 1
            key_of[index] = slots.place(bits, new, partial)
    # Group ids: the rank of every group's first line among the tile's first lines.
    lines_of = np.arange(1, k + 1)
    for j in range(t):
        keys, on = group_of[j], active[:, j]
        rank = np.cumsum(on & (keys == lines_of), dtype=np.int32) - 1
        group_of[j] = np.where(on, rank[np.where(on, keys, 1) - 1], -1)


def _line_steps(
    active: np.ndarray,
) -> list[tuple[int | tuple[np.ndarray, np.ndarray], bool]]:
    """The steps of the one-word loop: per step, the index of one line per tile into a
    ``(k, T)`` array, and whether the line is all zero in some tile.

    A step is a line of W (an int), in k order. When many lines are empty in some tiles
    (sparse FC layers), each tile instead walks its own non-empty lines, step s taking
    the s-th of every tile (a pair of index arrays): fewer steps, the same placements
    (an empty line changes nothing). A tile out of lines takes one that is empty in it."""
    t = active.shape[1]
    rows = np.flatnonzero(active.any(axis=1))
    counts = active.sum(axis=0)
    longest = int(counts.max()) if t else 0
    if longest >= 0.9 * rows.size:
        everywhere: list[bool] = np.asarray(active[rows].all(axis=1)).tolist()
        return [(int(i), not full) for i, full in zip(rows.tolist(), everywhere, strict=True)]
    seq = np.empty((longest, t), np.min_scalar_type(active.shape[0]))  # line indices
    by_tile = np.ascontiguousarray(active.T)
    for j in range(t):
        own = np.flatnonzero(by_tile[j])
        seq[: own.size, j] = own
        seq[own.size :, j] = np.argmin(by_tile[j])  # an empty line (there is one)
    tiles = np.arange(t)
    shortest = int(counts.min())
    return [((seq[s], tiles), s >= shortest) for s in range(longest)]


def _split_step(
    i: int,
    lt: np.ndarray,
    line: np.ndarray,
    fit_keys: Callable[[np.ndarray, np.ndarray], np.ndarray],
    bits: Callable[[np.ndarray], np.ndarray],
    take: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None],
    split: tuple[int, np.ndarray, np.ndarray],
    mask: np.ndarray,
    key_open: np.ndarray,
    never: int,
) -> np.ndarray:
    """Line splitting for the tiles of ``lt`` where line i fits no open group whole: the
    oldest open group with at least ``split_min`` non-conflicting non-zeros takes them;
    returns the lines left to place (the conflicting rest where a fragment was taken)."""
    split_min, split_of, split_nnz = split
    whole = (fit_keys(lt, line) != never).any(axis=1)
    cand = np.flatnonzero(~whole)
    if not cand.size:
        return line
    ct, cl = lt[cand], line[cand]
    mk = mask[ct]
    part = (cl[:, None] & ~mk) if mk.ndim == 2 else (cl[:, None, :] & ~mk)
    ok = (key_open[ct] != never) & (bits(part) >= split_min)
    key = np.where(ok, key_open[ct], never)
    s1 = key.argmin(axis=1)
    rows = np.arange(ct.size)
    gid = key[rows, s1]
    has = gid != never
    if not has.any():
        return line
    rows, ct2, s1, gid = rows[has], ct[has], s1[has], gid[has]
    frag = part[rows, s1]
    rest = cl[has] & mk[rows, s1]
    take(ct2, s1, gid, frag)
    split_of[ct2, i] = gid
    split_nnz[ct2, i] = bits(frag)
    line = line.copy()
    line[cand[has]] = rest
    return line


@dataclass(frozen=True)
class PackedTiles:
    """Per (tile, row fold), what the packed layout puts on the array (WS image order:
    tile-major, row folds inside)."""

    rows: np.ndarray  # (T, F) packed rows in the fold (0: the fold does not exist)
    nnz: np.ndarray  # (T, F) weights placed
    members: np.ndarray  # (T, F) lines fed (activation columns read) by the fold
    lines: np.ndarray  # (T,) lines fed per tile (a split line once per group it is in)
    cols: np.ndarray  # (T,) columns of every tile


def packed_tiles(
    w: np.ndarray | BitMask, packing: Packing, rows: int, native: bool = True
) -> PackedTiles:
    """Occupancy of every row fold of every tile for an array of ``rows`` rows
    (``native``: sums by the compiled kernel when it is built, else by numpy)."""
    if not (isinstance(rows, int) and rows > 0):
        raise ArchitectureError("column combining: rows must be a positive integer")
    t, cols = packing.tiles, packing.cols
    kp = packing.groups
    folds = max(int(-(-kp.max() // rows)) if kp.size else 0, 1)
    fold_idx = np.arange(folds)
    n_rows = np.clip(kp[:, None] - fold_idx[None, :] * rows, 0, rows)
    # Non-zeros of every line in every tile (popcounts of its packed words), then summed
    # per group's fold.
    line_nnz = packing.line_nnz
    if line_nnz is None:
        line_nnz = _line_nnz(line_words(w if isinstance(w, BitMask) else np.asarray(w, bool), cols))
    # Member entries: every placed line (its rest, when split) and every fragment.
    entries = [(packing.group_of, line_nnz)]
    if packing.split_of is not None and packing.split_nnz is not None:
        entries = [
            (packing.group_of, line_nnz - packing.split_nnz),
            (packing.split_of, packing.split_nnz),
        ]
    size = t * folds
    nnz = np.zeros(size, np.int64)
    members = np.zeros(size, np.int64)
    if native and _NATIVE is not None and len(entries) == 1 and packing.k > 0 and t > 0:
        # One pass over the lines in C (the bincounts below are its numpy twin).
        grp, weight = (np.ascontiguousarray(x, np.int32) for x in entries[0])
        _NATIVE.cc_fold_sums(grp, weight, t, packing.k, rows, folds, members, nnz)
        entries = []
    first = (np.arange(t, dtype=np.int64) * folds)[:, None]  # every tile's first fold
    for grp, weight in entries:
        # Unplaced lines (-1) count in one extra bin past the folds, dropped.
        idx = np.where(grp >= 0, first + grp // rows, size).ravel()
        nnz += np.bincount(idx, weights=weight.ravel(), minlength=size + 1)[:size].astype(np.int64)
        members += np.bincount(idx, minlength=size + 1)[:size]
    per_fold = members.reshape(t, folds)
    return PackedTiles(
        n_rows, nnz.reshape(t, folds), per_fold, per_fold.sum(axis=1), packing.tile_cols()
    )
