"""Weight reordering: permute W's rows (k) and columns (n) so that zero tiles appear.

The compiler may lay W out in any row and column order: permuting the reduction index k
permutes the activation columns identically (the im2col feeder reads A's columns in the
same order, no cost), and permuting the output channels n only changes where outputs are
written back (through the inverse permutation, no cost). ``A[:, p] @ W[p][:, q]`` is
``(A @ W)[:, q]``, so the outputs are exact. What changes is which weights share an
``R × C`` array tile, hence how many tiles are entirely zero (a WS fold skipped) and how
many weight vectors of a stream are empty (OS/IS streams shortened).

:func:`weight_reorder` returns the permutations for one ``k × n`` mask (pure, vectorized,
deterministic). Method ``sort`` tries a few candidate orders and keeps the best for the
dataflow's skipping rule (:func:`skip_cost`), the identity among them, so it never does
worse than no reordering by that measure:

* **count**: rows and columns by non-zero count, densest first (stable). Empty rows and
  columns (pruned channels) gather at the end and form zero tiles.
* **signature rounds**: alternately sort the columns by the set of row blocks they touch
  and the rows by the set of column blocks they touch (the block pattern
  lexicographically, then the non-zero count; one series of rounds with the number of
  blocks touched as the first key, one without), ``ROUNDS`` times each. Rows with the
  same block pattern (a block-pruned band) end up adjacent, and so do columns; the
  lexicographic order puts the items missing block 0 together, then within each group
  those missing block 1, and so on.

With unstructured (random) masks at the densities of pruned CNNs nearly every row touches
every column block, so no order creates zero tiles: reordering leaves such layers as they
are (measured in docs/sparse-on-dense.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REORDER_METHODS = ("none", "sort")
#: Mask entries :meth:`Reorder.apply` permutes at once (bounds its scratch memory).
_APPLY_BLOCK_ELEMENTS = 1 << 22
ROUNDS = 3


@dataclass(frozen=True)
class Reorder:
    """Row (k) and column (n) permutations of a weight mask: the reordered W is
    ``W[rows][:, cols]``; position i of the reordered rows holds original row ``rows[i]``."""

    rows: np.ndarray  # (k,) int64
    cols: np.ndarray  # (n,) int64

    @property
    def is_identity(self) -> bool:
        return bool(
            (self.rows == np.arange(self.rows.size)).all()
            and (self.cols == np.arange(self.cols.size)).all()
        )

    def apply(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """W (k × n, or (..., k, n)) in the reordered layout (written into ``out`` if
        given)."""
        if out is None:
            out = np.empty(w.shape, w.dtype)
        # np.take along an axis is many times faster than fancy indexing on big masks; a
        # block of rows at a time bounds the scratch (a large FC mask is 100 MB) and keeps
        # each row's column gather in cache.
        step = max(1, _APPLY_BLOCK_ELEMENTS // max(self.cols.size, 1))
        for lo in range(0, self.rows.size, step):
            block = np.take(w, self.rows[lo : lo + step], axis=-2)
            out[..., lo : lo + step, :] = np.take(block, self.cols, axis=-1)
        return out

    def apply_in_place(self, w: np.ndarray) -> np.ndarray:
        """A writable bool k × n mask reordered in place (as :meth:`apply`); the scratch is
        its bit-packed copy (an eighth of it) and a block of rows, no second mask."""
        k, n = w.shape
        step = max(1, _APPLY_BLOCK_ELEMENTS // max(n, 1))
        packed = np.empty((k, (n + 7) // 8), np.uint8)
        for lo in range(0, k, step):  # columns permuted, packed row by row
            block = np.take(w[lo : lo + step], self.cols, axis=1)
            packed[lo : lo + step] = np.packbits(block, axis=1)
        for lo in range(0, k, step):  # rows gathered from the packed copy
            rows = np.take(packed, self.rows[lo : lo + step], axis=0)
            w[lo : lo + step] = np.unpackbits(rows, axis=1, count=n).view(bool)
        return w

    def restore(self, wp: np.ndarray) -> np.ndarray:
        """The original W from the reordered one (inverse of :meth:`apply`)."""
        out = np.empty_like(wp)
        out[np.ix_(self.rows, self.cols)] = wp
        return out


def identity(k: int, n: int) -> Reorder:
    return Reorder(np.arange(k, dtype=np.int64), np.arange(n, dtype=np.int64))


def _block_any(mask: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Whether each block of ``size`` consecutive indices along ``axis`` holds a non-zero,
    for every index of the other axis: (blocks, n) for axis 0, (k, blocks) for axis 1."""
    length = mask.shape[axis]
    blocks = -(-length // size)
    pad = blocks * size - length
    if axis == 0:
        padded = np.pad(mask, ((0, pad), (0, 0))) if pad else mask
        return np.asarray(padded.reshape(blocks, size, -1).any(axis=1))
    padded = np.pad(mask, ((0, 0), (0, pad))) if pad else mask
    return np.asarray(padded.reshape(mask.shape[0], blocks, size).any(axis=2))


def _permuted_block_any(mask: np.ndarray, perm: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``_block_any(np.take(mask, perm, axis=axis), size, axis)``, a chunk at a time (no
    permuted copy of a whole large FC mask): whole blocks of permuted rows (axis 0), or
    rows of the mask with their columns permuted (axis 1, each row's gather in cache)."""
    if axis == 0:
        per = max(1, _APPLY_BLOCK_ELEMENTS // max(size * mask.shape[1], 1)) * size
        parts = [
            _block_any(np.take(mask, perm[lo : lo + per], axis=0), size, 0)
            for lo in range(0, perm.size, per)
        ]
    else:
        per = max(1, _APPLY_BLOCK_ELEMENTS // max(perm.size, 1))
        parts = [
            _block_any(np.take(mask[lo : lo + per], perm, axis=1), size, 1)
            for lo in range(0, mask.shape[0], per)
        ]
    if not parts:
        return _block_any(np.take(mask, perm, axis=axis), size, axis)
    return np.concatenate(parts, axis=axis if axis == 0 else 0)


def skip_cost(mask: np.ndarray, rows: int, cols: int, dataflow: str) -> int:
    """What skipping cannot remove, for a ``k × n`` mask in its current order on an
    ``rows × cols`` array: non-zero tiles (WS: each costs a fold), or non-empty weight
    vectors summed over streams (OS: rows of each column block; IS: columns of each row
    block; each costs a streamed cycle)."""
    k, n = mask.shape
    return _cost(mask, np.arange(k), np.arange(n), rows, cols, dataflow)


def _cost(
    mask: np.ndarray, r: np.ndarray, c: np.ndarray, rows: int, cols: int, dataflow: str
) -> int:
    """:func:`skip_cost` of ``mask`` reordered by (r, c), without building it: WS and IS
    reduce the permuted rows to row blocks first, and OS ignores the row order."""
    if dataflow == "os":
        return int(_permuted_block_any(mask, c, cols, 1).sum())
    row_blocks = _permuted_block_any(mask, r, rows, 0)  # (row blocks, n)
    if dataflow == "is":
        return int(row_blocks.sum())
    return int(_block_any(np.take(row_blocks, c, axis=1), cols, 1).sum())


def _signature_order(pattern: np.ndarray, counts: np.ndarray, fewest_first: bool) -> np.ndarray:
    """Indices (the rows of ``pattern``: (items, blocks) bool) ordered by the block pattern
    lexicographically (touching the first block sorts first), then the non-zero count
    (densest first), then the index; ``fewest_first``: by the number of blocks touched
    before all that."""
    packed = np.ascontiguousarray(np.packbits(~pattern, axis=1))
    as_bytes = packed.view(np.dtype((np.void, max(packed.shape[1], 1)))).ravel()
    rank = np.unique(as_bytes, return_inverse=True)[1].ravel()
    keys: tuple[np.ndarray, ...] = (np.arange(pattern.shape[0]), -counts, rank)
    if fewest_first:
        keys += (pattern.sum(axis=1),)
    return np.lexsort(keys).astype(np.int64)


def _candidates(mask: np.ndarray, rows: int, cols: int) -> list[Reorder]:
    k, n = mask.shape
    row_nnz = mask.sum(axis=1, dtype=np.int64)
    col_nnz = mask.sum(axis=0, dtype=np.int64)
    by_count = Reorder(
        np.argsort(-row_nnz, kind="stable").astype(np.int64),
        np.argsort(-col_nnz, kind="stable").astype(np.int64),
    )
    out = [identity(k, n), by_count]
    for fewest_first in (True, False):
        r = by_count.rows
        for _ in range(ROUNDS):
            # (n, row blocks) with the rows in order r; then (k, column blocks).
            col_pattern = _permuted_block_any(mask, r, rows, 0).T
            c = _signature_order(col_pattern, col_nnz, fewest_first)
            row_pattern = _permuted_block_any(mask, c, cols, 1)
            r = _signature_order(row_pattern, row_nnz, fewest_first)
            out.append(Reorder(r, c))
    return out


def weight_reorder(mask: np.ndarray, rows: int, cols: int, dataflow: str, method: str) -> Reorder:
    """The permutations of a ``k × n`` weight mask for an ``rows × cols`` array.

    ``method``: ``none`` (identity) or ``sort`` (the best candidate of the module
    docstring by :func:`skip_cost` for ``dataflow``; ties keep the earlier candidate,
    the identity first)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"weight mask must be 2-D, got shape {mask.shape}")
    k, n = mask.shape
    if method not in REORDER_METHODS:
        raise ValueError(f"unknown weight reorder {method!r}; choose from {REORDER_METHODS}")
    if method == "none" or (k <= rows and n <= cols) or mask.all() or not mask.any():
        return identity(k, n)  # one tile, or nothing to gather
    best, best_cost = None, None
    for cand in _candidates(mask, rows, cols):
        cost = _cost(mask, cand.rows, cand.cols, rows, cols, dataflow)
        if best_cost is None or cost < best_cost:
            best, best_cost = cand, cost
    assert best is not None
    return best


def zero_tile_fraction(mask: np.ndarray, rows: int, cols: int) -> float:
    """Fraction of the ``rows × cols`` tiles of a ``k × n`` mask that are all zero."""
    tiles = _block_any(_block_any(np.asarray(mask, bool), rows, 0), cols, 1)
    return float(1.0 - tiles.mean()) if tiles.size else 0.0
