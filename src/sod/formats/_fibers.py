"""Shared core of CSC and CSR: compressed fibers with interleaved end pointers.

A *fiber* is one column of the matrix handed in. Layout, fiber after fiber: the fiber's
END pointer (cumulative non-zero count, ``pointer`` bits; the start pointer 0 is implicit),
then one record ``(index, value)`` per non-zero in increasing index order. Interleaving the
pointers with the records lets a decompressor stream fiber by fiber. Size:
``fibers·pointer + nnz·(index + value)``.
"""

from __future__ import annotations

import numpy as np

from sod.formats.base import TileReader
from sod.formats.bits import place
from sod.formats.errors import FormatError


def encode_fibers(
    mat: np.ndarray,
    index_bits: int,
    pointer_bits: int,
    value_bits: int,
) -> np.ndarray:
    """Bit stream of ``mat`` (fiber_len × fibers) compressed fiber by fiber."""
    fibers = mat.shape[1]
    rec = index_bits + value_bits
    fib, idx = np.nonzero(mat.T)  # sorted by fiber, then index
    counts = np.bincount(fib, minlength=fibers)
    ends = np.cumsum(counts)
    starts = ends - counts
    bits = np.zeros(fibers * pointer_bits + fib.size * rec, dtype=np.uint8)
    j = np.arange(fibers)
    place(bits, j * pointer_bits + starts * rec, ends, pointer_bits)
    rec_off = (fib + 1) * pointer_bits + np.arange(fib.size) * rec
    place(bits, rec_off, idx, index_bits)
    place(bits, rec_off + index_bits, mat.T[fib, idx], value_bits)
    return bits


def fiber_sizes(
    masks: np.ndarray, index_bits: int, pointer_bits: int, value_bits: int
) -> np.ndarray:
    """(T, fiber_len, fibers) masks -> (T, fibers) cumulative bits through each fiber."""
    lanes = masks.shape[1]
    if masks.dtype == bool and lanes < 2**16:
        # Byte sums in the narrowest exact type (no int64 cast of every element).
        narrow = np.uint8 if lanes < 2**8 else np.uint16
        per_fiber = masks.view(np.uint8).sum(axis=1, dtype=narrow).astype(np.int64)
    else:
        per_fiber = masks.sum(axis=1, dtype=np.int64)
    cum = per_fiber.cumsum(axis=1)
    j = np.arange(masks.shape[2], dtype=np.int64) + 1
    return j * pointer_bits + cum * (index_bits + value_bits)


def parse_fiber(
    reader: TileReader,
    pos: int,
    prev_end: int,
    fiber: int,
    fiber_len: int,
    max_count: int,
    index_bits: int,
    pointer_bits: int,
    value_bits: int,
    label: str,
    index_name: str,
) -> tuple[np.ndarray, int, int]:
    """Parse one fiber at ``pos``: (dense fiber, new pos, end pointer). Validates."""
    end = reader.uint(pos, pointer_bits, f"pointer of fiber {fiber}")
    if end < prev_end:
        raise FormatError(
            f"{label}: non-monotonic pointers: fiber {fiber} ends at {end} "
            f"before its start {prev_end}"
        )
    if end > max_count:
        raise FormatError(
            f"{label}: pointer {end} of fiber {fiber} is past the end of the "
            f"tile (at most {max_count} non-zeros)"
        )
    count = end - prev_end
    if count > fiber_len:
        raise FormatError(
            f"{label}: fiber {fiber} claims {count} non-zeros but has only {fiber_len} positions"
        )
    pos += pointer_bits
    idx, vals = reader.records(
        pos, count, (index_bits, value_bits), True, f"records of fiber {fiber} (pointer {end})"
    )
    if count and idx.max() >= fiber_len:
        raise FormatError(
            f"{label}: {index_name} index {int(idx.max())} in fiber {fiber} is "
            f"outside the tile (0..{fiber_len - 1})"
        )
    if count > 1 and (np.diff(idx) <= 0).any():
        raise FormatError(
            f"{label}: {index_name} indices of fiber {fiber} are not strictly increasing"
        )
    out = np.zeros(fiber_len, dtype=np.int64)
    out[idx] = vals
    return out, pos + count * (index_bits + value_bits), end
