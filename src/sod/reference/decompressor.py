"""Cycle-level reference of the decompression unit (GLB -> dense vectors at the array edge).

Interface (what the RTL must reproduce cycle for cycle):

* **Input**: one stream of GLB words of ``read_width_bits`` bits (Python ints, the first
  stream bit is the word's MSB) holding a sequence of tiles, each starting on a word
  boundary and zero-padded to whole words; plus, per tile, a descriptor from the manifest
  (:class:`TileDesc`: format, widths, exact size in bits, and ``pad_before`` zero vectors the
  array needs before the tile's own, e.g. the unused rows of a weight-stationary edge tile).
* **Each cycle** ``c = 0, 1, ...`` the unit (1) accepts the next word if any remain (one word
  per cycle, never throttled: the input buffer holds what it has read ahead, its peak is
  reported in :attr:`DecompressorTrace.peak_buffered_bits`), then (2) emits the next dense
  vector of ``lanes`` lanes if every bit that vector depends on has been accepted in cycles
  ``<= c`` and no vector was emitted in this cycle yet; otherwise it stalls. A tile's
  vectors come out in order, tile after tile; ``pad_before`` vectors need no bits; lanes
  beyond the tile's own lanes are zero. One vector per cycle at most.
* **Output**: per cycle, a vector or a stall (``None``); :meth:`Decompressor.run` returns
  the whole trace. Corrupt data raises :class:`~sod.formats.FormatError` naming the tile.

The unit is combinational within a cycle (a word accepted in cycle ``c`` can complete a
vector emitted in cycle ``c``); a registered implementation adds a constant latency that
does not change throughput. The analytic model of this timing is
:mod:`sod.models.decompressor`; the two must agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sod.formats import FormatError, Stall, TileReader, Widths, parser
from sod.formats.bits import int_to_bits


@dataclass(frozen=True)
class TileDesc:
    """What the unit knows about one tile before reading it (from the manifest)."""

    fmt: str
    widths: Widths
    size_bits: int
    pad_before: int = 0
    label: str = "tile"

    def words(self, read_width_bits: int) -> int:
        return -(-self.size_bits // read_width_bits)


@dataclass(frozen=True, eq=False)
class DecompressorTrace:
    """Everything the unit emitted, and when."""

    vectors: np.ndarray  # (n_vectors, lanes) int64, in emission order
    emit_cycles: np.ndarray  # (n_vectors,) cycle of each emission
    outputs: list[np.ndarray | None]  # per cycle: the vector, or None for a stall
    peak_buffered_bits: int  # most bits read ahead of the parser at any cycle end

    @property
    def cycles(self) -> int:
        return int(self.emit_cycles[-1]) + 1 if self.emit_cycles.size else 0

    @property
    def stall_cycles(self) -> int:
        return self.cycles - int(self.emit_cycles.size)


def words_from_bits(bits: np.ndarray, read_width_bits: int) -> list[int]:
    """Split a 0/1 bit stream into words (zero-padding the last one)."""
    n = -(-bits.size // read_width_bits)
    padded = np.zeros(n * read_width_bits, dtype=np.uint8)
    padded[: bits.size] = bits
    return [
        int("".join(map(str, row)), 2) if row.size else 0
        for row in padded.reshape(n, read_width_bits)
    ]


def bits_from_words(words: Sequence[int], read_width_bits: int) -> np.ndarray:
    """Inverse of :func:`words_from_bits` (all words, padding included)."""
    if not words:
        return np.zeros(0, dtype=np.uint8)
    if any(w < 0 or w >> read_width_bits for w in words):
        raise FormatError(f"a GLB word does not fit {read_width_bits} bits")
    # Split wide words into 32-bit chunks so numpy can vectorize the bit extraction.
    chunks = -(-read_width_bits // 32)
    pad = chunks * 32 - read_width_bits
    parts = np.array(
        [
            [(w << pad) >> (32 * (chunks - 1 - i)) & 0xFFFFFFFF for i in range(chunks)]
            for w in words
        ],
        dtype=np.int64,
    )
    bits = int_to_bits(parts.ravel(), 32).reshape(len(words), chunks * 32)
    return bits[:, :read_width_bits].ravel()


class Decompressor:
    """A decompression unit with ``lanes`` output lanes and a ``read_width_bits`` GLB port."""

    def __init__(self, lanes: int, read_width_bits: int) -> None:
        if lanes <= 0:
            raise FormatError(f"a decompressor needs at least one lane, got {lanes}")
        if read_width_bits <= 0:
            raise FormatError(f"GLB read width must be positive, got {read_width_bits}")
        self.lanes = lanes
        self.read_width_bits = read_width_bits

    def run(self, words: Sequence[int], tiles: Sequence[TileDesc]) -> DecompressorTrace:
        """Simulate cycle by cycle until every vector of every tile has been emitted."""
        width = self.read_width_bits
        first_word, at = [], 0
        for t in tiles:
            if t.widths.lanes > self.lanes:
                raise FormatError(
                    f"{t.label}: {t.widths.lanes} lanes exceed the unit's {self.lanes}"
                )
            first_word.append(at)
            at += t.words(width)
        if at != len(words):
            raise FormatError(
                f"the tiles' sizes need {at} GLB words but the stream has {len(words)}"
            )
        stream = bits_from_words(words, width)
        total_vectors = sum(t.pad_before + t.widths.vectors for t in tiles)
        vectors = np.zeros((total_vectors, self.lanes), dtype=np.int64)
        emit = np.zeros(total_vectors, dtype=np.int64)
        outputs: list[np.ndarray | None] = []
        words_read, emitted, peak = 0, 0, 0
        tile_i, in_tile = 0, 0  # current tile, vectors of it emitted (pads included)
        prs = parser(tiles[0].fmt, tiles[0].widths, tiles[0].label) if tiles else None
        cycle = 0
        while emitted < total_vectors:
            if words_read < len(words):
                words_read += 1
            t = tiles[tile_i]
            assert prs is not None  # a tile remains, so its parser exists
            base = first_word[tile_i] * width
            out: np.ndarray | None = None
            if in_tile < t.pad_before:
                out = np.zeros(self.lanes, dtype=np.int64)
            else:
                tile_bits = stream[base : base + t.size_bits]
                reader = TileReader(
                    tile_bits, t.size_bits, prs.label, avail=words_read * width - base
                )
                try:
                    vec = prs.next_vector(reader)
                except Stall:
                    vec = None
                if vec is not None:
                    out = np.zeros(self.lanes, dtype=np.int64)
                    out[: vec.size] = vec
                    if prs.j == t.widths.vectors:
                        prs.finish(reader)
            consumed = base + (prs.pos if in_tile >= t.pad_before else 0)
            if out is not None:
                vectors[emitted], emit[emitted] = out, cycle
                emitted += 1
                in_tile += 1
                if in_tile == t.pad_before + t.widths.vectors:
                    consumed = base + t.words(width) * width
                    tile_i, in_tile = tile_i + 1, 0
                    if tile_i < len(tiles):
                        nt = tiles[tile_i]
                        prs = parser(nt.fmt, nt.widths, nt.label)
            peak = max(peak, words_read * width - consumed)
            outputs.append(out)
            cycle += 1
        return DecompressorTrace(vectors, emit, outputs, peak)
