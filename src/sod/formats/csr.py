"""CSR: values, column (vector) indices, row (lane) pointers.

The fibers are the stream tile's ROWS (lanes), so no vector is complete before the last
lane has been read: the decompressor must buffer the whole tile and then emits one vector
per cycle (a transposing unit, ``STREAMING = False``). Size
``L·pointer + nnz·(vector_index + value)``. It is the natural format when the array consumes
the operand in the other orientation, and the measurable cost of choosing it when it does
not.
"""

from __future__ import annotations

import numpy as np

from sod.formats import _fibers
from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile

NAME = "csr"
STREAMING = False


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    bits = _fibers.encode_fibers(tile.T, widths.vector_index, widths.pointer, widths.value)
    return Encoded(NAME, tile.shape, widths, bits)


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    return _fibers.fiber_sizes(
        masks.transpose(0, 2, 1), widths.vector_index, widths.pointer, widths.value
    )[:, -1]


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    masks = as_mask_batch(masks)
    total = size_bits(masks, widths)
    return np.repeat(total[:, None], masks.shape[2], axis=1)


class Parser(VectorParser):
    def __init__(self, widths: Widths, label: str) -> None:
        super().__init__(widths, label)
        self.tile: np.ndarray | None = None

    def next_vector(self, reader: TileReader) -> np.ndarray:
        w = self.w
        if self.tile is None:
            tile = np.zeros((w.lanes, w.vectors), dtype=np.int64)
            pos, end = 0, 0
            for lane in range(w.lanes):
                tile[lane], pos, end = _fibers.parse_fiber(
                    reader,
                    pos,
                    end,
                    lane,
                    w.vectors,
                    w.lanes * w.vectors,
                    w.vector_index,
                    w.pointer,
                    w.value,
                    self.label,
                    "column",
                )
            self.tile, self.pos = tile, pos
        vec = self.tile[:, self.j]
        self.j += 1
        return vec
