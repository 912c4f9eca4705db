"""Weight reordering: permute W's rows (k) and columns (n) so that zero tiles appear.

The compiler may lay W out in any row and column order: permuting the reduction index k
permutes the activation columns identically (the im2col feeder reads A's columns in the
same order, no cost), and permuting the output channels n only changes where outputs are
written back (through the inverse permutation, no cost). ``A[:, p] @ W[p][:, q]`` is
``(A @ W)[:, q]``, so the outputs are exact. What changes is which weights share an
``R × C`` array tile, hence how many tiles are entirely zero (a WS fold skipped) and how
many weight vectors of a stream are empty (OS/IS streams shortened).

:func:`weight_reorder` returns the permutations for one ``k × n`` mask (pure, vectorized,
deterministic). Method ``sort`` tries a few candidate orders and keeps the best for the
dataflow's skipping rule (:func:`skip_cost`), the identity among them, so it never does
worse than no reordering by that measure:

* **count**: rows and columns by non-zero count, densest first (stable). Empty rows and
  columns (pruned channels) gather at the end and form zero tiles.
* **signature rounds**: alternately sort the columns by the set of row blocks they touch
  and the rows by the set of column blocks they touch (the block pattern
  lexicographically, then the non-zero count; one series of rounds with the number of
  blocks touched as the first key, one without), ``ROUNDS`` times each. Rows with the
  same block pattern (a block-pruned band) end up adjacent, and so do columns; the
  lexicographic order puts the items missing block 0 together, then within each group
  those missing block 1, and so on.

With unstructured (random) masks at the densities of pruned CNNs nearly every row touches
every column block, so no order creates zero tiles: reordering leaves such layers as they
are (measured in docs/sparse-on-dense.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sod.compiler.bitcount import (
    _NATIVE,
    block_or,
    pack_axis0,
    spread_rows,
    transpose_bytes,
)
from sod.compiler.plan import BlockCounts, packed_block_counts

REORDER_METHODS = ("none", "sort")
#: Mask entries :meth:`Reorder.apply` permutes at once (bounds its scratch memory).
_APPLY_BLOCK_ELEMENTS = 1 << 22
ROUNDS = 3


@dataclass(frozen=True)
class Reorder:
    """Row (k) and column (n) permutations of a weight mask: the reordered W is
    ``W[rows][:, cols]``; position i of the reordered rows holds original row ``rows[i]``."""

    rows: np.ndarray  # (k,) int64
    cols: np.ndarray  # (n,) int64
    # The natural mask packed along its rows (``_pack_axis0``), when the layout search
    # made it: :meth:`apply_in_place` gathers from it instead of packing the mask again.
    packed_rows: np.ndarray | None = field(default=None, compare=False, repr=False)
    # The natural mask's non-zeros per row (k,) int64, when the layout search counted them.
    row_nnz: np.ndarray | None = field(default=None, compare=False, repr=False)
    # The natural mask packed along n, (k, ⌈n/8⌉) uint8, and along k, (≥ n, ≥ ⌈k/8⌉)
    # uint8 (``np.packbits(mask, axis=0).T``, zero padded), when the layout search made
    # them: :meth:`block_counts` measures the reordered layout from them without
    # building it.
    bits_rows: np.ndarray | None = field(default=None, compare=False, repr=False)
    bits_cols: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def is_identity(self) -> bool:
        return bool(
            (self.rows == np.arange(self.rows.size)).all()
            and (self.cols == np.arange(self.cols.size)).all()
        )

    def block_counts(
        self, rows: int, cols: int, row_counts: bool = True, col_counts: bool = True
    ) -> BlockCounts | None:
        """:func:`~sod.compiler.plan.block_counts` of the reordered mask on a ``rows ×
        cols`` grid, from the natural mask's packed bits (None when the layout search did
        not keep them): the same counts as measuring :meth:`apply`'s result."""
        if self.bits_rows is None or self.bits_cols is None:
            return None
        return packed_block_counts(
            self.bits_rows,
            int(self.cols.size),
            rows,
            cols,
            row_counts,
            col_counts,
            (self.rows, self.cols),
            self.bits_cols,
        )

    def apply(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """W (k × n, or (..., k, n)) in the reordered layout (written into ``out`` if
        given)."""
        if out is None:
            out = np.empty(w.shape, w.dtype)
        # np.take along an axis is many times faster than fancy indexing on big masks; a
        # block of rows at a time bounds the scratch (a large FC mask is 100 MB) and keeps
        # each row's column gather in cache.
        step = max(1, _APPLY_BLOCK_ELEMENTS // max(self.cols.size, 1))
        for lo in range(0, self.rows.size, step):
            block = np.take(w, self.rows[lo : lo + step], axis=-2)
            out[..., lo : lo + step, :] = np.take(block, self.cols, axis=-1)
        return out

    def apply_in_place(self, w: np.ndarray) -> np.ndarray:
        """A writable bool k × n mask reordered in place (as :meth:`apply`); the scratch is
        its bit-packed copy (an eighth of it) and a block of rows, no second mask."""
        k, n = w.shape
        if _packable(w):
            return _permute_bool(w, self.rows, self.cols, w, self.packed_rows)
        step = max(1, _APPLY_BLOCK_ELEMENTS // max(n, 1))
        packed = np.empty((k, (n + 7) // 8), np.uint8)
        for lo in range(0, k, step):  # columns permuted, packed row by row
            block = np.take(w[lo : lo + step], self.cols, axis=1)
            packed[lo : lo + step] = np.packbits(block, axis=1)
        for lo in range(0, k, step):  # rows gathered from the packed copy
            rows = np.take(packed, self.rows[lo : lo + step], axis=0)
            w[lo : lo + step] = np.unpackbits(rows, axis=1, count=n).view(bool)
        return w

    def restore(self, wp: np.ndarray) -> np.ndarray:
        """The original W from the reordered one (inverse of :meth:`apply`)."""
        out = np.empty_like(wp)
        out[np.ix_(self.rows, self.cols)] = wp
        return out


def take_columns(x: np.ndarray, perm: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.take(x, perm, axis=1)`` of a 2-D bool array (written into ``out`` if given):
    A's columns follow W's permuted rows."""
    if out is None:
        out = np.empty(x.shape, bool)
    if _packable(x) and out.flags.c_contiguous:
        return _permute_bool(x, None, perm, out)
    out[...] = np.take(x, perm, axis=1)
    return out


def _packable(x: np.ndarray) -> bool:
    """A C-contiguous 2-D bool array whose rows are whole uint64 words (eight columns)."""
    return x.dtype == bool and x.ndim == 2 and x.shape[1] % 8 == 0 and x.flags.c_contiguous


def _permute_bool(
    x: np.ndarray,
    rows: np.ndarray | None,
    cols: np.ndarray,
    out: np.ndarray,
    by8: np.ndarray | None = None,
) -> np.ndarray:
    """``out[:] = x[rows][:, cols]`` (``rows`` None: every row in order) for a
    :func:`_packable` bool array; ``out`` may be ``x`` itself. ``by8``: x's
    :func:`_pack_axis0`, if at hand.

    Gathering bool columns moves one byte per element; instead x is packed along its
    rows (:func:`_pack_axis0`, an eighth of x), the columns are gathered there, and each
    output row is cut from its source row's byte row: shifted so that its bit is bit 0 of
    every byte and masked (eight columns a word; a shift of at most 7 stays in its byte,
    so this is endian-free)."""
    k, n = x.shape
    if by8 is None or by8.shape != (-(-k // 8), n):
        by8 = _pack_axis0(x)
    by8 = np.take(by8, cols, axis=1)  # (⌈k/8⌉, n): bit 7−b is row 8q+b
    words = by8.view(np.uint64)
    target = out.view(np.uint64)
    src = np.arange(k, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    if _NATIVE is not None:  # one pass (the compiled twin of the loop below)
        spread_rows(words, src, target)
        return out
    step = max(1, _APPLY_BLOCK_ELEMENTS // max(n, 1))
    for lo in range(0, k, step):
        spread_rows(words, src[lo : lo + step], target[lo : lo + step], native=False)
    return out


def identity(k: int, n: int) -> Reorder:
    return Reorder(np.arange(k, dtype=np.int64), np.arange(n, dtype=np.int64))


def _block_any(mask: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Whether each block of ``size`` consecutive indices along ``axis`` holds a non-zero,
    for every index of the other axis: (blocks, n) for axis 0, (k, blocks) for axis 1."""
    length = mask.shape[axis]
    blocks = -(-length // size)
    pad = blocks * size - length
    if axis == 0:
        padded = np.pad(mask, ((0, pad), (0, 0))) if pad else mask
        return np.asarray(padded.reshape(blocks, size, -1).any(axis=1))
    padded = np.pad(mask, ((0, 0), (0, pad))) if pad else mask
    return np.asarray(padded.reshape(mask.shape[0], blocks, size).any(axis=2))


#: Words :func:`_pack_axis0` shifts at once (bounds its scratch, keeps it in cache).
_PACK_CHUNK_WORDS = 1 << 15


def _pack_axis0(x: np.ndarray) -> np.ndarray:
    """``np.packbits(x, axis=0)`` of a 2-D bool array: (⌈a/8⌉, b) uint8, byte q of column
    j holding rows 8q … 8q+7 (the first in the high bit).

    numpy packs along a non-last axis one strided element at a time; with ``b`` a multiple
    of 8 the 0/1 bytes of eight rows are shifted and ORed instead, eight columns to a
    uint64 word (a 0/1 byte shifted by at most 7 stays in its byte: endian-free)."""
    a, b = x.shape
    whole = a // 8
    if b % 8 or whole == 0:
        return np.packbits(x, axis=0)
    x = np.ascontiguousarray(x)
    words = b // 8
    v = x.view(np.uint64)  # (a, b/8): eight columns' 0/1 bytes per word
    out = np.empty((-(-a // 8), words), np.uint64)
    step = max(1, _PACK_CHUNK_WORDS // words)
    tmp = np.empty((min(step, whole), words), np.uint64)
    for lo in range(0, whole, step):
        hi = min(whole, lo + step)
        acc, t = out[lo:hi], tmp[: hi - lo]
        np.left_shift(v[8 * lo : 8 * hi : 8], np.uint64(7), out=acc)
        for i in range(1, 8):
            np.left_shift(v[8 * lo + i : 8 * hi : 8], np.uint64(7 - i), out=t)
            acc |= t
    packed = out.view(np.uint8)
    if whole * 8 < a:  # the last, partial group of rows
        packed[whole] = np.packbits(x[whole * 8 :], axis=0)[0]
    return packed


def _or_groups(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Bitwise OR of every ``size`` consecutive entries along ``axis`` (0 or 1) of a 2-D
    array; a last, shorter group is ORed alone."""
    length = x.shape[axis]
    full = length // size
    parts = []
    if axis == 0:
        if full:
            head = x[: full * size].reshape(full, size, -1)
            parts.append(np.bitwise_or.reduce(head, axis=1))
        if full * size < length:
            parts.append(np.bitwise_or.reduce(x[full * size :], axis=0)[None])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
    # Along the rows: each row's groups are contiguous (no transposed copy).
    x = np.ascontiguousarray(x)
    if full:
        head = x[:, : full * size].reshape(x.shape[0], full, size)
        parts.append(np.bitwise_or.reduce(head, axis=2))
    if full * size < length:
        parts.append(np.bitwise_or.reduce(x[:, full * size :], axis=1)[:, None])
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def _be_words(packed: np.ndarray) -> np.ndarray:
    """Packed bytes (nbytes, items), byte 0 first, as big-endian uint64 words (words,
    items): comparing an item's words in order compares its bytes lexicographically."""
    nbytes, items = packed.shape
    count = max(-(-nbytes // 8), 1)
    rows = np.zeros((items, 8 * count), np.uint8)  # each item's bytes, zero padded
    rows[:, :nbytes] = packed.T
    # eight bytes read as one big-endian word, then as native uint64 words
    words = np.ascontiguousarray(rows.view(">u8").astype(np.uint64).T)
    return words


def _popcount(x: np.ndarray) -> int:
    return int(np.bitwise_count(x).sum(dtype=np.int64))


class _Packed:
    """A k × n mask packed for the layout search, so that gathering permuted rows or
    columns moves bytes and words instead of bools:

    * ``rows`` (k, ⌈n/8⌉) uint8: each row's bits along n (``np.packbits(mask, axis=1)``);
    * ``by8`` (⌈k/8⌉, n) uint8: ``np.packbits(mask, axis=0)``, byte g of column j holding
      its rows 8g … 8g+7;
    * ``cols_bytes`` (≥ n, ≥ ⌈k/8⌉) uint8: ``by8`` transposed, each column's bits along
      k as a row (zero padded: whole words without the compiled kernels).

    The block patterns the search reads (row blocks touched by each column, column
    blocks touched by each row) are kept packed and cached per permutation, since the
    candidates and their costs meet the same permutations again."""

    def __init__(
        self, mask: np.ndarray, rows: int, cols: int, bits: np.ndarray | None = None
    ) -> None:
        """``bits``: ``np.packbits(mask, axis=1)`` if at hand (a BitMask's bytes; the
        compiled path then never reads ``mask`` itself)."""
        self.k, self.n = (int(x) for x in mask.shape)
        self.R, self.C = rows, cols
        width = -(-self.n // 8)
        if bits is None or bits.shape != (self.k, width) or bits.dtype != np.uint8:
            bits = np.packbits(np.asarray(mask, dtype=bool), axis=1)
        self.rows = np.ascontiguousarray(bits)
        if _NATIVE is not None:
            # packed along k straight from the packed rows (8 × 8 bit blocks transposed),
            # then each column's bytes made a row (8 × 8 byte blocks transposed)
            table = pack_axis0(self.rows, self.k)  # (⌈k/8⌉, 8⌈n/8⌉)
            self.by8 = table[:, : self.n]
            self.cols_bytes = transpose_bytes(table)  # (8⌈n/8⌉, ⌈k/8⌉)
            along_k = self.cols_bytes  # whole uint64 words when they fit: fewer popcounts
            words_k = along_k.view(np.uint64) if along_k.shape[1] % 8 == 0 else along_k
            col_nnz = np.bitwise_count(words_k).sum(axis=1, dtype=np.int64)[: self.n]
        else:
            by8 = self.by8 = _pack_axis0(np.ascontiguousarray(mask, dtype=bool))
            q = -(-by8.shape[0] // 8)
            if q * 8 != by8.shape[0]:
                pad = np.zeros((q * 8 - by8.shape[0], self.n), np.uint8)
                by8 = np.concatenate([by8, pad])
            # column j's row of words: byte s of word w holds its rows 8(8w+s) … 8(8w+s)+7
            # (bytes gathered into words first: transposing words moves 8x fewer items)
            words_qn = np.ascontiguousarray(by8.reshape(q, 8, self.n).transpose(0, 2, 1))
            cols = np.ascontiguousarray(words_qn.view(np.uint64).reshape(q, self.n).T)
            self.cols_bytes = cols.view(np.uint8)
            col_nnz = np.bitwise_count(cols).sum(axis=1, dtype=np.int64)
        # whole uint64 words per row: an eighth of the popcounts (endian-free)
        words = self.rows.view(np.uint64) if width % 8 == 0 else self.rows
        self.row_nnz = np.bitwise_count(words).sum(axis=1, dtype=np.int64)
        self.col_nnz = col_nnz
        self._row_blocks: dict[bytes, np.ndarray] = {}
        self._col_blocks: dict[bytes, np.ndarray] = {}

    @property
    def nnz(self) -> int:
        return int(self.row_nnz.sum())

    def col_blocks(self, r: np.ndarray) -> np.ndarray:
        """With the rows in order ``r``: the row blocks each column touches, packed along
        the blocks, (⌈kb/8⌉, n) uint8 (``np.packbits(_block_any(mask[r], R, 0), axis=0)``)."""
        key = r.tobytes()
        hit = self._col_blocks.get(key)
        if hit is None:
            touched = block_or(self.rows, r, self.R)  # (kb, ⌈n/8⌉) packed along n
            hit = self._col_blocks[key] = _blocks_axis0(touched, self.n)
        return hit

    def row_blocks(self, c: np.ndarray) -> np.ndarray:
        """With the columns in order ``c``: the column blocks each row touches, packed
        along the blocks, (⌈nb/8⌉, k) uint8 (``np.packbits(_block_any(mask[:, c], C, 1),
        axis=1).T``)."""
        key = c.tobytes()
        hit = self._row_blocks.get(key)
        if hit is None:
            # (nb, ≥ ⌈k/8⌉) bytes: each block's rows packed along k (zero padded)
            along_k = block_or(self.cols_bytes, c, self.C)
            hit = self._row_blocks[key] = _blocks_axis0(along_k, self.k)
        return hit

    def cost(self, r: np.ndarray, c: np.ndarray, dataflow: str) -> int:
        """:func:`skip_cost` of the mask reordered by (r, c)."""
        if dataflow == "os":
            return _popcount(self.row_blocks(c))
        if dataflow == "is":
            return _popcount(self.col_blocks(r))
        if c.tobytes() in self._row_blocks:  # WS: tiles touched, from whichever is at hand
            return _popcount(_or_groups(np.take(self.row_blocks(c), r, axis=1), self.R, 1))
        return _popcount(_or_groups(np.take(self.col_blocks(r), c, axis=1), self.C, 1))


def _blocks_axis0(touched: np.ndarray, items: int) -> np.ndarray:
    """Block patterns ``(blocks, ≥ ⌈items/8⌉)`` packed along the items, repacked along the
    blocks: ``(⌈blocks/8⌉, items)`` uint8 (``_pack_axis0`` of the unpacked pattern)."""
    if _NATIVE is not None:
        return pack_axis0(touched, touched.shape[0])[:, :items]
    pattern = np.unpackbits(touched, axis=1, count=items).view(bool)
    return _pack_axis0(pattern)


def skip_cost(mask: np.ndarray, rows: int, cols: int, dataflow: str) -> int:
    """What skipping cannot remove, for a ``k × n`` mask in its current order on an
    ``rows × cols`` array: non-zero tiles (WS: each costs a fold), or non-empty weight
    vectors summed over streams (OS: rows of each column block; IS: columns of each row
    block; each costs a streamed cycle)."""
    k, n = mask.shape
    return _cost(mask, np.arange(k), np.arange(n), rows, cols, dataflow)


def _cost(
    mask: np.ndarray, r: np.ndarray, c: np.ndarray, rows: int, cols: int, dataflow: str
) -> int:
    """:func:`skip_cost` of ``mask`` reordered by (r, c), without building it."""
    r, c = np.asarray(r, np.int64), np.asarray(c, np.int64)
    return _Packed(mask, rows, cols).cost(r, c, dataflow)


def _signature_order(
    blocks: np.ndarray, counts: np.ndarray, fewest_first: bool, native: bool = True
) -> np.ndarray:
    """Indices of the items ordered by their block pattern lexicographically (touching
    the first block sorts first), then the non-zero count (densest first), then the
    index; ``fewest_first``: by the number of blocks touched before all that.

    ``blocks`` (⌈blocks/8⌉, items) uint8: each item's pattern packed along the blocks
    (``np.packbits(pattern, axis=1).T``). The patterns are compared as big-endian words
    of the inverted bits, which orders them as the bytes of the packed inverted pattern
    would. One stable sort on the first word; only items whose first words tie are
    sorted again by the other words, the count and the index; the number of blocks
    touched, a small integer, is a last stable sort. With the compiled kernels (and
    ``native``), one radix sort on the same keys (``sod._native.bc_signature_order``)."""
    items = blocks.shape[1]
    if native and _NATIVE is not None and (counts >= 0).all():
        out = np.empty(items, np.int64)
        nbytes = blocks.shape[0]
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        _NATIVE.bc_signature_order(
            np.ascontiguousarray(blocks, dtype=np.uint8), nbytes, items, counts, fewest_first, out
        )
        return out
    words = ~_be_words(blocks)  # (words, items)
    single = _single_key(blocks, words, counts, fewest_first)
    if single is not None:
        return np.argsort(single, kind="stable").astype(np.int64)
    order = np.argsort(words[0], kind="stable")
    first = words[0][order]
    tied = np.zeros(items, bool)
    if items > 1:
        same = first[1:] == first[:-1]
        tied[1:] |= same
        tied[:-1] |= same
    if tied.any():
        where = np.flatnonzero(tied)
        sub = order[where]
        run = np.cumsum(~tied | np.r_[True, ~same])[where]  # one id per run of ties
        keys = (-counts[sub], *(w[sub] for w in words[:0:-1]), run)  # stable: index ties
        order[where] = sub[np.lexsort(keys)]
    if fewest_first:  # few distinct small values: a stable (radix) sort of uint16
        touched = np.bitwise_count(blocks).sum(axis=0, dtype=np.int64)
        key = touched[order]
        if blocks.shape[0] * 8 < 1 << 16:
            key = key.astype(np.uint16)
        order = order[np.argsort(key, kind="stable")]
    return order.astype(np.int64)


def _single_key(
    blocks: np.ndarray, words: np.ndarray, counts: np.ndarray, fewest_first: bool
) -> np.ndarray | None:
    """:func:`_signature_order`'s keys packed in one uint64 per item when they fit (a
    pattern of at most a few bytes): the blocks touched (``fewest_first``), the inverted
    pattern and the count below the largest one, most significant first; a stable sort
    of it breaks the remaining ties by index. None when they do not fit."""
    pattern_bits = 8 * blocks.shape[0]
    top = int(counts.max()) if counts.size else 0
    count_bits = top.bit_length()
    touched_bits = pattern_bits.bit_length() if fewest_first else 0
    if pattern_bits == 0 or pattern_bits + count_bits + touched_bits > 64:
        return None
    key = words[0] >> np.uint64(64 - pattern_bits)  # the inverted pattern, big-endian
    key <<= np.uint64(count_bits)
    key |= (top - counts).astype(np.uint64)  # densest first
    if fewest_first:
        touched = np.bitwise_count(blocks).sum(axis=0, dtype=np.uint64)
        key |= touched << np.uint64(pattern_bits + count_bits)
    return key


def _candidates(packed: _Packed) -> list[Reorder]:
    k, n = packed.k, packed.n
    by_count = Reorder(
        np.argsort(-packed.row_nnz, kind="stable").astype(np.int64),
        np.argsort(-packed.col_nnz, kind="stable").astype(np.int64),
    )
    out = [identity(k, n), by_count]
    for fewest_first in (True, False):
        r = by_count.rows
        for _ in range(ROUNDS):
            # The row blocks each column touches with the rows in order r; then the
            # column blocks each row touches with the columns in order c.
            c = _signature_order(packed.col_blocks(r), packed.col_nnz, fewest_first)
            r = _signature_order(packed.row_blocks(c), packed.row_nnz, fewest_first)
            out.append(Reorder(r, c))
    return out


def weight_reorder(
    mask: np.ndarray | None,
    rows: int,
    cols: int,
    dataflow: str,
    method: str,
    bits: np.ndarray | None = None,
    n: int | None = None,
) -> Reorder:
    """The permutations of a ``k × n`` weight mask for an ``rows × cols`` array.

    ``method``: ``none`` (identity) or ``sort`` (the best candidate of the module
    docstring by :func:`skip_cost` for ``dataflow``; ties keep the earlier candidate,
    the identity first). ``bits``: the mask bit-packed along n
    (``np.packbits(mask, axis=1)``, e.g. its BitMask's bytes), if at hand; ``mask`` may
    then be None (given ``n``): the search reads the packed bits only."""
    if mask is None:
        if bits is None or n is None or bits.ndim != 2 or bits.shape[1] != -(-n // 8):
            raise ValueError("a weight mask given packed needs its bits and its n")
        bits = np.ascontiguousarray(bits, dtype=np.uint8)
        if _NATIVE is None:  # the numpy twins read the bool mask
            mask = np.unpackbits(bits, axis=1, count=n).view(bool)
        else:
            mask = np.broadcast_to(np.zeros(1, bool), (bits.shape[0], n))  # shape only
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"weight mask must be 2-D, got shape {mask.shape}")
    k, n = mask.shape
    if method not in REORDER_METHODS:
        raise ValueError(f"unknown weight reorder {method!r}; choose from {REORDER_METHODS}")
    if method == "none" or (k <= rows and n <= cols):
        return identity(k, n)  # one tile
    packed = _Packed(mask, rows, cols, bits)
    if packed.nnz in (0, k * n):
        return identity(k, n)  # nothing to gather
    best, best_cost = None, None
    for cand in _candidates(packed):
        cost = packed.cost(cand.rows, cand.cols, dataflow)
        if best_cost is None or cost < best_cost:
            best, best_cost = cand, cost
    assert best is not None
    return replace(
        best,
        packed_rows=packed.by8,
        row_nnz=packed.row_nnz,
        bits_rows=packed.rows,
        bits_cols=packed.cols_bytes,
    )


def zero_tile_fraction(mask: np.ndarray, rows: int, cols: int) -> float:
    """Fraction of the ``rows × cols`` tiles of a ``k × n`` mask that are all zero."""
    tiles = _block_any(_block_any(np.asarray(mask, bool), rows, 0), cols, 1)
    return float(1.0 - tiles.mean()) if tiles.size else 0.0
