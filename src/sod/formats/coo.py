"""COO: a count, then ``(lane, vector, value)`` for every non-zero, in vector-major order.

Layout: ``count`` (``pointer`` bits), then records ``(lane_index, vector_index, value)``.
Size ``pointer + nnz·(lane_index + vector_index + value)``. A streaming decoder only knows
vector ``j`` is complete once it has read the first record of a later vector (or the last
record): that one-record look-ahead is part of :func:`need_bits`.
"""

from __future__ import annotations

import numpy as np

from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile
from sod.formats.bits import place

NAME = "coo"
STREAMING = True


def _rec(widths: Widths) -> int:
    return widths.lane_index + widths.vector_index + widths.value


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    vec, lane = np.nonzero(tile.T)
    rec = _rec(widths)
    bits = np.zeros(widths.pointer + vec.size * rec, dtype=np.uint8)
    place(bits, [0], [vec.size], widths.pointer)
    off = widths.pointer + np.arange(vec.size) * rec
    place(bits, off, lane, widths.lane_index)
    place(bits, off + widths.lane_index, vec, widths.vector_index)
    place(bits, off + widths.lane_index + widths.vector_index, tile[lane, vec], widths.value)
    return Encoded(NAME, tile.shape, widths, bits)


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    return widths.pointer + masks.sum(axis=(1, 2), dtype=np.int64) * _rec(widths)


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    cum = masks.sum(axis=1, dtype=np.int64).cumsum(axis=1)
    records = np.minimum(cum + 1, cum[:, -1:])  # one record of look-ahead, unless last
    return widths.pointer + records * _rec(widths)


class Parser(VectorParser):
    def __init__(self, widths: Widths, label: str) -> None:
        super().__init__(widths, label)
        self.count: int | None = None
        self.entry = 0  # next unread record
        self.last = -1  # vector-major position of the last record read

    def next_vector(self, reader: TileReader) -> np.ndarray:
        w = self.w
        count = self.count
        if count is None:
            count = reader.uint(0, w.pointer, "count")
            if count > w.lanes * w.vectors:
                raise self.fail(
                    f"count {count} is past the end of the tile "
                    f"(at most {w.lanes * w.vectors} non-zeros)"
                )
        entry, last = self.entry, self.last
        out = np.zeros(w.lanes, dtype=np.int64)
        rec = _rec(w)
        widths = (w.lane_index, w.vector_index, w.value)
        while entry < count:
            pos = w.pointer + entry * rec
            lane, vec, val = (
                int(x[0]) for x in reader.records(pos, 1, widths, True, f"record {entry}")
            )
            if lane >= w.lanes or vec >= w.vectors:
                raise self.fail(
                    f"record {entry} at (lane {lane}, vector {vec}) is outside "
                    f"the {w.lanes}x{w.vectors} tile"
                )
            flat = vec * w.lanes + lane
            if flat <= last:
                raise self.fail(
                    f"record {entry} at (lane {lane}, vector {vec}) is out of vector-major order"
                )
            if vec > self.j:
                break  # look-ahead: belongs to a later vector; re-read then
            out[lane] = val
            entry, last = entry + 1, flat
        self.count, self.entry, self.last = count, entry, last
        self.pos = w.pointer + entry * rec
        self.j += 1
        return out
