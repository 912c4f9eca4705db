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
from functools import lru_cache

import numpy as np

from sod.compiler.bitcount import _NATIVE, block_bit_counts, count_dtype, transpose_bytes
from sod.formats import FormatError


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@lru_cache(maxsize=256)
def _tile_order(k_blocks: int, n_blocks: int, kb_outer: bool) -> np.ndarray:
    """(tiles, 2): (kb, nb) of every tile, kb outer (IS) or nb outer; cached, since the
    models ask for it of the same grids again and again (read-only)."""
    kb, nb = np.meshgrid(np.arange(k_blocks), np.arange(n_blocks), indexing="ij")
    if kb_outer:
        out = np.stack([kb.ravel(), nb.ravel()], axis=1)
    else:
        out = np.stack([kb.T.ravel(), nb.T.ravel()], axis=1)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def _tile_extents(
    k: int, n: int, rows: int, cols: int, kb_outer: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(kr, nc) of every tile in the order of :func:`_tile_order` (read-only, cached)."""
    order = _tile_order(_ceil(k, rows), _ceil(n, cols), kb_outer)
    kr = np.minimum(rows, k - order[:, 0] * rows)
    nc = np.minimum(cols, n - order[:, 1] * cols)
    kr.flags.writeable = nc.flags.writeable = False
    return kr, nc


def check_dataflow(dataflow: object) -> str:
    df = str(getattr(dataflow, "value", dataflow)).lower()
    if df not in ("ws", "os", "is"):
        raise FormatError(f"unknown dataflow {dataflow!r}; choose from: ws, os, is")
    return df


class _BlockGrid:
    """A k × n mask cut into ``rows × cols`` blocks (fields of the dataclasses below)."""

    k: int
    n: int
    rows: int
    cols: int

    @property
    def k_blocks(self) -> int:
        return _ceil(self.k, self.rows)

    @property
    def n_blocks(self) -> int:
        return _ceil(self.n, self.cols)


@dataclass(frozen=True)
class TileGrid(_BlockGrid):
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
    def count(self) -> int:
        return self.k_blocks * self.n_blocks

    @property
    def order(self) -> np.ndarray:
        """(tiles, 2): (kb, nb) of each tile in image order (read-only, shared)."""
        return _tile_order(self.k_blocks, self.n_blocks, self.dataflow == "is")

    @property
    def extents(self) -> tuple[np.ndarray, np.ndarray]:
        """(k rows, n columns) of every tile in image order (read-only, shared):
        :meth:`block_extent` of :attr:`order`."""
        return _tile_extents(self.k, self.n, self.rows, self.cols, self.dataflow == "is")

    @property
    def tile_shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """(lanes, vectors) of every stream tile in image order (read-only, shared)."""
        kr, nc = self.extents
        return (kr, nc) if self.dataflow == "is" else (nc, kr)

    @property
    def pads(self) -> np.ndarray:
        """:meth:`pad_before` of every tile in image order."""
        kr, _ = self.extents
        return self.rows - kr if self.dataflow == "ws" else np.zeros_like(kr)

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
        kr, nc = self.extents
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


@dataclass(frozen=True, eq=False)
class BlockCounts(_BlockGrid):
    """Non-zeros of a k × n mask per line of an ``rows × cols`` block grid: what every
    dataflow's stream tiles are measured from (a vector of a WS/OS stream tile is a row
    of a block, of an IS one a column), so one pass over the mask serves all three.

    ``row_counts[i, nb]``: row i's non-zeros in column block nb, (k, n_blocks);
    ``col_counts[kb, j]``: column j's non-zeros in row block kb, (k_blocks, n). Small
    unsigned integers (at most ``cols`` resp. ``rows``); either may be left out (None)
    when only one dataflow's tiles are measured."""

    k: int
    n: int
    rows: int
    cols: int
    row_counts: np.ndarray | None
    col_counts: np.ndarray | None

    def padded_rows(self) -> np.ndarray:
        """``row_counts`` with zero rows up to whole row blocks: (k_blocks, rows, n_blocks)."""
        rc = self.row_counts
        if rc is None:
            raise ValueError("row counts were not measured")
        kb = self.k_blocks
        if kb * self.rows != rc.shape[0]:
            pad = np.zeros((kb * self.rows - rc.shape[0], rc.shape[1]), rc.dtype)
            rc = np.concatenate([rc, pad])
        return rc.reshape(kb, self.rows, -1)

    def padded_cols(self) -> np.ndarray:
        """``col_counts`` with zero columns up to whole column blocks: (k_blocks, n_blocks,
        cols)."""
        cc = self.col_counts
        if cc is None:
            raise ValueError("column counts were not measured")
        nb = self.n_blocks
        if nb * self.cols != cc.shape[1]:
            pad = np.zeros((cc.shape[0], nb * self.cols - cc.shape[1]), cc.dtype)
            cc = np.concatenate([cc, pad], axis=1)
        return cc.reshape(cc.shape[0], nb, self.cols)

    def block_stats(
        self, native: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Per block (kb, nb): non-zeros, rows (k) with a non-zero and columns (n) with a
        non-zero (None when the counts they come from were left out). ``native`` False:
        the numpy steps even when the compiled pass is built (tests)."""
        if native and _NATIVE is not None:
            stats = self._native_stats()
            if stats is not None:
                return stats
        rows = cols = None
        if self.row_counts is not None:
            rc = self.padded_rows()
            nnz = rc.sum(axis=1, dtype=np.int64)
            rows = np.count_nonzero(rc, axis=1)
        if self.col_counts is not None:
            cc = self.padded_cols()
            cols = np.count_nonzero(cc, axis=2)
            if self.row_counts is None:
                nnz = cc.sum(axis=2, dtype=np.int64)
        return nnz, rows, cols

    def _native_stats(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
        """:meth:`block_stats` in one compiled pass over each half of byte counts (None
        when a half is wider than a byte): group sums and non-zero entries."""
        assert _NATIVE is not None
        kb, nb = self.k_blocks, self.n_blocks
        rows = cols = nnz = None
        for half, axis, block in ((self.row_counts, 0, self.rows), (self.col_counts, 1, self.cols)):
            if half is None:
                continue
            if half.dtype != np.uint8 or half.ndim != 2:
                return None
            half = np.ascontiguousarray(half)
            sums, nonzero = np.empty((kb, nb), np.int64), np.empty((kb, nb), np.int64)
            a, b = half.shape
            _NATIVE.bc_group_stats(half, a, b, axis, block, sums, nonzero)
            if axis == 0:
                nnz, rows = sums, nonzero
            else:
                cols = nonzero
                nnz = sums if nnz is None else nnz
        assert nnz is not None
        return nnz, rows, cols


_count_dtype = count_dtype


def block_counts(
    mask: np.ndarray, rows: int, cols: int, row_counts: bool = True, col_counts: bool = True
) -> BlockCounts:
    """:class:`BlockCounts` of a k × n bool mask on an ``rows × cols`` grid (``row_counts``
    / ``col_counts`` False: that half left out, None).

    Row counts are popcounts of the mask bit-packed along n (a column block of a multiple
    of 8 columns is whole bytes: one popcount per 1, 2, 4 or 8 bytes); column counts are
    byte sums of ``rows`` rows in the narrowest type that holds them."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise FormatError(f"a mask must be 2-D, got shape {mask.shape}")
    k, n = mask.shape
    kb, nb = _ceil(k, rows), _ceil(n, cols)
    rc = _row_counts(mask, nb, cols) if row_counts else None
    cc = None
    if col_counts:
        u8 = mask.view(np.uint8)
        full = k // rows
        dtype = _count_dtype(rows)
        cc = np.empty((kb, n), dtype)
        if full:
            cc[:full] = u8[: full * rows].reshape(full, rows, n).sum(axis=1, dtype=dtype)
        if full < kb:
            cc[full] = u8[full * rows :].sum(axis=0, dtype=dtype)
    return BlockCounts(k, n, rows, cols, rc, cc)


def packed_block_counts(
    rows_bits: np.ndarray,
    n: int,
    rows: int,
    cols: int,
    row_counts: bool = True,
    col_counts: bool = True,
    order: tuple[np.ndarray, np.ndarray] | None = None,
    cols_bits: np.ndarray | None = None,
) -> BlockCounts:
    """:func:`block_counts` of a k × n mask given bit-packed, never unpacked whole:
    ``rows_bits`` (k, ⌈n/8⌉) uint8 is ``np.packbits(mask, axis=1)`` (a BitMask's bytes).

    ``order``: (row permutation r, column permutation c): the counts of the reordered
    mask ``mask[r][:, c]`` (:class:`~sod.compiler.reorder.Reorder`), which then needs
    ``cols_bits`` (≥ n, ≥ ⌈k/8⌉) uint8, the mask's columns packed along k
    (``np.packbits(mask, axis=0).T``, zero padded), for the row counts. Column counts
    are :func:`~sod.compiler.bitcount.block_bit_counts` of W's rows in order r (then
    gathered by c); row counts those of W's columns in order c (then gathered by r), or
    in the natural order popcounts of the packed rows."""
    k = int(rows_bits.shape[0])
    if rows_bits.ndim != 2 or rows_bits.shape[1] != -(-n // 8) or rows_bits.dtype != np.uint8:
        raise FormatError(f"packed rows of shape {rows_bits.shape} do not hold {n} columns")
    r, c = (None, None) if order is None else order
    rc = cc = None
    if row_counts:
        if order is None and cols % 8 == 0:
            rc = _row_counts_packed(rows_bits, _ceil(n, cols), cols)
        elif order is None:
            mask = np.unpackbits(rows_bits, axis=1, count=n).view(bool)
            rc = _row_counts(mask, _ceil(n, cols), cols)
        else:
            if cols_bits is None or cols_bits.shape[0] < n or 8 * cols_bits.shape[1] < k:
                raise FormatError("the reordered row counts need W's columns packed along k")
            assert r is not None and c is not None
            along_k = block_bit_counts(cols_bits, c, cols)  # (nb, ≥ k)
            gathered = np.take(along_k, r, axis=1)  # (nb, k): rows in order r
            # (k, nb): a byte matrix transposed in cache-sized blocks
            rc = transpose_bytes(gathered) if gathered.dtype == np.uint8 else gathered.T
            rc = np.ascontiguousarray(rc)
    if col_counts:
        cc = block_bit_counts(rows_bits, r, rows)  # (kb, ≥ n)
        cc = np.ascontiguousarray(cc[:, :n]) if c is None else np.take(cc, c, axis=1)
    return BlockCounts(k, n, rows, cols, rc, cc)


def _row_counts(mask: np.ndarray, nb: int, cols: int) -> np.ndarray:
    """(k, nb): each row's non-zeros in every column block of ``cols`` columns."""
    k, n = mask.shape
    if cols % 8 == 0:
        return _row_counts_packed(np.packbits(mask, axis=1), nb, cols)
    padded = np.zeros((k, nb * cols), bool)
    padded[:, :n] = mask
    return padded.reshape(k, nb, cols).sum(axis=2, dtype=_count_dtype(cols))


def _row_counts_packed(packed: np.ndarray, nb: int, cols: int) -> np.ndarray:
    """(k, nb): :func:`_row_counts` from the mask packed along its rows (cols % 8 == 0):
    popcounts of the column blocks' whole bytes."""
    packed = np.ascontiguousarray(packed)
    k = packed.shape[0]
    per = cols // 8  # bytes per column block
    if packed.shape[1] != nb * per:  # a last, partial column block
        pad = np.zeros((k, nb * per - packed.shape[1]), np.uint8)
        packed = np.concatenate([packed, pad], axis=1)
    if per in (1, 2, 4, 8):
        word = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[per]
        counts = np.bitwise_count(packed.view(word))  # endian-free: a popcount
    else:
        counts = np.bitwise_count(packed).reshape(k, nb, per).sum(axis=2)
    return counts.astype(_count_dtype(cols), copy=False)


def fiber_counts(grid: TileGrid, counts: BlockCounts) -> np.ndarray:
    """(tiles, vectors of a full tile): non-zeros of every vector of every stream tile,
    image order; a tile's vectors past its own count (k/n edges) are zero.

    WS: vector j of block (kb, nb) is row ``kb·R + kr−1−j`` (the last row first); OS:
    row ``kb·R + j``; IS: column ``nb·C + j``."""
    if (counts.k, counts.n, counts.rows, counts.cols) != (grid.k, grid.n, grid.rows, grid.cols):
        raise FormatError("block counts do not match the tile grid")
    if grid.dataflow == "is":  # image order kb outer, nb inner
        return counts.padded_cols().reshape(grid.count, grid.cols)
    rc = counts.padded_rows().transpose(2, 0, 1)  # (nb, kb, R): nb outer, kb inner
    if grid.dataflow == "os":
        return rc.reshape(grid.count, grid.rows)
    out = np.ascontiguousarray(rc[:, :, ::-1]).reshape(grid.count, grid.rows)
    edge = grid.k - (grid.k_blocks - 1) * grid.rows  # rows of the last row block
    if edge < grid.rows:  # its tiles' vectors start at their last real row
        last = np.arange(grid.k_blocks - 1, grid.count, grid.k_blocks)
        out[last, :edge] = out[last, grid.rows - edge :]
        out[last, edge:] = 0
    return out
