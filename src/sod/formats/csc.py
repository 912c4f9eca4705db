"""CSC (the project's default): values, row (lane) indices, column (vector) pointers.

The stream tile's columns are the fibers, so each vector is decoded as soon as its fiber
has been read: ``V·pointer + nnz·(lane_index + value)`` bits. Seen on a weight block
``W[k0:k1, n0:n1]`` in the weight-stationary order, the stream tile is the block transposed:
this is CSC of PyTorch's ``(out, in)`` weight layout.
"""

from __future__ import annotations

import numpy as np

from sod.formats import _fibers
from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile

NAME = "csc"
STREAMING = True


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    bits = _fibers.encode_fibers(tile, widths.lane_index, widths.pointer, widths.value)
    return Encoded(NAME, tile.shape, widths, bits)


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    return _fibers.fiber_sizes(
        as_mask_batch(masks), widths.lane_index, widths.pointer, widths.value
    )


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    return need_bits(masks, widths)[:, -1]


class Parser(VectorParser):
    def __init__(self, widths: Widths, label: str) -> None:
        super().__init__(widths, label)
        self.end = 0

    def next_vector(self, reader: TileReader) -> np.ndarray:
        w = self.w
        vec, pos, end = _fibers.parse_fiber(
            reader,
            self.pos,
            self.end,
            self.j,
            w.lanes,
            w.lanes * w.vectors,
            w.lane_index,
            w.pointer,
            w.value,
            self.label,
            "row",
        )
        self.pos, self.end, self.j = pos, end, self.j + 1
        return vec
