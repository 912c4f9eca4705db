"""Bitmap: per vector, an ``L``-bit non-zero mask followed by the vector's non-zero values.

Size ``V·L + nnz·value``; vector ``j`` is complete once its mask and values are read.
"""

from __future__ import annotations

import numpy as np

from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile
from sod.formats.bits import place

NAME = "bitmap"
STREAMING = True


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    lanes, vectors = tile.shape
    mask = tile != 0
    counts = mask.sum(axis=0)
    before = np.cumsum(counts) - counts
    bits = np.zeros(vectors * lanes + int(counts.sum()) * widths.value, dtype=np.uint8)
    starts = np.arange(vectors) * lanes + before * widths.value
    bits[(starts[:, None] + np.arange(lanes)).ravel()] = mask.T.ravel()
    vec, lane = np.nonzero(mask.T)
    place(
        bits, (vec + 1) * lanes + np.arange(vec.size) * widths.value, tile[lane, vec], widths.value
    )
    return Encoded(NAME, tile.shape, widths, bits)


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    cum = masks.sum(axis=1, dtype=np.int64).cumsum(axis=1)
    j = np.arange(masks.shape[2], dtype=np.int64) + 1
    return j * masks.shape[1] + cum * widths.value


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    return need_bits(masks, widths)[:, -1]


class Parser(VectorParser):
    def next_vector(self, reader: TileReader) -> np.ndarray:
        w = self.w
        mask = reader.raw(self.pos, w.lanes, f"mask of vector {self.j}").astype(bool)
        count = int(mask.sum())
        (vals,) = reader.records(
            self.pos + w.lanes,
            count,
            (w.value,),
            True,
            f"values of vector {self.j} ({count} set mask bits)",
        )
        out = np.zeros(w.lanes, dtype=np.int64)
        out[mask] = vals
        self.pos += w.lanes + count * w.value
        self.j += 1
        return out
