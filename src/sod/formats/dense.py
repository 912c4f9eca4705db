"""Dense: every value of the stream tile, vector after vector (column-major).

Layout: for each vector ``j``: ``L`` values of ``value`` bits. Size ``L·V·value``.
Also the per-tile fallback when compression does not pay.
"""

from __future__ import annotations

import numpy as np

from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile
from sod.formats.bits import place

NAME = "dense"
STREAMING = True


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    bits = np.zeros(tile.size * widths.value, dtype=np.uint8)
    place(bits, np.arange(tile.size) * widths.value, tile.T.ravel(), widths.value)
    return Encoded(NAME, tile.shape, widths, bits)


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    return np.full(masks.shape[0], masks.shape[1] * masks.shape[2] * widths.value, np.int64)


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    t, lanes, vectors = masks.shape
    per = lanes * widths.value * (np.arange(vectors, dtype=np.int64) + 1)
    return np.broadcast_to(per, (t, vectors)).copy()


class Parser(VectorParser):
    def next_vector(self, reader: TileReader) -> np.ndarray:
        (vals,) = reader.records(self.pos, self.w.lanes, (self.w.value,), True, f"vector {self.j}")
        self.pos += self.w.lanes * self.w.value
        self.j += 1
        return vals
