"""Bit-packed fibers of bool masks: the rows of A and the columns of W (k, n) as
``(fibers, ceil(k / 8))`` uint8, one fiber per row, padded with zero bits (``np.packbits``
order). The pair kernels of the sparse models (:func:`sod.models.sparten.pair_cycles`,
:func:`sod.models.index_match.pair_steps`) work on these: a GEMM and its transpose
(:func:`sod.models.accelerators.transposed`) give the same two fiber sets swapped, so the
kernels' memos serve both orientations, and a transposed operand passed as a view is
packed without a transposed bool copy.

The models' kernels take a GEMM's operands in their natural packing instead
(:func:`canonical_operands`: A's rows along k, W's rows along n, ``np.packbits(·,
axis=1)`` of C-contiguous arrays, for either orientation) and transpose bits only where a
kernel needs W's columns (:func:`transpose_packed`). A GEMM's 2-D BitMasks are that
packing already: :func:`packed_repeats` takes them as they are (no bool unpack).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sod.models.memo import mark_immutable
from sod.models.sparse_masks import col_counts, distinct_repeats, mask_arrays
from sod.workload.mask import BitMask, TiledMask


def _flip_anti_diagonal(x: np.ndarray) -> np.ndarray:
    """Transpose every 8 × 8 bit block held in a little-endian uint64 (byte r = row r,
    packbits order: bit 7 = column 0) so that byte c holds column c: three delta swaps
    about the anti-diagonal (the chess-programming ``flipAntiDiag``)."""
    u = np.uint64
    t = x ^ (x << u(36))
    x = x ^ (u(0xF0F0F0F00F0F0F0F) & (t ^ (x >> u(36))))
    t = u(0xCCCC0000CCCC0000) & (x ^ (x << u(18)))
    x = x ^ t ^ (t >> u(18))
    t = u(0xAA00AA00AA00AA00) & (x ^ (x << u(9)))
    return x ^ t ^ (t >> u(9))


def _packed_columns(mask: np.ndarray, block_bytes: int = 64) -> np.ndarray:
    """The columns of a (k, n) bool mask as bit-packed fibers (n, ceil(k / 8)): the rows
    are packed (cheap), then transposed in the packed domain, 8 × 8 bit blocks at a time,
    ``8 · block_bytes`` columns per step (never a transposed bool copy of a large FC
    weight; bounded scratch)."""
    k, n = mask.shape
    out = np.empty((n, (k + 7) // 8), np.uint8)
    for lo in range(0, n, 8 * block_bytes):
        packed = np.packbits(mask[:, lo : lo + 8 * block_bytes], axis=1)  # (k, nb)
        out[lo : lo + 8 * block_bytes] = _transpose_block(packed)[: min(n - lo, 8 * block_bytes)]
    return out


def transpose_packed(packed: np.ndarray, n: int, block_bytes: int = 64) -> np.ndarray:
    """The columns of a (k, n) mask as bit-packed fibers (n, ceil(k / 8)) from its rows
    bit-packed (``np.packbits(mask, axis=1)``, (k, ceil(n / 8))): :func:`_packed_columns`
    without the bool mask."""
    k = packed.shape[0]
    out = np.empty((n, (k + 7) // 8), np.uint8)
    for lo in range(0, packed.shape[1], block_bytes):
        cols = _transpose_block(packed[:, lo : lo + block_bytes])
        out[lo * 8 : lo * 8 + cols.shape[0]] = cols[: n - lo * 8]
    return out


def _transpose_block(packed: np.ndarray) -> np.ndarray:
    """(nb · 8, ceil(k / 8)) column fibers of the bit-packed rows ``packed`` (k, nb)."""
    k, nb = packed.shape
    kb = (k + 7) // 8
    if k % 8:
        packed = np.concatenate([packed, np.zeros((kb * 8 - k, nb), np.uint8)])
    # Block (i, j) = bytes packed[8i : 8i + 8, j] as one little-endian word.
    blocks = packed.reshape(kb, 8, nb).transpose(0, 2, 1).copy().view("<u8")[..., 0]
    flipped = np.ascontiguousarray(_flip_anti_diagonal(blocks).astype("<u8", copy=False).T)
    return flipped.view(np.uint8).reshape(nb, kb, 8).transpose(0, 2, 1).reshape(nb * 8, kb)


def row_fibers(x: np.ndarray) -> np.ndarray:
    """The rows of a 2-D bool mask, bit-packed: ``np.packbits(x, axis=1)``, computed in the
    packed domain when ``x`` is the transposed view of a C-contiguous array (no bool
    copy)."""
    if not x.flags.c_contiguous and x.T.flags.c_contiguous:
        return _packed_columns(x.T)
    return np.packbits(x, axis=1)


def col_fibers(w: np.ndarray) -> np.ndarray:
    """The columns of a 2-D bool mask, bit-packed: ``row_fibers(w.T)``."""
    return row_fibers(w.T)


def canonical_operands(act: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(A, W, flipped)`` of a GEMM ``act · weight``: the operands, or for a transposed
    GEMM (both operands transposed views of C-contiguous arrays, as
    :func:`sod.models.accelerators.transposed` passes them) the untransposed ones, whose
    products are the transposes (``flipped``). Either way ``np.packbits(·, axis=1)``
    packs C-contiguous rows (no bit transpose), and both orientations of a GEMM reach a
    pair kernel with the same arguments (one memo entry)."""
    pair = (act, weight)
    # (A vector is both C- and F-contiguous: one operand a transposed view decides.)
    flipped = all(x.T.flags.c_contiguous for x in pair) and not all(
        x.flags.c_contiguous for x in pair
    )
    return (weight.T, act.T, True) if flipped else (act, weight, False)


@dataclass(frozen=True, eq=False)
class TransposedBits:
    """The transpose of a 2-D :class:`~sod.workload.mask.BitMask`, unmaterialized: how
    :func:`sod.models.accelerators.transposed` hands a packed operand to a model."""

    bits: BitMask

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.bits.shape
        return cols, rows


#: A read-only view of each BitMask's packed bytes, one per mask (see :func:`frozen_packed`).
_FROZEN: weakref.WeakKeyDictionary[BitMask, np.ndarray] = weakref.WeakKeyDictionary()


def frozen_packed(bits: BitMask) -> np.ndarray:
    """``bits.packed`` as a read-only view, the same object for every call on ``bits``
    (BitMasks are immutable), so the content memos (:mod:`sod.models.memo`) hash it once
    for both orientations of a GEMM and every mapping of a sweep."""
    view = _FROZEN.get(bits)
    if view is None:
        view = bits.packed.view()
        view.flags.writeable = False
        mark_immutable(view)
        _FROZEN[bits] = view
    return view


def plain_bitmask(mask: object) -> bool:
    """Whether ``mask`` is a BitMask holding all its rows (not a periodic TiledMask)."""
    return isinstance(mask, BitMask) and not isinstance(mask, TiledMask)


def packed_operands(act: object, weight: object) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """``(fa, wp, flipped)`` of a GEMM ``act · weight`` given as 2-D BitMasks (or, for a
    transposed GEMM, :class:`TransposedBits` of W and A): A's rows packed along k and W's
    rows packed along n, straight from the masks (no unpacking), as
    :func:`canonical_operands` would pack them; None for bool arrays."""
    if plain_bitmask(act) and plain_bitmask(weight):
        assert isinstance(act, BitMask) and isinstance(weight, BitMask)
        return frozen_packed(act), frozen_packed(weight), False
    if isinstance(act, TransposedBits) and isinstance(weight, TransposedBits):
        if plain_bitmask(act.bits) and plain_bitmask(weight.bits):
            return frozen_packed(weight.bits), frozen_packed(act.bits), True
    return None


def packed_repeats(
    gemm: Any, weight_mask: Any, act_mask: Any
) -> tuple[int, Iterator[tuple[np.ndarray, np.ndarray, int, int, bool]]]:
    """The factor to scale the distinct repeats by, and ``(fa, wp, k, n, flipped)`` of
    each: the canonical operands bit-packed (straight from 2-D BitMasks,
    :func:`packed_operands`, else packed from the bool arrays) and
    W's columns n."""
    packed = packed_operands(act_mask, weight_mask)
    if packed is not None:  # one shared pair of masks: every repeat is the same
        fa, wp, flipped = packed
        return gemm.repeat, iter([(fa, wp, gemm.k, gemm.m if flipped else gemm.n, flipped)])
    weight, act = mask_arrays(gemm, weight_mask, act_mask)
    reps, scale = distinct_repeats(gemm, weight_mask, act_mask)

    def unpacked() -> Iterator[tuple[np.ndarray, np.ndarray, int, int, bool]]:
        for rep in range(reps):
            a, w, flipped = canonical_operands(act[rep], weight[rep])
            yield np.packbits(a, axis=1), np.packbits(w, axis=1), a.shape[1], w.shape[1], flipped

    return scale, unpacked()


def _unpacked_span(fibers: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Positions ``lo … hi − 1`` of every bit-packed fiber, as 0/1 bytes (fibers, hi − lo)."""
    bits = np.unpackbits(fibers[:, lo // 8 : -(-hi // 8)], axis=1)
    return bits[:, lo % 8 : lo % 8 + hi - lo]


def packed_chunk_products(
    fa: np.ndarray, fw: np.ndarray, k: int, chunk: int, budget_bytes: int = 1 << 22
) -> Iterator[np.ndarray]:
    """Yield ``(b, m, n)`` float32 blocks of per-chunk match counts, ``b`` chunks at a
    time: ``|A[r, chunk] ∧ W[chunk, f]|`` from the bit-packed fibers ``fa`` (m, ·) of A's
    rows and ``fw`` (n, ·) of W's columns, ``k`` positions each (as
    :func:`sod.models.sparse_masks.iter_chunk_products` on bool masks, unpacking only one
    block of chunks at a time). float32 matmul (BLAS) is exact: counts never exceed
    ``chunk`` < 2**24."""
    m, n = fa.shape[0], fw.shape[0]
    nch = -(-k // chunk)
    per = max(1, budget_bytes // max(1, 4 * (m * n + (m + n) * chunk)))
    for start in range(0, nch, per):
        stop = min(nch, start + per)
        lo, hi = start * chunk, min(k, stop * chunk)
        span = (stop - start) * chunk
        ab = np.zeros((m, span), np.float32)
        ab[:, : hi - lo] = _unpacked_span(fa, lo, hi)
        wb = np.zeros((span, n), np.float32)
        wb[: hi - lo] = _unpacked_span(fw, lo, hi).T
        yield np.matmul(
            ab.reshape(m, stop - start, chunk).transpose(1, 0, 2),
            wb.reshape(stop - start, chunk, n),
        )


def row_popcounts(bits: np.ndarray) -> np.ndarray:
    """(rows,) int64: the set bits of every row of a packed (rows, bytes) mask, a uint64
    word at a time when the rows are whole words (an eighth of the popcounts)."""
    if bits.shape[1] % 8 == 0 and bits.flags.c_contiguous:
        bits = bits.view(np.uint64)
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


def packed_row_counts(packed: np.ndarray, rows: int, groups: int) -> np.ndarray | None:
    """(G, rows) non-zeros of every row of a bit-packed shared (rows × ·) or stacked
    ((G·rows) × ·) mask, as :func:`sod.workload.mask.stack_mask` reads it; None for
    another shape."""
    counts = row_popcounts(packed)
    if counts.size == groups * rows:
        return counts.reshape(groups, rows)
    return np.broadcast_to(counts, (groups, rows)) if counts.size == rows else None


def packed_col_counts(
    packed: np.ndarray, rows: int, cols: int, groups: int, block: int = 1 << 22
) -> np.ndarray | None:
    """(G, cols) non-zeros of every column of each group's ``rows × cols`` block of a
    bit-packed shared or stacked mask (as :func:`packed_row_counts`), unpacked a block
    of rows at a time."""
    total = packed.shape[0]
    if total not in (rows, groups * rows):
        return None
    out = np.zeros((total // rows, cols), np.int64)
    step = max(1, block // max(cols, 1))
    for lo in range(0, total, step):
        hi = min(total, lo + step)
        bits = np.unpackbits(packed[lo:hi], axis=1, count=cols)
        if lo // rows == (hi - 1) // rows:  # one group's rows: byte sums (no int64 cast)
            out[lo // rows] += col_counts(bits.view(bool))
            continue
        # Rows of one group are contiguous: sum each group's segment of this block.
        first = np.arange(lo // rows, -(-hi // rows)) * rows
        starts = np.maximum(first, lo) - lo
        out[first // rows] += np.add.reduceat(bits, starts, axis=0, dtype=np.int64)
    return np.broadcast_to(out, (groups, cols)) if total == rows else out


def _pad_bytes(packed: np.ndarray, nbytes: int) -> np.ndarray:
    """Bit-packed fibers zero-padded (or kept) to ``nbytes`` bytes each."""
    if packed.shape[1] >= nbytes:
        return packed
    out = np.zeros((packed.shape[0], nbytes), np.uint8)
    out[:, : packed.shape[1]] = packed
    return out


#: Rows of A up to which :func:`packed_empty_chunks` joins each row directly (no tables).
DIRECT_ROWS = 32


def packed_empty_chunks(
    fa: np.ndarray, wp: np.ndarray, n: int, chunk: int, budget_bytes: int = 1 << 23
) -> tuple[np.ndarray, np.ndarray | None]:
    """Chunks with no match of every dot product of ``A · W``, (m, n) int32:
    ``#{c : A[r, chunk c] ∧ W[chunk c, f] = 0}`` over ``ceil(k / chunk)`` chunks, from
    A's rows bit-packed along k (``fa`` = ``np.packbits(A, axis=1)``, (m, ·)) and W's
    rows bit-packed along n (``wp`` = ``np.packbits(W, axis=1)``, (k, ·)): both the
    natural packing of C-contiguous operands (no bit transpose). Also the matches
    ``A · W`` (m, n) int32 when A has at most :data:`DIRECT_ROWS` rows (else None).

    Only whether a chunk's AND is empty matters, not its count, so no m × k × n product
    is needed. Each row of ``wp`` is the set of W's columns that hold that position; a
    table per byte of positions maps each of the byte's 256 values to the union of its
    positions' sets, so a row of A finds the columns its chunk meets by OR-ing one table
    entry per byte (about m·n·k / 512 word operations, "four Russians"). A few rows of A
    OR the rows of ``wp`` they select instead. Chunks that are not a whole number of
    bytes take per-chunk counts (:func:`packed_chunk_products`)."""
    m, k = fa.shape[0], wp.shape[0]
    nch = -(-k // chunk)
    out = np.zeros((m, n), np.int32)
    if m == 0 or n == 0:
        return out, (out.copy() if m <= DIRECT_ROWS else None)
    if m <= DIRECT_ROWS:
        return _direct_empty_chunks(fa, wp, n, chunk, out), _direct_matches(fa, wp, n)
    if chunk % 8:
        fw = np.packbits(np.unpackbits(wp, axis=1, count=n).T, axis=1)
        for block in packed_chunk_products(fa, fw, k, chunk):
            out += (block == 0).sum(axis=0, dtype=np.int32)
        return out, None
    _table_empty_chunks(fa, wp, n, chunk // 8, nch, out, budget_bytes)
    return out, None


def _selected_rows(fa: np.ndarray, r: int, k: int) -> np.ndarray:
    """Positions of the set bits of A's row ``r``."""
    return np.flatnonzero(np.unpackbits(fa[r], count=k))


def _direct_empty_chunks(
    fa: np.ndarray, wp: np.ndarray, n: int, chunk: int, out: np.ndarray
) -> np.ndarray:
    """:func:`packed_empty_chunks` row by row: the chunk's union of W's rows that the
    row of A selects; chunks it selects nothing in are empty for every column."""
    k = wp.shape[0]
    nch = -(-k // chunk)
    for r in range(fa.shape[0]):
        pos = _selected_rows(fa, r, k)
        out[r] = nch
        if pos.size == 0:
            continue
        ch = pos // chunk
        starts = np.flatnonzero(np.r_[True, ch[1:] != ch[:-1]])
        met = np.bitwise_or.reduceat(wp[pos], starts, axis=0)
        out[r] -= np.unpackbits(met, axis=1, count=n).sum(axis=0, dtype=np.int32)
    return out


def _direct_matches(fa: np.ndarray, wp: np.ndarray, n: int, block: int = 1 << 22) -> np.ndarray:
    """``A · W`` (m, n) int32 for a few rows of A: column sums of the rows of W each row
    of A selects (unpacked a block at a time)."""
    k = wp.shape[0]
    out = np.zeros((fa.shape[0], n), np.int32)
    step = max(1, block // max(n, 1))
    for r in range(fa.shape[0]):
        pos = _selected_rows(fa, r, k)
        for lo in range(0, pos.size, step):
            bits = np.unpackbits(wp[pos[lo : lo + step]], axis=1, count=n)
            out[r] += bits.sum(axis=0, dtype=np.int32)
    return out


def _table_empty_chunks(
    fa: np.ndarray, wp: np.ndarray, n: int, cb: int, nch: int, out: np.ndarray, budget_bytes: int
) -> None:
    """:func:`packed_empty_chunks` by byte tables (``cb`` bytes per chunk); adds into
    ``out``."""
    rows, k = fa.shape[0], wp.shape[0]
    kb = nch * cb
    fa = _pad_bytes(fa, kb)
    fiber_block = 512  # columns of W per pass: bitsets of 8 words
    for s0 in range(0, n, fiber_block):
        s1 = min(n, s0 + fiber_block)
        nw = -(-(s1 - s0) // 64)
        # (kb·8, nw) words: bit f of position p's word = W[p, s0 + f].
        pos_sets = np.zeros((kb * 8, nw * 8), np.uint8)
        pos_sets[:k, : -(-(s1 - s0) // 8)] = wp[:, s0 // 8 : -(-s1 // 8)]
        words = pos_sets.view(np.uint64)
        valid = np.zeros(nw * 64, bool)
        valid[: s1 - s0] = True
        valid_words = np.packbits(valid).view(np.uint64)
        # Chunks per pass: the tables (256 entries per byte) within the budget.
        # (At most 255 chunks: their counts add up in bytes, _add_empty_bits.)
        per = max(1, min(255, budget_bytes // (cb * 256 * nw * 8)))
        for c0 in range(0, nch, per):
            c1 = min(nch, c0 + per)
            g = (c1 - c0) * cb
            # (nw, g, 8): word w of the set of each of the g bytes' 8 positions.
            sets = words[c0 * cb * 8 : c1 * cb * 8].T.reshape(nw, g, 8)
            table = np.zeros((nw, g, 256), np.uint64)
            # Value v's bit 7 − j is the byte's position j (packbits order).
            for t in range(8):
                b = 1 << t
                np.bitwise_or(table[:, :, :b], sets[:, :, 7 - t, None], out=table[:, :, b : 2 * b])
            flat = table.reshape(nw, g * 256)
            # Entry of byte j of chunk c: (c·cb + j)·256 + value; one 1-D gather per byte
            # of the chunk and word, ORed in place (fast flat takes, no reduce over a
            # short axis).
            base = (np.arange(g, dtype=np.intp) * 256).reshape(c1 - c0, cb).T[:, None, :]
            step = max(1, budget_bytes // (g * max(nw, 8) * 8))
            for r0 in range(0, rows, step):
                r1 = min(rows, r0 + step)
                byte = fa[r0:r1, c0 * cb : c1 * cb].reshape(r1 - r0, c1 - c0, cb)
                idx = byte.transpose(2, 0, 1) + base  # (cb, rows, chunks)
                empty = np.empty((r1 - r0, c1 - c0, nw), np.uint64)
                hit = np.empty((r1 - r0, c1 - c0), np.uint64)
                part = np.empty_like(hit)
                for w in range(nw):
                    np.take(flat[w], idx[0], out=hit, mode="clip")
                    for j in range(1, cb):
                        hit |= np.take(flat[w], idx[j], out=part, mode="clip")
                    np.bitwise_and(~hit, valid_words[w], out=empty[:, :, w])
                _add_empty_bits(empty, out[r0:r1, s0:s1])


def _add_empty_bits(empty: np.ndarray, out: np.ndarray) -> None:
    """Add the set bits of ``empty`` (rows, chunks, words) over chunks into ``out``
    (rows, fibers): sparse when few words are non-zero (the usual case: a chunk of a
    dense-ish pair almost always has a match)."""
    _, nch, nw = empty.shape
    nz = np.flatnonzero(empty)
    if nz.size == 0:
        return
    fibers = out.shape[1]
    if nz.size * 8 < empty.size:
        bits = np.unpackbits(empty.reshape(-1)[nz].view(np.uint8).reshape(-1, 8), axis=1)
        word, bit = np.nonzero(bits)
        flat = nz[word]
        r, f = flat // (nch * nw), (flat % nw) * 64 + bit
        np.add.at(out, (r, f), 1)
        return
    bits = np.unpackbits(empty.view(np.uint8), axis=2)[..., :fibers]
    out += bits.sum(axis=1, dtype=np.uint8)  # at most 255 chunks: no overflow
