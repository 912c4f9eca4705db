"""Compressed tile formats: dense, CSC (default), CSR, COO, bitmap, RLE.

Every format encodes a *stream tile* (``L × V`` integers; column ``j`` is the ``j``-th dense
vector of ``L`` lanes the decompression unit emits) into an exact bit stream, decodes it,
and gives the same sizes from masks alone (the fast path used by the analytic models):

>>> from sod.formats import FormatSpec, resolve_widths, encode, decode, size_bits
>>> w = resolve_widths(FormatSpec(), lanes=16, vectors=16)
>>> enc = encode(tile, "csc", w); decode(enc)            # doctest: +SKIP
>>> size_bits(tile != 0, "csc", w)[0] == enc.size_bits   # doctest: +SKIP

``need_bits`` gives, per vector, how many stream bits must have been read before the vector
can be emitted (the input of the decompressor's throughput model). See docs/datapath.md.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from sod.formats import bitmap, coo, csc, csr, dense, rle
from sod.formats.base import (
    Encoded,
    FormatSpec,
    Stall,
    TileReader,
    VectorParser,
    Widths,
    decode_with,
    resolve_widths,
    widths_for_shape,
)
from sod.formats.errors import FormatError

FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (csc, csr, coo, bitmap, rle, dense)}
DEFAULT_FORMAT = "csc"

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "Encoded",
    "FormatError",
    "FormatSpec",
    "Stall",
    "TileReader",
    "VectorParser",
    "Widths",
    "decode",
    "encode",
    "format_module",
    "need_bits",
    "parser",
    "resolve_widths",
    "size_bits",
    "streaming",
    "widths_for_shape",
]


def format_module(name: str) -> ModuleType:
    """The module implementing format ``name`` (FormatError if unknown)."""
    try:
        return FORMATS[str(name).lower()]
    except KeyError:
        raise FormatError(f"unknown format {name!r}; choose from: {', '.join(FORMATS)}") from None


def encode(tile: np.ndarray, fmt: str, widths: Widths) -> Encoded:
    """Encode one ``L × V`` stream tile."""
    return format_module(fmt).encode(tile, widths)


def parser(fmt: str, widths: Widths, label: str = "tile") -> VectorParser:
    """A fresh vector-by-vector parser for one tile (used by the decompressor)."""
    return format_module(fmt).Parser(widths, f"{label} ({fmt})")


def decode(enc: Encoded, label: str = "tile") -> np.ndarray:
    """Decode a whole tile (int64 ``L × V``); corrupt data raises :class:`FormatError`."""
    return decode_with(parser(enc.format, enc.widths, label), enc.bits)


def size_bits(masks: np.ndarray, fmt: str, widths: Widths) -> np.ndarray:
    """Exact encoded size in bits of each tile, from non-zero masks ``(T, L, V)`` only."""
    return format_module(fmt).size_bits(masks, widths)


def need_bits(masks: np.ndarray, fmt: str, widths: Widths) -> np.ndarray:
    """(T, V): stream bits that must be read before vector ``j`` of each tile is emitted."""
    return format_module(fmt).need_bits(masks, widths)


def streaming(fmt: str) -> bool:
    """Whether vectors come out while the tile streams in (False: whole tile first)."""
    return bool(format_module(fmt).STREAMING)
