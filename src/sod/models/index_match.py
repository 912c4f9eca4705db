"""Analytic model of a comparator index-matching PE array (SNAP/SPRITE-like), exact from
real non-zero masks.

PE: intersects one activation row fiber ``A[r, :]`` with one weight column fiber
``W[:, f]``, both sorted CSR index lists. Each cycle it holds a window of ``p = window``
consecutive A entries and a window of ``p`` W entries, compares all ``p²`` index pairs,
multiplies every match (at most p: ``p`` multipliers) and advances the window whose last
index is smaller (both on a tie). It stops when either fiber's last window has been
advanced past (no later match is possible). A PE that cannot prefetch the next fibers
(``fifo_depth < 2p``) loses one bubble cycle per dot product.

Exact step count (no simulation): call *block ends* the last index of each window
(entries p, 2p, … and the fiber's last entry). Every step retires the smallest current
block end(s), so the steps are the distinct block ends of both fibers up to
``T = min(last A index, last W index)``:

    steps = #A-block-ends ≤ T + #W-block-ends ≤ T − #common block ends

(every common block end is ≤ T). The first two terms are cumulative counts gathered at T;
the third is a popcount of ANDed block-end masks.

The model needs every pair's steps only through sums and each tile's slowest pair, so it
never builds the m × n step matrix nor an m × k × n product (:func:`_tile_pass`): the
sums are linear (per row and distinct last index of the other side; Σ common block ends
= Σ over positions of both sides' block-end counts), and a tile's slowest pair follows
from separable upper bounds (each fiber's blocks) and exact steps of the few pairs that
can reach it. :func:`pair_steps` (every pair, float32 BLAS for the common ends) is the
definition the tests check the kernels against.

Array: output-stationary tiles of ``tr × tc`` dot products, ``tr = min(m, pe_rows)``,
``tc = pe_count_PEs // tr`` (so batch-1 FC layers still use every PE;
:func:`sod.mapping.index_match.tile_shape`); A fibers are
broadcast along tile rows, W fibers along tile columns, and a tile ends when its slowest
PE does. Tiles run one after another, repeats too.

Compiled kernels (``sod._native.im_*``, src/sod/csrc/index_match.c) run the per-fiber
passes (bit transpose, block ends, column counts, per-side sums) and the per-pair merge
steps (``popcount`` of both fibers' ORed block ends up to ``T``) when the optional
extension is built; the numpy functions here are their twins (the fallback, tested
against them bit for bit in tests/sparse_models/test_index_match_native.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from sod.arch.sparse import IndexMatchArch
from sod.mapping.index_match import tile_shape
from sod.models.common import Counts
from sod.models.fibers import (
    col_fibers,
    packed_col_counts,
    packed_repeats,
    row_fibers,
    transpose_packed,
)
from sod.models.memo import memo_by_content
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

try:  # the compiled kernels (optional build; the numpy functions below are their twins)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - a build without a C compiler
    _NATIVE = None  # type: ignore[assignment]

# Bit tables on packbits' big-endian bytes (bit 7 = the byte's first position).
_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)  # (256, 8)
#: Positions ≤ j of a byte, j = 0 … 7.
_HEAD = np.array([(0xFF << (7 - j)) & 0xFF for j in range(8)], np.uint8)
#: Position in its byte of a single set bit (indexed by the byte).
_POS = np.zeros(256, np.int64)
_POS[1 << np.arange(8)] = 7 - np.arange(8)


@lru_cache(maxsize=16)
def _end_table(p: int) -> np.ndarray:
    """(p, 256) uint8: for a byte ``v`` whose first set bit has 0-based rank ≡ s (mod p)
    in its fiber, the bits of ``v`` whose 1-based rank is a multiple of p (block ends)."""
    rank = np.arange(p)[:, None, None] + np.cumsum(_BITS, axis=1)[None]  # (p, 256, 8)
    ends = _BITS[None].astype(bool) & (rank % p == 0)
    return np.packbits(ends, axis=2)[:, :, 0]


@lru_cache(maxsize=16)
def _end_table_256(p: int) -> np.ndarray:
    """:func:`_end_table` flattened and indexed by the rank mod 256 (``p`` divides 256):
    entry ``s · 256 + v`` = entry ``(s mod p, v)``; 64 KiB, cache-resident."""
    return np.tile(_end_table(p), (256 // p, 1)).ravel()


def _fiber_stats(
    packed: np.ndarray, p: int, block_bytes: int = 1 << 20, native: bool = True
) -> tuple[np.ndarray, ...]:
    """Per fiber (row of the bit-packed ``packed``): length, last index (−1 if empty) and
    the bit-packed block-end mask (entries p, 2p, … and each fiber's last entry).

    Works on bytes, ``block_bytes`` at a time: a running count of set bits per byte gives
    the rank of each byte's first entry, and a (rank mod p, byte) table gives the byte's
    block ends. ``native``: one pass per fiber in the compiled kernel when it is built
    (``sod._native.im_fiber_stats``; this function is its twin)."""
    rows, kb = packed.shape
    if native and _NATIVE is not None:
        packed = np.ascontiguousarray(packed, np.uint8)
        length, last = np.empty(rows, np.int64), np.empty(rows, np.int64)
        ends = np.empty((rows, kb), np.uint8)
        _NATIVE.im_fiber_stats(packed, rows, kb, p, length, last, ends)
        return length, last, ends
    length = np.empty(rows, np.int64)
    last = np.full(rows, -1, np.int64)
    ends = np.empty_like(packed)
    table = _end_table(p).ravel()
    # A uint8 running count wraps modulo 256, exact modulo p when p divides 256.
    wide = 256 % p != 0
    step = max(1, block_bytes // max(kb, 1))
    for lo in range(0, rows, step):
        blk = packed[lo : lo + step]
        pc = np.bitwise_count(blk)
        length[lo : lo + step] = pc.sum(axis=1, dtype=np.int64)
        if wide:
            cum: np.ndarray = np.cumsum(pc, axis=1, dtype=np.int32)
            np.subtract(cum, pc, out=cum)  # entries before each byte
            start = (cum % p).astype(np.uint16)
            start <<= 8
            start |= blk
            ends[lo : lo + step] = table[start]
        else:
            # Index (entries before mod 256) · 256 + byte, built as little-endian byte
            # pairs (one pass), into the table repeated over every residue mod 256.
            idx = np.empty((*blk.shape, 2), np.uint8)
            idx[..., 0] = blk
            idx[..., 1] = _entries_before(pc)
            np.take(_end_table_256(p), idx.view("<u2")[..., 0], out=ends[lo : lo + step])
        has = np.flatnonzero(length[lo : lo + step] > 0)
        if has.size:
            byte = kb - 1 - np.argmax(blk[:, ::-1] != 0, axis=1)[has]
            v = blk[has, byte]
            low = v & (~v + np.uint8(1))  # the byte's lowest set bit = its last entry
            ends[lo + has, byte] |= low
            last[lo + has] = byte * 8 + _POS[low]
    return length, last, ends


def _word_view(packed: np.ndarray) -> np.ndarray:
    """Bit-packed rows as little-endian 64-bit words (zero-padded to whole words): byte j
    of word w is byte 8w + j."""
    rows, kb = packed.shape
    if kb % 8:
        padded = np.zeros((rows, -(-kb // 8) * 8), np.uint8)
        padded[:, :kb] = packed
        packed = padded
    return np.ascontiguousarray(packed).view("<u8")


_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)


def _entries_before(pc: np.ndarray) -> np.ndarray:
    """Exclusive running sums modulo 256 along each row of per-byte counts ``pc``
    (uint8, each ≤ 8), as uint8: eight bytes per word at once (a multiply by 0x0101…
    sums a word's bytes in place, no carries below 64), a cumsum of word totals only
    (8× fewer elements than a cumsum over bytes), and a carry-free byte-wise add."""
    kb = pc.shape[1]
    w = _word_view(pc)
    incl = w * _ONES  # byte j: Σ of bytes 0 … j of the word
    tot = incl >> np.uint64(56)
    carry = np.cumsum(tot, axis=1, dtype=np.uint64)
    carry -= tot  # entries in earlier words of the row
    carry = (carry & np.uint64(0xFF)) * _ONES
    excl = incl - w
    # Byte-wise (excl + carry) mod 256: low 7 bits added, top bits by xor.
    low = (excl & ~_HIGH) + (carry & ~_HIGH)
    out = low ^ ((excl ^ carry) & _HIGH)
    return out.view(np.uint8)[:, :kb]


def _running_at(ends: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``ends[:, : x + 1].sum(axis=1)`` for every x in ``cols`` of the bit-packed
    ``ends``: (rows, len(cols)), from popcounts of whole 64-bit words before x (a
    running count over words) and of x's word up to x."""
    rows = ends.shape[0]
    words = _word_view(ends)
    wc = np.bitwise_count(words)
    word, byte, bit = cols // 64, (cols % 64) // 8, cols % 8
    # Bits of x's word up to x: the bytes before x's byte, and x's byte up to x.
    mask = np.array(
        [((1 << (8 * j)) - 1) | (int(_HEAD[b]) << (8 * j)) for j, b in zip(byte, bit, strict=True)],
        np.uint64,
    )
    partial = np.bitwise_count(words[:, word] & mask[None, :]).astype(np.int64)
    if len(cols) <= 4:
        before = np.stack([wc[:, :w].sum(axis=1, dtype=np.int64) for w in word], axis=1)
        return before.reshape(rows, len(cols)) + partial
    cum = np.cumsum(wc, axis=1, dtype=np.int32)
    cum -= wc
    return cum[:, word] + partial


def _block_end_products(
    ends_a: np.ndarray, ends_w: np.ndarray, k: int, block_elems: int = 1 << 22
) -> np.ndarray:
    """Common block ends of every fiber pair (the bit-packed ``ends_a`` (m, ·) against
    ``ends_w`` (n, ·)), int32.

    Few fibers on one side (batch-1 FC layers): popcounts of ANDed 64-bit words. Else
    unpacked in blocks of about ``block_elems`` entries into float32 and multiplied by
    BLAS (exact: counts < 2²⁴). Scratch memory is bounded either way."""
    m, n = ends_a.shape[0], ends_w.shape[0]
    if min(m, n) <= 16:
        return _popcount_products(ends_a, ends_w, block_elems)
    out = np.empty((m, n), np.int32)
    step = max(1, block_elems // max(k, 1))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        wf = np.unpackbits(ends_w[lo:hi], axis=1, count=k).view(bool).astype(np.float32)
        for ra in range(0, m, step):
            rb = min(m, ra + step)
            af = np.unpackbits(ends_a[ra:rb], axis=1, count=k).view(bool).astype(np.float32)
            out[ra:rb, lo:hi] = af @ wf.T
    return out


def _words(packed: np.ndarray) -> np.ndarray:
    """Bit-packed rows as 64-bit words (zero-padded to whole words)."""
    rows, kb = packed.shape
    pad = -kb % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((rows, pad), np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def _popcount_products(a: np.ndarray, b: np.ndarray, block_elems: int) -> np.ndarray:
    """``popcount(a[i] & b[j])`` summed over words for every row pair, int32."""
    wa, wb = _words(a), _words(b)
    m, n = wa.shape[0], wb.shape[0]
    out = np.empty((m, n), np.int32)
    swap = m > n  # loop over the smaller side
    small, big = (wb, wa) if swap else (wa, wb)
    step = max(1, block_elems // max(big.shape[1], 1))
    for i in range(small.shape[0]):
        for lo in range(0, big.shape[0], step):
            cnt = np.bitwise_count(big[lo : lo + step] & small[i]).sum(axis=1, dtype=np.int32)
            if swap:
                out[lo : lo + step, i] = cnt
            else:
                out[i, lo : lo + step] = cnt
    return out


def pair_steps(act: np.ndarray, weight: np.ndarray, p: int) -> tuple[np.ndarray, int, int]:
    """Merge steps of every dot product (m × n, int32) and the A and W entries loaded,
    summed over all dot products.

    ``act`` is (m, k) bool, ``weight`` (k, n) bool (either may be a transposed view).
    With ``T = min(last_a, last_w)``, the A block ends ≤ T are all of A's blocks unless W
    ends first, in which case they are A's running count at ``last_w`` (and
    symmetrically), so the running counts are only gathered at the other operand's last
    indices. Fibers are handled bit-packed (:mod:`sod.models.fibers`), the per-pair
    arithmetic in blocks of rows (bounded scratch). The kernel treats both operands alike,
    so the transposed GEMM's result is this one's transposed (A and W loads swapped): the
    memo serves both orientations. (The model sums these without the matrix,
    :func:`_tile_pass`.)
    """
    return _pair_steps(row_fibers(act), col_fibers(weight), int(act.shape[1]), p)


def _swap_steps(res: tuple[np.ndarray, int, int]) -> tuple[np.ndarray, int, int]:
    """:func:`_pair_steps` of the swapped fibers from this one's (a view, no copy)."""
    steps, load_a, load_w = res
    return steps.T, load_w, load_a


@memo_by_content(max_bytes=64 << 20, swapped=_swap_steps)
def _pair_steps(fa: np.ndarray, fw: np.ndarray, k: int, p: int) -> tuple[np.ndarray, int, int]:
    """:func:`pair_steps` from the bit-packed fibers of A's rows and W's columns."""
    len_a, last_a, ends_a = _fiber_stats(fa, p)
    len_w, last_w, ends_w = _fiber_stats(fw, p)
    blocks_a, blocks_w = -(-len_a // p), -(-len_w // p)
    cols, col_of = np.unique(np.maximum(last_w, 0), return_inverse=True)
    run_a = _running_at(ends_a, cols)  # (m, distinct last_w)
    rows, row_of = np.unique(np.maximum(last_a, 0), return_inverse=True)
    run_w = _running_at(ends_w, rows).T  # (distinct last_a, n)
    ties = _block_end_products(ends_a, ends_w, k)
    del ends_a, ends_w
    m, n = ties.shape
    steps = np.empty((m, n), np.int32)
    # Loads are only summed (per block: no m × n arrays of them).
    load_a = load_w = 0
    empty_a, empty_w = last_a < 0, last_w < 0
    i32 = np.int32
    run_a, run_w = run_a.astype(i32), run_w.astype(i32)
    blocks_a, blocks_w = blocks_a.astype(i32)[:, None], blocks_w.astype(i32)[None, :]
    lw, len_w_row = last_w[None, :], len_w.astype(i32)[None, :]
    step = max(1, (1 << 20) // max(n, 1))
    for lo in range(0, m, step):
        r = slice(lo, min(m, lo + step))
        la = last_a[r, None]
        w_first, a_first = lw < la, la < lw
        cnt_a = np.where(w_first, run_a[r][:, col_of], blocks_a[r])
        cnt_w = np.where(a_first, run_w[row_of[r]], blocks_w)
        np.subtract(cnt_a + cnt_w, ties[r], out=steps[r])
        # Windows loaded: the retired ones plus the one still resident when the other
        # fiber ended.
        cnt_a += w_first
        cnt_a *= p
        np.minimum(cnt_a, len_a.astype(i32)[r, None], out=cnt_a)
        cnt_w += a_first
        cnt_w *= p
        np.minimum(cnt_w, len_w_row, out=cnt_w)
        # A pair with an empty fiber (last = −1) loads nothing.
        for cnt in (cnt_a, cnt_w):
            cnt[empty_a[r]] = 0
            cnt[:, empty_w] = 0
        load_a += int(cnt_a.sum())
        load_w += int(cnt_w.sum())
    # A pair with an empty fiber (last = −1) does nothing.
    steps[empty_a] = 0
    steps[:, empty_w] = 0
    return steps, load_a, load_w


def _column_fibers(wp: np.ndarray, n: int) -> np.ndarray:
    """W's columns packed along k from its rows packed along n: the compiled bit
    transpose when it is built, else :func:`~sod.models.fibers.transpose_packed` (its
    twin)."""
    if _NATIVE is None:
        return transpose_packed(wp, n)
    wp = np.ascontiguousarray(wp, np.uint8)
    k, nb = wp.shape
    out = np.empty((n, (k + 7) // 8), np.uint8)
    _NATIVE.im_transpose(wp, k, nb, n, out)
    return out


@dataclass(frozen=True)
class _Side:
    """The fibers of one operand (A's rows or W's columns) as the pair kernel needs them."""

    length: np.ndarray  # (fibers,) entries
    last: np.ndarray  # (fibers,) last index, −1 if empty
    rows: np.ndarray  # (fibers, words) uint64: block-end mask, bit-packed, fiber-major
    vals: np.ndarray  # (D,) the other side's distinct last indices (−1 as 0), ascending
    at: np.ndarray  # (other fibers,) column of ``run`` (index in ``vals``) of each other fiber
    k: int  # positions per fiber
    uniform: bool  # every fiber the same (e.g. a dense operand)
    blocks: np.ndarray  # (fibers,) windows: ceil(length / p)

    @cached_property
    def ends(self) -> np.ndarray:
        """(words, fibers) block-end masks, word-major (the numpy pair kernel's 1-D takes)."""
        return np.ascontiguousarray(self.rows.T)

    @cached_property
    def run(self) -> np.ndarray:
        """(fibers, D) int32: block ends ≤ each of ``vals`` (the numpy pair kernels; the
        compiled ones walk the masks instead)."""
        return _running_at(self.rows.view(np.uint8), self.vals).astype(np.int32)


def _sides(fa: np.ndarray, wp: np.ndarray, n: int, p: int) -> tuple[_Side, _Side, int, int]:
    """Both operands' fibers from A's rows packed along k (``fa``) and W's rows packed
    along n (``wp``), the effectual MACs ``Σ_k nnz(A[:, k]) · nnz(W[k, :])`` and the
    common block ends summed over all pairs (:func:`_total_ties`)."""
    k = wp.shape[0]
    fw = _column_fibers(wp, n)  # W's columns packed along k
    len_a, last_a, ends_a = _fiber_stats(fa, p)
    len_w, last_w, ends_w = _fiber_stats(fw, p)
    # Running block-end counts matter at the other side's distinct last indices only.
    cols, col_of = np.unique(np.maximum(last_w, 0), return_inverse=True)
    rows, row_of = np.unique(np.maximum(last_a, 0), return_inverse=True)
    ties = _total_ties(ends_a, ends_w, k)
    a_cols = _col_counts(fa, k)
    # W's row counts: a byte count of its rows, or (compiled, no byte-wide temporary) the
    # column counts of its column fibers.
    if _NATIVE is None:
        w_rows = np.bitwise_count(wp).sum(axis=1, dtype=np.int64)
    else:
        w_rows = _col_counts(fw, k)
    effectual = int((a_cols * w_rows).sum())
    ends = (_words(e) for e in (ends_a, ends_w))  # fiber-major words
    side_a = _Side(
        len_a, last_a, next(ends), cols, col_of.ravel(), k, _uniform(fa, len_a), -(-len_a // p)
    )
    side_w = _Side(
        len_w, last_w, next(ends), rows, row_of.ravel(), k, _uniform(fw, len_w), -(-len_w // p)
    )
    return side_a, side_w, effectual, ties


def _col_counts(packed: np.ndarray, k: int) -> np.ndarray:
    """(k,) int64 set bits at each position of the bit-packed rows ``packed``: compiled
    (``sod._native.im_col_counts``) when built, else
    :func:`~sod.models.fibers.packed_col_counts` (its twin)."""
    if _NATIVE is None:
        counts = packed_col_counts(packed, packed.shape[0], k, 1)
        assert counts is not None
        return np.asarray(counts[0])
    packed = np.ascontiguousarray(packed, np.uint8)
    out = np.empty(k, np.int64)
    _NATIVE.im_col_counts(packed, packed.shape[0], packed.shape[1], k, out)
    return out


def _uniform(fibers: np.ndarray, length: np.ndarray) -> bool:
    """Every bit-packed fiber (row) the same; ``length``: their non-zeros (fibers of
    different lengths differ: no byte comparison)."""
    if length.size and length.min() != length.max():
        return False
    return bool((fibers == fibers[:1]).all())


def _total_ties(ends_a: np.ndarray, ends_w: np.ndarray, k: int) -> int:
    """Common block ends summed over every pair of the bit-packed fibers ``ends_a`` and
    ``ends_w``: linear, ``Σ_k`` (A fibers ending a block at k) · (W fibers ending one at
    k). A side of a few fibers (batch-1 FC layers) ANDs its masks with the other's words
    instead of unpacking the large side (numpy only: the compiled column counts are a
    pass over the bytes either way)."""
    if _NATIVE is None and min(ends_a.shape[0], ends_w.shape[0]) <= 16:
        return int(_popcount_products(ends_a, ends_w, 1 << 20).sum(dtype=np.int64))
    return int((_col_counts(ends_a, k) * _col_counts(ends_w, k)).sum(dtype=np.int64))


def _ties(r: _Side, c: _Side, ri: np.ndarray, ci: np.ndarray, block: int = 1 << 18) -> np.ndarray:
    """Common block ends of the fiber pairs ``(ri[i], ci[i])`` (int64): popcounts of
    ANDed words, gathered word by word (1-D takes: fast), a block of pairs at a time."""
    out = np.zeros(ri.size, np.int64)
    both = np.empty(min(block, ri.size), np.uint64)
    part = np.empty_like(both)
    for lo in range(0, ri.size, block):
        hi = min(ri.size, lo + block)
        x, y = ri[lo:hi], ci[lo:hi]
        # A byte counter while at most 255 bits can be set (fewer than 4 words).
        acc: np.ndarray = np.zeros(hi - lo, np.uint8 if r.ends.shape[0] < 4 else np.int64)
        for w in range(r.ends.shape[0]):
            np.take(r.ends[w], x, out=both[: hi - lo], mode="clip")
            both[: hi - lo] &= np.take(c.ends[w], y, out=part[: hi - lo], mode="clip")
            np.add(acc, np.bitwise_count(both[: hi - lo]), out=acc)
        out[lo:hi] = acc
    return out


def _native_pairs(r: _Side, c: _Side) -> bool:
    """The compiled pair kernels apply: built, and the masks hold at least one word."""
    return _NATIVE is not None and r.rows.shape[1] > 0 and r.rows.shape[1] == c.rows.shape[1]


def _exact_steps(r: _Side, c: _Side, ri: np.ndarray, ci: np.ndarray, p: int) -> np.ndarray:
    """Merge steps of the fiber pairs ``(ri[i], ci[i])`` (int64): block ends of both up to
    the first one's end (a fiber's running count at the other's last index when the other
    ends first, else all its blocks), minus the common ones; 0 with an empty fiber.
    Compiled (``sod._native.im_pair_steps``, of which this is the twin) when built: the
    distinct block ends up to the first end, ``popcount((ends_r | ends_c) ≤ T)``."""
    if _native_pairs(r, c):
        assert _NATIVE is not None
        out = np.empty(ri.size, np.int64)
        ri, ci = (np.ascontiguousarray(x, np.int64) for x in (ri, ci))
        m, n, words = r.last.size, c.last.size, r.rows.shape[1]
        last_r, last_c = (np.ascontiguousarray(x, np.int64) for x in (r.last, c.last))
        _NATIVE.im_pair_steps(r.rows, c.rows, m, n, words, last_r, last_c, ri, ci, out)
        return out
    lr, lc = r.last.take(ri), c.last.take(ci)
    steps = r.blocks.take(ri) + c.blocks.take(ci)
    for side, si, oi, first in ((r, ri, ci, lc < lr), (c, ci, ri, lr < lc)):
        sel = np.flatnonzero(first)
        s_sel = si.take(sel)
        run = side.run.reshape(-1).take(s_sel * side.run.shape[1] + side.at.take(oi.take(sel)))
        steps[sel] += run - side.blocks.take(s_sel)
    steps -= _ties(r, c, ri, ci)
    steps[(lr < 0) | (lc < 0)] = 0
    return steps


def _side_sums(r: _Side, c: _Side, p: int) -> tuple[int, int]:
    """(Σ over pairs with both fibers non-empty of ``r``'s block ends up to the first
    end, Σ of ``r``'s entries loaded): per row and distinct last index of ``c`` (the
    counts only change there), never per pair. Compiled when built
    (``sod._native.im_side_sums``, of which this is the twin): one walk along each
    fiber's mask, no running-count table."""
    live_c = c.last >= 0
    vals, at = r.vals, r.at  # c's distinct last indices (np.unique in _sides)
    count = np.bincount(at[live_c], minlength=vals.size)  # live fibers per last
    if _NATIVE is not None and r.rows.shape[1] > 0:
        out = np.empty(2, np.int64)
        last, length, vals, count = (
            np.ascontiguousarray(x, np.int64) for x in (r.last, r.length, vals, count)
        )
        rows, words = r.rows.shape
        _NATIVE.im_side_sums(r.rows, rows, words, last, length, vals, count, vals.size, p, out)
        return int(out[0]), int(out[1])
    # ``r.run`` columns follow the same sorted distinct values.
    live = np.flatnonzero(r.last >= 0)
    total = live_c.sum()
    blocks = -(-r.length[live] // p)
    ends_sum = loads = 0
    step = max(1, (1 << 20) // max(vals.size, 1))
    for lo in range(0, live.size, step):
        rows = live[lo : lo + step]
        first = vals[None, :] < r.last[rows, None]  # c ends first
        run = r.run[rows]
        before = (count * first).sum(axis=1)  # pairs where c ends first
        after = total - before
        ends_sum += int((run * (count * first)).sum(dtype=np.int64))
        ends_sum += int((after * blocks[lo : lo + step]).sum(dtype=np.int64))
        # Windows loaded: the retired ones plus the one still resident when c ended.
        held = np.minimum((run + 1) * p, r.length[rows, None])
        loads += int((held * (count * first)).sum(dtype=np.int64))
        loads += int((after * r.length[rows]).sum(dtype=np.int64))
    return ends_sum, loads


#: Fiber pairs per block of the tile passes: bounds scratch (a few int64 arrays of this
#: many entries when every pair of a block needs its exact steps).
_PAIR_BLOCK = 1 << 19

#: Fibers up to this many positions: every pair's steps directly (common block ends by a
#: float32 product, cheap for short fibers) instead of pruning by bounds.
DENSE_K = 128


def _pruned_tile_maxima(r: _Side, c: _Side, p: int, tr: int, tc: int, block: int) -> np.ndarray:
    """(mt · nt) slowest pair's steps of every tile: a pair's steps are at most its
    fibers' blocks, ``B = blocks_r + blocks_c`` (separable), so the exact steps of each
    tile's largest-``B`` pair bound the tile from below and only pairs whose ``B``
    exceeds that need exact steps (no m × k × n product).

    Compiled when built (``sod._native.im_tile_maxima``, of which this is the twin): each
    tile's pairs in descending order of the bound ``B − 1`` (a pair of non-empty fibers
    has at least one block end past ``T`` or the last ends coincide), stopping once the
    bound cannot beat the tile's slowest pair so far."""
    m, n = r.last.size, c.last.size
    mt, nt = -(-m // tr), -(-n // tc)
    if _native_pairs(r, c):
        assert _NATIVE is not None
        out = np.empty(mt * nt, np.int64)
        words = r.rows.shape[1]
        last_r, last_c, blocks_r, blocks_c = (
            np.ascontiguousarray(x, np.int64) for x in (r.last, c.last, r.blocks, c.blocks)
        )
        _NATIVE.im_tile_maxima(
            r.rows, c.rows, m, n, words, last_r, last_c, blocks_r, blocks_c, tr, tc, out
        )
        return out
    br = np.full(mt * tr, -(1 << 30), np.int64)  # padding: never a candidate
    bc = np.full(nt * tc, -(1 << 30), np.int64)
    br[:m], bc[:n] = r.blocks, c.blocks
    br_t, bc_t = br.reshape(mt, tr), bc.reshape(nt, tc)
    best_r = np.arange(mt) * tr + br_t.argmax(axis=1)
    best_c = np.arange(nt) * tc + bc_t.argmax(axis=1)
    ri, ci = np.repeat(best_r, nt), np.tile(best_c, mt)
    floor = _exact_steps(r, c, ri, ci, p)  # (mt · nt) exact steps of each tile's top pair
    step = max(1, block // max(tr * nt * tc, 1))
    br_t, bc_t = br_t.astype(np.int32), bc_t.astype(np.int32)  # the bounds, padding < 0
    floor_t = floor.astype(np.int32).reshape(mt, nt)  # (a copy: the bounds stay int32)
    for lo in range(0, mt, step):
        hi = min(mt, lo + step)
        bound = br_t[lo:hi, :, None, None] + bc_t[None, None]
        i, a, j, b = np.nonzero(bound > floor_t[lo:hi, None, :, None])
        if i.size:
            exact = _exact_steps(r, c, (lo + i) * tr + a, j * tc + b, p)
            np.maximum.at(floor, (lo + i) * nt + j, exact)
    return floor


def _unpacked_ends(side: _Side, lo: int, hi: int, k: int) -> np.ndarray:
    """Block-end masks of fibers ``lo … hi − 1`` as 0/1 float32 (·, k)."""
    words = side.rows[lo:hi]
    return np.unpackbits(words.view(np.uint8), axis=1, count=k).astype(np.float32)


def _dense_tile_maxima(r: _Side, c: _Side, p: int, tr: int, tc: int, block: int) -> np.ndarray:
    """(mt · nt) slowest pair's steps of every tile from every pair's steps, a block of
    whole tile rows at a time (short fibers: the common block ends by one float32
    product, exact below 2²⁴)."""
    m, n, k = r.last.size, c.last.size, r.k
    mt, nt = -(-m // tr), -(-n // tc)
    ends_c = _unpacked_ends(c, 0, n, k)
    floor = np.empty((mt, nt), np.int64)
    lc = c.last[None, :]
    step = max(1, block // max(n * tr, 1)) * tr  # whole tiles of rows
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        lr = r.last[lo:hi, None]
        cnt_r = np.where(lc < lr, r.run[lo:hi][:, r.at], r.blocks[lo:hi, None])
        cnt_c = np.where(lr < lc, c.run[:, c.at[lo:hi]].T, c.blocks[None, :])
        ties = _unpacked_ends(r, lo, hi, k) @ ends_c.T
        steps = np.zeros((-(-(hi - lo) // tr) * tr, nt * tc), np.int64)
        np.subtract(cnt_r + cnt_c, ties, out=steps[: hi - lo, :n], casting="unsafe")
        steps[: hi - lo][r.last[lo:hi] < 0] = 0
        steps[:, :n][:, c.last < 0] = 0
        t = steps.shape[0] // tr
        floor[lo // tr : lo // tr + t] = steps.reshape(t, tr, nt, tc).max(axis=(1, 3))
    return floor.reshape(-1)


def _uniform_tile_maxima(r: _Side, c: _Side, p: int, tr: int, tc: int) -> np.ndarray:
    """(mt · nt) slowest pair's steps of every tile when one side's fibers are all the
    same (a dense operand): one fiber of it against every fiber of the other side."""
    m, n = r.last.size, c.last.size
    mt, nt = -(-m // tr), -(-n // tc)
    if r.uniform:  # every row the same: a tile's slowest pair is in its slowest column
        cols = np.zeros(nt * tc, np.int64)
        cols[:n] = _exact_steps(r, c, np.zeros(n, np.intp), np.arange(n), p)
        return np.broadcast_to(cols.reshape(nt, tc).max(axis=1), (mt, nt)).reshape(-1)
    rows = np.zeros(mt * tr, np.int64)
    rows[:m] = _exact_steps(r, c, np.arange(m), np.zeros(m, np.intp), p)
    return np.broadcast_to(rows.reshape(mt, tr).max(axis=1)[:, None], (mt, nt)).reshape(-1)


@dataclass(frozen=True)
class _Totals:
    """What the model needs of every dot product of A's rows with W's columns, for
    either orientation: sums over all pairs, and per tile geometry Σ over tiles of the
    slowest pair's steps (at least 1)."""

    tiles: dict[tuple[int, int], int]  # (A rows, W columns) per tile -> Σ tile maxima
    steps: int  # Σ merge steps
    loads: int  # Σ entries loaded, both operands
    live: int  # pairs with both fibers non-empty
    effectual: int  # Σ matches
    nnz: tuple[int, int]  # non-zeros of A and of W


@memo_by_content(max_bytes=16 << 20)
def _pair_totals(
    fa: np.ndarray, wp: np.ndarray, n: int, p: int, geometries: tuple[tuple[int, int], ...]
) -> _Totals:
    """:class:`_Totals` from A's rows packed along k (``fa``) and W's rows packed along
    n (``wp``), with tiles of every ``(A rows, W columns)`` shape in ``geometries``
    (those of both orientations, which the mapping search evaluates: one entry serves
    both). Memoized by content (small results: no pair matrices).

    Σ steps and the loads add up per fiber and distinct last index of the other side
    (:func:`_side_sums`), minus the common block ends of all pairs (:func:`_total_ties`);
    the tiles' slowest pairs come from one fiber of a uniform side
    (:func:`_uniform_tile_maxima`), from every pair for short fibers
    (:func:`_dense_tile_maxima`), else from bounds (:func:`_pruned_tile_maxima`)."""
    r, c, effectual, ties = _sides(fa, wp, n, p)
    tiles = {}
    for tr, tc in dict.fromkeys(geometries):
        if r.uniform or c.uniform:
            floor = _uniform_tile_maxima(r, c, p, tr, tc)
        elif r.k <= DENSE_K:
            floor = _dense_tile_maxima(r, c, p, tr, tc, _PAIR_BLOCK)
        else:
            floor = _pruned_tile_maxima(r, c, p, tr, tc, _PAIR_BLOCK)
        tiles[(tr, tc)] = int(np.maximum(floor, 1).sum())
    ends_r, loads_r = _side_sums(r, c, p)
    ends_c, loads_c = _side_sums(c, r, p)
    live = int((r.last >= 0).sum()) * int((c.last >= 0).sum())
    nnz = (int(r.length.sum()), int(c.length.sum()))
    return _Totals(tiles, ends_r + ends_c - ties, loads_r + loads_c, live, effectual, nnz)


def evaluate_index_match(
    gemm: Gemm,
    arch: IndexMatchArch,
    weight_mask: np.ndarray | BitMask,
    act_mask: np.ndarray | BitMask,
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on the index-matching array.

    ``weight_mask`` is bool (k, n) or (repeat, k, n); ``act_mask`` bool (m, k) or
    (repeat, m, k); or both 2-D BitMasks shared by every repeat (or
    :class:`~sod.models.fibers.TransposedBits` of them), used packed as they are.
    Compute cycles only (DRAM stalls belong to the memory model).
    """
    m, n, p = gemm.m, gemm.n, arch.window
    tr, tc = tile_shape(m, arch)
    mt, nt = -(-m // tr), -(-n // tc)
    cycles = 0
    steps_sum = loads = busy = 0
    bubble = 1 if arch.fifo_depth < 2 * arch.window else 0
    effectual = nnz_a = nnz_w = 0
    scale, repeats = packed_repeats(gemm, weight_mask, act_mask)
    for fa, wp, _, wn, flipped in repeats:
        # Tiles in (A rows, W columns): A's rows along the array rows, or W's columns.
        tr_w, tc_a = tile_shape(wn, arch)
        geometries = (tile_shape(fa.shape[0], arch), (tc_a, tr_w))
        tot = _pair_totals(fa, wp, wn, p, geometries)
        cycles += tot.tiles[(tc, tr) if flipped else (tr, tc)] + bubble * mt * nt
        steps_sum += tot.steps
        loads += tot.loads
        # Every dot product takes max(steps, 1) cycles (0 steps: an empty fiber).
        busy += tot.steps + (m * n - tot.live) + bubble * m * n
        effectual += tot.effectual
        act_nnz, weight_nnz = tot.nnz[::-1] if flipped else tot.nnz  # this GEMM's operands
        nnz_a += act_nnz
        nnz_w += weight_nnz
    cycles, steps_sum, loads, busy = (x * scale for x in (cycles, steps_sum, loads, busy))
    effectual, nnz_a, nnz_w = effectual * scale, nnz_a * scale, nnz_w * scale
    entry_bits = arch.value_bits + arch.index_bits
    # Each A fiber is read once per column tile, each W fiber once per row tile.
    reads_a, reads_w = nt * nnz_a, mt * nnz_w
    actions = {
        "mac": float(effectual),
        # Every match accumulates into the PE's accumulator (one update each).
        "accumulator_access": float(effectual),
        "index_compare": float(steps_sum * p * p),
        "fifo_access": float(2 * loads),  # one push and one pop per loaded entry
        "glb_read_bits.act": float(reads_a * arch.value_bits),
        "glb_read_bits.weight": float(reads_w * arch.value_bits),
        "glb_read_bits.meta": float((reads_a + reads_w) * arch.index_bits),
        "glb_write_bits.out": float(gemm.repeat * m * n * arch.value_bits),
    }
    pes = arch.pe_rows * arch.pe_cols
    details = {
        "model": "index_match",
        "tile_shape": [tr, tc],
        "merge_steps": steps_sum,
        "matches_per_step": effectual / steps_sum if steps_sum else 0.0,
        # Fraction of PE-cycles spent on a dot product (the rest waits for a tile's
        # slowest PE or has no dot product mapped).
        "pe_busy_fraction": busy / (pes * cycles) if cycles else 0.0,
        # Cycles a glb_read_width_bits port would need to deliver every fiber (not
        # charged as stalls: the other models do not bound GLB port bandwidth either).
        "glb_supply_cycles": -(-(reads_a + reads_w) * entry_bits // arch.glb_read_width_bits),
        # Units of work DRAM transfers overlap with (sod.models.accelerators): one output
        # tile, which needs only its tr A fibers and tc W fibers.
        "work_units": gemm.repeat * mt * nt,
    }
    return Counts(
        compute_cycles=cycles,
        stall_cycles=0,
        macs_dense=gemm.macs,
        macs_issued=effectual,
        macs_effectual=effectual,
        pe_count=arch.pe_count,
        actions=actions,
        details=details,
    )


def _clear_memos() -> None:
    """Clear the content memos of this model's kernels."""
    _pair_steps.cache_clear()
    _pair_totals.cache_clear()


pair_steps.cache_clear = _clear_memos  # type: ignore[attr-defined]
