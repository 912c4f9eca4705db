"""How the array consumes W: tile grid, tile order, vector orientation, W streams.

W (k × n) is cut into ``R × C`` blocks ``W[kb·R:(kb+1)·R, nb·C:(nb+1)·C]`` for every
dataflow. What differs is the *stream tile* the decompressor emits for a block (its
columns are the dense vectors, in consumption order) and the order of the blocks:

=====  ========================================  ====================  ==================
flow   one vector                                stream tile           tile order (image)
=====  ========================================  ====================  ==================
WS     a row of W (C lanes along n), last k       ``block[::-1].T``     nb outer, kb inner
       row first (it is shifted to the bottom);
       ``R − kr`` zero vectors first on k edges
OS     a row of W (C lanes along n), k order      ``block.T``           nb outer, kb inner
IS     a column of W (R lanes along k), n order   ``block``             kb outer, nb inner
=====  ========================================  ====================  ==================

A *W stream* is what one fold reads: one tile (WS), a column of tiles ``W[:, nb]`` (OS,
re-read for every m-block) or a row of tiles ``W[kb, :]`` (IS, re-read for every m-block).
Tiles are stored in the image in stream order, so every stream is contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.formats import FormatError


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def check_dataflow(dataflow: object) -> str:
    df = str(getattr(dataflow, "value", dataflow)).lower()
    if df not in ("ws", "os", "is"):
        raise FormatError(f"unknown dataflow {dataflow!r}; choose from: ws, os, is")
    return df


@dataclass(frozen=True)
class TileGrid:
    """The W tiles of one layer on an ``rows × cols`` array, in image order."""

    k: int
    n: int
    rows: int
    cols: int
    dataflow: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "dataflow", check_dataflow(self.dataflow))
        for what, v in (("k", self.k), ("n", self.n), ("rows", self.rows), ("cols", self.cols)):
            if int(v) <= 0:
                raise FormatError(f"{what} must be positive, got {v}")

    @property
    def k_blocks(self) -> int:
        return _ceil(self.k, self.rows)

    @property
    def n_blocks(self) -> int:
        return _ceil(self.n, self.cols)

    @property
    def count(self) -> int:
        return self.k_blocks * self.n_blocks

    @property
    def order(self) -> np.ndarray:
        """(tiles, 2): (kb, nb) of each tile in image order."""
        kb, nb = np.meshgrid(np.arange(self.k_blocks), np.arange(self.n_blocks), indexing="ij")
        if self.dataflow == "is":
            return np.stack([kb.ravel(), nb.ravel()], axis=1)
        return np.stack([kb.T.ravel(), nb.T.ravel()], axis=1)

    @property
    def full_shape(self) -> tuple[int, int]:
        """(lanes, vectors) of an interior stream tile."""
        return (self.rows, self.cols) if self.dataflow == "is" else (self.cols, self.rows)

    def block_extent(self, kb: np.ndarray, nb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k rows, n columns) actually present in blocks ``(kb, nb)``."""
        kr = np.minimum(self.rows, self.k - np.asarray(kb) * self.rows)
        nc = np.minimum(self.cols, self.n - np.asarray(nb) * self.cols)
        return kr, nc

    def stream_shape(self, kb: np.ndarray, nb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lanes, vectors) of the stream tiles of blocks ``(kb, nb)``."""
        kr, nc = self.block_extent(kb, nb)
        return (kr, nc) if self.dataflow == "is" else (nc, kr)

    def pad_before(self, kb: np.ndarray, nb: np.ndarray) -> np.ndarray:
        """Zero vectors the array takes before a tile's own (WS k-edge tiles only)."""
        kr, _ = self.block_extent(kb, nb)
        return self.rows - kr if self.dataflow == "ws" else np.zeros_like(kr)

    def orient(self, block: np.ndarray) -> np.ndarray:
        """W block (kr × nc) -> stream tile (lanes × vectors)."""
        if self.dataflow == "ws":
            return block[::-1].T
        if self.dataflow == "os":
            return block.T
        return block

    def unorient(self, tile: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`orient`."""
        if self.dataflow == "ws":
            return tile.T[::-1]
        if self.dataflow == "os":
            return tile.T
        return tile

    def stream_tiles(self) -> list[np.ndarray]:
        """Tile indices (image order) of each W stream, in stream order."""
        idx = np.arange(self.count)
        if self.dataflow == "ws":
            return [idx[i : i + 1] for i in range(self.count)]
        per = self.k_blocks if self.dataflow == "os" else self.n_blocks
        return [idx[s : s + per] for s in range(0, self.count, per)]

    def fold_streams(self, m: int) -> np.ndarray:
        """Stream read by each fold, in SCALE-Sim's fold order, for ``m`` activation rows."""
        if self.dataflow == "ws":
            return np.arange(self.count)
        m_blocks = _ceil(m, self.rows if self.dataflow == "os" else self.cols)
        if self.dataflow == "os":  # folds: nb outer, mb inner
            return np.repeat(np.arange(self.n_blocks), m_blocks)
        return np.tile(np.arange(self.k_blocks), m_blocks)  # folds: mb outer, kb inner

    def shape_classes(self) -> list[tuple[np.ndarray, int, int]]:
        """Tiles grouped by block extent: [(tile indices, kr, nc)] (at most four groups)."""
        order = self.order
        kr, nc = self.block_extent(order[:, 0], order[:, 1])
        out = []
        for a in np.unique(kr):
            for b in np.unique(nc):
                sel = np.flatnonzero((kr == a) & (nc == b))
                if sel.size:
                    out.append((sel, int(a), int(b)))
        return out

    def blocked(self, mask: np.ndarray) -> np.ndarray:
        """A k × n array cut into blocks: (k_blocks, n_blocks, R, C), zero padded."""
        mask = np.asarray(mask)
        if mask.shape != (self.k, self.n):
            raise FormatError(
                f"W of shape {mask.shape} does not match the grid's {self.k}x{self.n}"
            )
        kp, np_ = self.k_blocks * self.rows, self.n_blocks * self.cols
        if (kp, np_) != mask.shape:
            padded = np.zeros((kp, np_), mask.dtype)
            padded[: self.k, : self.n] = mask
            mask = padded
        return mask.reshape(self.k_blocks, self.rows, self.n_blocks, self.cols).swapaxes(1, 2)

    def block_masks(
        self,
        blocked: np.ndarray,
        tiles: np.ndarray,
        kr: int,
        nc: int,
    ) -> np.ndarray:
        """Stream tiles (t, lanes, vectors) of ``tiles`` (all of extent kr × nc)."""
        order = self.order[tiles]
        blocks = blocked[order[:, 0], order[:, 1], :kr, :nc]
        if self.dataflow == "ws":
            return blocks[:, ::-1, :].transpose(0, 2, 1)
        if self.dataflow == "os":
            return blocks.transpose(0, 2, 1)
        return blocks
