"""Block line counts of a bit-packed mask, in any order of its items, without unpacking it.

A mask packed along one axis (``np.packbits(mask, axis=1)``: a BitMask's bytes, or the
layout search's columns packed along k) holds one *item* per row. Summing the items
``idx[b·B] … idx[b·B + B − 1]`` bit by bit gives, for every bit position, how many of
them have it set: with the items W's rows in the reordered row order, the column counts
of every row block (:class:`~sod.compiler.plan.BlockCounts` ``col_counts``); with the
items W's columns (packed along k) in the reordered column order, the row counts of
every column block (``row_counts``, transposed). So the block counts of a reordered
layout come from the natural mask's packed bytes and the two permutations alone: the
reordered mask is never built to be measured.

:func:`block_bit_counts` runs the compiled kernel (``sod._native.bc_block_counts``) when
the extension is built and ``block`` fits a byte, else its numpy twin (unpack a chunk of
items, sum blocks of them), which defines the same result.
"""

from __future__ import annotations

import numpy as np

try:  # the compiled kernel (optional build; _block_bit_counts_numpy is its twin)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - a build without a C compiler
    _NATIVE = None  # type: ignore[assignment]

#: Unpacked bytes the numpy twin holds at once (bounds its scratch).
_CHUNK_BYTES = 1 << 22


def count_dtype(limit: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned type holding 0 … limit."""
    return np.uint8 if limit < 1 << 8 else np.uint16 if limit < 1 << 16 else np.uint32


def _blocked_items(
    packed: np.ndarray, idx: np.ndarray | None, block: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The checked inputs of :func:`block_bit_counts` and :func:`block_or`: the items as
    contiguous uint8 rows, their order (int64; ``idx`` None: every item in order) and the
    number of blocks of ``block`` items."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    if packed.ndim != 2:
        raise ValueError(f"packed items must be 2-D, got shape {packed.shape}")
    if block <= 0:
        raise ValueError(f"block must be positive, got {block}")
    order = (
        np.arange(packed.shape[0], dtype=np.int64)
        if idx is None
        else np.ascontiguousarray(idx, dtype=np.int64)
    )
    return packed, order, -(-order.size // block)


def block_bit_counts(
    packed: np.ndarray, idx: np.ndarray | None, block: int, native: bool = True
) -> np.ndarray:
    """``(⌈count/block⌉, 8·row_bytes)`` counts, :func:`count_dtype` (block): entry (b, j)
    is how many of the items ``idx[b·block : (b+1)·block]`` (the last block cut short)
    have bit j set, item i being row i of ``packed`` (uint8, ``(items, row_bytes)``, bits
    in ``np.packbits`` order). ``idx`` None: every item in order. ``native`` False: the
    numpy twin even when the kernel is built (tests)."""
    packed, order, blocks = _blocked_items(packed, idx, block)
    items, row_bytes = packed.shape
    count = order.size
    if native and _NATIVE is not None and block < 1 << 8 and row_bytes > 0:
        out = np.empty((blocks, 8 * row_bytes), np.uint8)
        _NATIVE.bc_block_counts(packed, items, row_bytes, order, count, block, out)
        return out
    return _block_bit_counts_numpy(packed, order, block)


def _block_bit_counts_numpy(packed: np.ndarray, order: np.ndarray, block: int) -> np.ndarray:
    """:func:`block_bit_counts` by unpacking a chunk of whole blocks at a time."""
    row_bytes = packed.shape[1]
    count = order.size
    blocks = -(-count // block)
    dtype = count_dtype(block)
    out = np.empty((blocks, 8 * row_bytes), dtype)
    if count and (order.min() < 0 or order.max() >= packed.shape[0]):
        raise ValueError("an item index is out of range")
    per = max(1, _CHUNK_BYTES // max(1, 8 * row_bytes * block))  # blocks per chunk
    for lo in range(0, blocks, per):
        hi = min(blocks, lo + per)
        bits = np.unpackbits(np.take(packed, order[lo * block : hi * block], axis=0), axis=1)
        full = min(hi, count // block)  # whole blocks of this chunk end at ``full``
        if full > lo:
            head = bits[: (full - lo) * block].reshape(full - lo, block, -1)
            out[lo:full] = head.sum(axis=1, dtype=dtype)
        if full < hi:  # the last, shorter block
            out[full] = bits[(full - lo) * block :].sum(axis=0, dtype=dtype)
    return out


def block_or(
    packed: np.ndarray, idx: np.ndarray | None, block: int, native: bool = True
) -> np.ndarray:
    """``(⌈count/block⌉, row_bytes)`` uint8: the bytewise OR of the items
    ``idx[b·block : (b+1)·block]`` (rows of ``packed``, the last block cut short), as
    :func:`block_bit_counts` takes them; which blocks touch each bit."""
    packed, order, blocks = _blocked_items(packed, idx, block)
    items, row_bytes = packed.shape
    count = order.size
    if native and _NATIVE is not None and row_bytes > 0:
        out = np.empty((blocks, row_bytes), np.uint8)
        _NATIVE.bc_block_or(packed, items, row_bytes, order, count, block, out)
        return out
    gathered = np.take(packed, order, axis=0)
    full = count // block
    out = np.zeros((blocks, row_bytes), np.uint8)
    if full:
        out[:full] = np.bitwise_or.reduce(gathered[: full * block].reshape(full, block, -1), 1)
    if full < blocks:
        out[full] = np.bitwise_or.reduce(gathered[full * block :], axis=0)
    return out


def spread_rows(
    words: np.ndarray, src: np.ndarray, out: np.ndarray, native: bool = True
) -> np.ndarray:
    """Rows ``src`` of a mask packed eight rows to a byte, as 0/1 bytes, into ``out``
    (``(count, width)`` uint64, a bool mask's words): ``words`` ``(groups, width)`` uint64
    holds in byte lane c of word w of group q the rows 8q … 8q+7 of column 8w+c (row 8q
    in the high bit), so ``out[i] = (words[src[i] >> 3] >> (7 − src[i] & 7)) & 0x01…01``."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    src = np.ascontiguousarray(src, dtype=np.int64)
    groups, width = words.shape
    if out.shape != (src.size, width) or out.dtype != np.uint64 or not out.flags.c_contiguous:
        raise ValueError("spread_rows: out must be a C-contiguous uint64 (count, width) array")
    if native and _NATIVE is not None:
        _NATIVE.bc_spread_rows(words, groups, width, src, src.size, out)
        return out
    if src.size and (src.min() < 0 or src.max() >= 8 * groups):
        raise ValueError("spread_rows: a row index is out of range")
    np.take(words, src >> 3, axis=0, out=out, mode="clip")  # valid indices: no buffer
    out >>= (7 - (src & 7)).astype(np.uint64)[:, None]
    out &= np.uint64(0x0101010101010101)
    return out


def pack_axis0(rows: np.ndarray, k: int, native: bool = True) -> np.ndarray:
    """``np.packbits(mask, axis=0)`` of a k × n mask given packed along n (``rows``,
    ``(k, ⌈n/8⌉)`` uint8, a BitMask's bytes), without unpacking it: ``(⌈k/8⌉, 8·⌈n/8⌉)``
    uint8, byte j of row g holding rows 8g … 8g+7 of column j (row 8g in the high bit;
    the columns past n are zero)."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    if rows.ndim != 2 or rows.shape[0] != k:
        raise ValueError(f"packed rows of shape {rows.shape} do not hold {k} rows")
    width = rows.shape[1]
    if native and _NATIVE is not None:
        out = np.empty((-(-k // 8), 8 * width), np.uint8)
        _NATIVE.bc_pack_axis0(rows, k, width, out)
        return out
    out = np.empty((-(-k // 8), 8 * width), np.uint8)
    step = max(8, (_CHUNK_BYTES // max(1, 8 * width)) // 8 * 8)  # whole groups of rows
    for lo in range(0, k, step):
        bits = np.unpackbits(rows[lo : lo + step], axis=1)  # (rows, 8·width)
        out[lo // 8 : -(-min(k, lo + step) // 8)] = np.packbits(bits, axis=0)
    return out


def transpose_bytes(src: np.ndarray, stride: int | None = None, native: bool = True) -> np.ndarray:
    """``src.T`` of a 2-D uint8 array as a C-contiguous ``(b, stride)`` array (``stride``
    ≥ a, default a; zero past a): numpy copies a transposed byte matrix one strided byte
    at a time, the kernel in cache-sized tiles."""
    src = np.ascontiguousarray(src, dtype=np.uint8)
    a, b = src.shape
    stride = a if stride is None else stride
    if stride < a:
        raise ValueError(f"stride {stride} is below the {a} rows")
    out = np.empty((b, stride), np.uint8)
    if native and _NATIVE is not None:
        _NATIVE.bc_transpose_bytes(src, a, b, out, stride)
        return out
    out[:, a:] = 0
    out[:, :a] = src.T
    return out
