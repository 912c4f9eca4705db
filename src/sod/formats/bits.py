"""Bit-level helpers: streams are numpy ``uint8`` arrays of 0/1, most significant bit first.

Fields are fixed-width unsigned integers or two's-complement signed values. Keeping one bit
per byte makes encoders vectorizable (scatter fields at computed offsets) and keeps the
decoders simple; :func:`pack` / :func:`unpack` convert to and from real bytes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_SHIFTS = {w: np.arange(w - 1, -1, -1, dtype=np.int64) for w in range(0, 65)}


def int_to_bits(values: ArrayLike, width: int) -> np.ndarray:
    """(n,) integers -> (n, width) bits, MSB first; negatives as two's complement."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    if width == 0:
        return np.zeros((v.size, 0), dtype=np.uint8)
    v = v & ((1 << width) - 1)
    return ((v[:, None] >> _SHIFTS[width]) & 1).astype(np.uint8)


def bits_to_uint(bits: np.ndarray) -> np.ndarray:
    """(..., width) bits -> unsigned integers."""
    width = bits.shape[-1]
    if width == 0:
        return np.zeros(bits.shape[:-1], dtype=np.int64)
    return (bits.astype(np.int64) << _SHIFTS[width]).sum(axis=-1)


def bits_to_int(bits: np.ndarray) -> np.ndarray:
    """(..., width) two's-complement bits -> signed integers."""
    width = bits.shape[-1]
    u = bits_to_uint(bits)
    return np.where(u >= (1 << (width - 1)), u - (1 << width), u) if width else u


def place(stream: np.ndarray, offsets: ArrayLike, values: ArrayLike, width: int) -> None:
    """Write ``values`` as ``width``-bit fields starting at bit ``offsets`` (in place)."""
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1)
    if offsets.size == 0 or width == 0:
        return
    stream[offsets[:, None] + np.arange(width)] = int_to_bits(values, width)


def pack(bits: np.ndarray) -> bytes:
    """0/1 bits -> bytes (MSB first, zero padded to a whole byte)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def unpack(data: bytes, n_bits: int | None = None) -> np.ndarray:
    """bytes -> 0/1 bits (MSB first), optionally cut to ``n_bits``."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    return bits if n_bits is None else bits[:n_bits]


def bit_length(value: int) -> int:
    """Bits needed to hold the unsigned integer ``value`` (at least 1)."""
    return max(1, int(value).bit_length())


def index_bits_for(extent: int) -> int:
    """Bits of an index that addresses ``extent`` positions 0..extent-1 (at least 1)."""
    return max(1, int(extent - 1).bit_length())
