"""What every format shares: field widths, the encoded tile, and the stream reader.

A *stream tile* is an ``L × V`` int array whose column ``j`` is the ``j``-th dense vector of
``L`` lanes that the decompression unit emits (the compiler orients and orders operand tiles
so that columns come out in the order the array consumes them). Every format encodes a
stream tile into a bit stream (MSB first) and decodes it vector by vector, so the same
parser serves :func:`decode` and the cycle-level decompressor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sod.formats.bits import bit_length, bits_to_int, bits_to_uint, index_bits_for
from sod.formats.errors import FormatError


class FormatSpec(BaseModel):
    """User-facing field widths; ``None`` means "the minimum for the tile shape"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value_bits: int = Field(8, ge=1, le=32, description="bits per stored value (two's complement)")
    index_bits: int | None = Field(None, ge=1, le=32, description="bits per lane (row) index")
    pointer_bits: int | None = Field(
        None, ge=1, le=32, description="bits per pointer / count field"
    )
    run_bits: int = Field(4, ge=1, le=16, description="RLE zero-run length width")


@dataclass(frozen=True)
class Widths:
    """Field widths resolved for one stream-tile shape ``(lanes, vectors)``."""

    lanes: int
    vectors: int
    value: int
    lane_index: int  # addresses 0..lanes-1 (CSC row index, COO lane)
    vector_index: int  # addresses 0..vectors-1 (CSR column index, COO vector)
    pointer: int  # pointers and counts: holds 0..lanes*vectors
    run: int  # RLE zero-run field

    def to_json(self) -> dict[str, int]:
        return {
            "lanes": self.lanes,
            "vectors": self.vectors,
            "value": self.value,
            "lane_index": self.lane_index,
            "vector_index": self.vector_index,
            "pointer": self.pointer,
            "run": self.run,
        }

    @classmethod
    def from_json(cls, data: dict[str, int]) -> Widths:
        try:
            return cls(
                **{
                    f: int(data[f])
                    for f in (
                        "lanes",
                        "vectors",
                        "value",
                        "lane_index",
                        "vector_index",
                        "pointer",
                        "run",
                    )
                }
            )
        except (KeyError, TypeError, ValueError) as err:
            raise FormatError(f"widths record is malformed: {err}") from None


def resolve_widths(spec: FormatSpec, lanes: int, vectors: int) -> Widths:
    """Resolve a spec for an ``lanes × vectors`` stream tile, checking user widths fit."""
    if lanes <= 0 or vectors <= 0:
        raise FormatError(f"tile shape must be positive, got {lanes}x{vectors}")
    need_lane, need_vec = index_bits_for(lanes), index_bits_for(vectors)
    need_ptr = bit_length(lanes * vectors)
    lane_bits = need_lane if spec.index_bits is None else spec.index_bits
    vec_bits = need_vec if spec.index_bits is None else spec.index_bits
    ptr_bits = need_ptr if spec.pointer_bits is None else spec.pointer_bits
    if lane_bits < need_lane or vec_bits < need_vec:
        raise FormatError(
            f"index width {spec.index_bits} bits cannot address a "
            f"{lanes}x{vectors} tile (needs {max(need_lane, need_vec)})"
        )
    if ptr_bits < need_ptr:
        raise FormatError(
            f"pointer width {ptr_bits} bits cannot count {lanes * vectors} "
            f"elements (needs {need_ptr})"
        )
    return Widths(lanes, vectors, spec.value_bits, lane_bits, vec_bits, ptr_bits, spec.run_bits)


@dataclass(frozen=True, eq=False)
class Encoded:
    """One encoded stream tile: its format, shape, widths and bit stream (0/1 uint8)."""

    format: str
    shape: tuple[int, int]  # (lanes, vectors)
    widths: Widths
    bits: np.ndarray

    @property
    def size_bits(self) -> int:
        return int(self.bits.size)


def check_tile(tile: np.ndarray, widths: Widths, fmt: str) -> np.ndarray:
    """Validate a stream tile against its widths; return it as int64."""
    tile = np.asarray(tile)
    if tile.ndim != 2 or tile.shape != (widths.lanes, widths.vectors):
        raise FormatError(
            f"{fmt}: tile of shape {tile.shape} does not match widths for "
            f"{widths.lanes}x{widths.vectors}"
        )
    if not np.issubdtype(tile.dtype, np.integer):
        raise FormatError(f"{fmt}: tiles must hold integers, got {tile.dtype}")
    tile = tile.astype(np.int64)
    lo, hi = -(1 << (widths.value - 1)), (1 << (widths.value - 1)) - 1
    if tile.size and (tile.min() < lo or tile.max() > hi):
        raise FormatError(
            f"{fmt}: values outside [{lo}, {hi}] do not fit {widths.value}-bit value fields"
        )
    return tile


def as_mask_batch(masks: np.ndarray) -> np.ndarray:
    """Accept one ``L × V`` mask or a batch ``(T, L, V)``; return ``(T, L, V)`` bool."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise FormatError(
            f"masks must be (lanes, vectors) or (tiles, lanes, vectors), got shape {masks.shape}"
        )
    return masks


class Stall(Exception):
    """The next vector needs bits that have not been read from the GLB yet."""


class TileReader:
    """Reads fields of one tile stream of known total size, of which ``avail`` bits arrived.

    Reading past ``total_bits`` is corruption (truncated stream / pointer past the end);
    reading past ``avail`` (but within the tile) is a stall of the cycle-level unit.
    """

    def __init__(
        self, bits: np.ndarray, total_bits: int, label: str, avail: int | None = None
    ) -> None:
        self.bits = bits
        self.total_bits = int(total_bits)
        self.avail = min(int(bits.size), self.total_bits)
        if avail is not None:
            self.avail = min(self.avail, int(avail))
        self.label = label

    def raw(self, pos: int, width: int, what: str) -> np.ndarray:
        end = pos + width
        if end > self.total_bits:
            raise FormatError(
                f"{self.label}: truncated stream: {what} needs bits up to {end} "
                f"but the tile has {self.total_bits}"
            )
        if end > self.avail:
            raise Stall
        return self.bits[pos:end]

    def uint(self, pos: int, width: int, what: str) -> int:
        return int(bits_to_uint(self.raw(pos, width, what)))

    def records(
        self, pos: int, count: int, widths: tuple[int, ...], signed_last: bool, what: str
    ) -> list[np.ndarray]:
        """``count`` records of fields of ``widths`` starting at ``pos``: one array per field."""
        rec = sum(widths)
        block = self.raw(pos, count * rec, what).reshape(count, rec)
        out, at = [], 0
        for i, w in enumerate(widths):
            field = block[:, at : at + w]
            last = i == len(widths) - 1
            out.append(bits_to_int(field) if (signed_last and last) else bits_to_uint(field))
            at += w
        return out


class VectorParser:
    """Decodes a stream tile one vector at a time. Subclasses keep their state in
    attributes and must only commit it once the whole vector is parsed (a :class:`Stall`
    may interrupt a vector, which is then retried next cycle)."""

    def __init__(self, widths: Widths, label: str) -> None:
        self.w = widths
        self.label = label
        self.pos = 0  # bits consumed by committed vectors
        self.j = 0  # next vector

    def next_vector(self, reader: TileReader) -> np.ndarray:
        raise NotImplementedError

    def finish(self, reader: TileReader) -> None:
        """Called after the last vector: the stream must be consumed exactly."""
        if self.pos != reader.total_bits:
            raise FormatError(
                f"{self.label}: stream has {reader.total_bits} bits but the "
                f"tile's data ends at bit {self.pos}"
            )

    def fail(self, fault: str) -> FormatError:
        return FormatError(f"{self.label}: {fault}")


def decode_with(
    parser: VectorParser,
    bits: np.ndarray,
    total_bits: int | None = None,
) -> np.ndarray:
    """Decode a whole tile with a parser (every bit available)."""
    total = bits.size if total_bits is None else total_bits
    reader = TileReader(bits, total, parser.label)
    out = np.zeros((parser.w.lanes, parser.w.vectors), dtype=np.int64)
    for j in range(parser.w.vectors):
        try:
            out[:, j] = parser.next_vector(reader)
        except Stall:  # cannot happen with every bit available; keep it a clear error
            raise parser.fail("truncated stream") from None
    parser.finish(reader)
    return out


def widths_for_shape(widths: Widths, lanes: int, vectors: int) -> Widths:
    """The same field widths for a smaller (edge) tile of ``lanes × vectors``."""
    if not (0 < lanes <= widths.lanes and 0 < vectors <= widths.vectors):
        raise FormatError(
            f"edge tile {lanes}x{vectors} does not fit widths resolved for "
            f"{widths.lanes}x{widths.vectors}"
        )
    return Widths(
        lanes,
        vectors,
        widths.value,
        widths.lane_index,
        widths.vector_index,
        widths.pointer,
        widths.run,
    )
