"""RLE (Eyeriss-style): ``(zero-run, value)`` pairs over the vector-major flattened tile.

Layout: ``count`` of pairs (``pointer`` bits), then pairs ``(run, value)`` (``run`` and
``value`` bits): ``run`` zeros, then ``value``. A run longer than ``2^run − 1`` is split by
an explicit zero: the pair ``(2^run − 1, 0)`` covers ``2^run`` positions. Trailing zeros of
the tile need no pair. Size ``pointer + pairs·(run + value)``.

A streaming decoder knows vector ``j`` is complete when the decoded position reaches its
end; if the vector ends in zeros that takes the next pair (look-ahead, in
:func:`need_bits`).
"""

from __future__ import annotations

import numpy as np

from sod.formats.base import Encoded, TileReader, VectorParser, Widths, as_mask_batch, check_tile
from sod.formats.bits import place

NAME = "rle"
STREAMING = True


def _pair_positions(flat_mask: np.ndarray, run_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) flattened masks -> (tile id, position) of every pair's value, sorted."""
    span = 1 << run_bits  # positions covered by one saturated pair (2^run − 1 zeros + 1)
    tile, pos = np.nonzero(flat_mask)
    prev = np.empty_like(pos)
    prev[:1] = -1
    prev[1:] = np.where(tile[1:] == tile[:-1], pos[:-1], -1)
    if prev.size:
        prev[0] = -1
    extras = (pos - prev - 1) // span
    owner = np.repeat(np.arange(pos.size), extras)
    # k-th explicit zero of a gap (k = 1..extras) sits at prev + k·span.
    first = np.cumsum(extras) - extras
    k = np.arange(owner.size) - first[owner] + 1
    tiles = np.concatenate([tile, tile[owner]])
    positions = np.concatenate([pos, prev[owner] + k * span])
    order = np.lexsort((positions, tiles))
    return tiles[order], positions[order]


def _flatten(masks: np.ndarray) -> np.ndarray:
    t = masks.shape[0]
    return masks.transpose(0, 2, 1).reshape(t, -1)  # vector-major


def _nonzero(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tile, position) of every non-zero of ``(T, N)`` flattened masks, sorted (as
    ``np.nonzero``, from one flat index: faster)."""
    tile, pos = np.divmod(np.flatnonzero(flat), max(flat.shape[1], 1))
    return tile, pos


def encode(tile: np.ndarray, widths: Widths) -> Encoded:
    tile = check_tile(tile, widths, NAME)
    flat = tile.T.ravel()
    _, q = _pair_positions((flat != 0)[None], widths.run)
    prev = np.concatenate([[-1], q[:-1]])
    runs = q - prev - 1
    rec = widths.run + widths.value
    bits = np.zeros(widths.pointer + q.size * rec, dtype=np.uint8)
    place(bits, [0], [q.size], widths.pointer)
    off = widths.pointer + np.arange(q.size) * rec
    place(bits, off, runs, widths.run)
    place(bits, off + widths.run, flat[q], widths.value)
    return Encoded(NAME, tile.shape, widths, bits)


def pair_counts(masks: np.ndarray, run_bits: int) -> np.ndarray:
    """Pairs per tile, from masks only: one per non-zero plus one per ``2^run`` gap zeros."""
    masks = as_mask_batch(masks)
    flat = _flatten(masks)
    span = 1 << run_bits
    tile, pos = _nonzero(flat)
    prev = np.full_like(pos, -1)
    if pos.size > 1:
        prev[1:] = np.where(tile[1:] == tile[:-1], pos[:-1], -1)
    per = 1 + (pos - prev - 1) // span
    return np.bincount(tile, weights=per, minlength=masks.shape[0]).astype(np.int64)


def size_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    return widths.pointer + pair_counts(masks, widths.run) * (widths.run + widths.value)


def need_bits(masks: np.ndarray, widths: Widths) -> np.ndarray:
    """(T, V) bits read before vector j is out: the pairs at positions before the vector's
    last element, plus one (the pair at or after it, look-ahead), at most every pair.

    Counted without listing the explicit zeros: pairs before position X are the non-zeros
    before X, the explicit zeros of every gap that ends before X, and those of the gap
    around X that fall before it (``min(extras, (X − 1 − prev) // 2^run)``)."""
    masks = as_mask_batch(masks)
    t, lanes, vectors = masks.shape
    span = 1 << widths.run
    flat = _flatten(masks)
    tile, pos = _nonzero(flat)
    nnz = np.bincount(tile, minlength=t).astype(np.int64)
    start = np.cumsum(nnz) - nnz  # index of each tile's first non-zero
    prev = np.full(pos.shape, -1, np.int64)
    if pos.size > 1:
        prev[1:] = np.where(tile[1:] == tile[:-1], pos[:-1], -1)
    extras = (pos - prev - 1) // span  # explicit zeros in the gap before each non-zero
    cum = np.concatenate([[0], np.cumsum(extras)])  # explicit zeros before non-zero i
    total = nnz + cum[start + nnz] - cum[start]
    x = (np.arange(vectors, dtype=np.int64) + 1) * lanes - 1  # last position of vector j
    # Non-zeros before x: through vector j, less the one at x itself.
    through = masks.sum(axis=1, dtype=np.int64).cumsum(axis=1)
    c = through - flat[:, x]
    nxt = start[:, None] + c  # the first non-zero at or after x (when c < nnz)
    inside = c < nnz[:, None]
    at = np.where(inside, nxt, 0)
    if pos.size:
        partial = np.minimum(extras[at], (x[None, :] - 1 - prev[at]) // span)
    else:
        partial = np.zeros(c.shape, np.int64)
    explicit = cum[np.minimum(nxt, pos.size)] - cum[start][:, None] + np.where(inside, partial, 0)
    pairs = np.minimum(c + explicit + 1, total[:, None])
    return widths.pointer + pairs * (widths.run + widths.value)


class Parser(VectorParser):
    def __init__(self, widths: Widths, label: str) -> None:
        super().__init__(widths, label)
        self.count: int | None = None
        self.pair = 0
        self.cursor = 0  # next undecoded position
        self.pending: tuple[int, int] | None = None  # a read value that belongs later

    def next_vector(self, reader: TileReader) -> np.ndarray:
        w = self.w
        n = w.lanes * w.vectors
        count = self.count
        if count is None:
            count = reader.uint(0, w.pointer, "count")
            if count > n:
                raise self.fail(f"count {count} is past the end of the tile (at most {n} pairs)")
        pair, cursor, pending = self.pair, self.cursor, self.pending
        start, end = self.j * w.lanes, (self.j + 1) * w.lanes
        out = np.zeros(w.lanes, dtype=np.int64)
        if pending is not None and pending[0] < end:
            out[pending[0] - start] = pending[1]
            pending = None
        rec = w.run + w.value
        while pending is None and cursor < end and pair < count:
            run, val = (
                int(x[0])
                for x in reader.records(
                    w.pointer + pair * rec, 1, (w.run, w.value), True, f"pair {pair}"
                )
            )
            q = cursor + run
            if q >= n:
                raise self.fail(
                    f"pair {pair} (run {run}) is past the end of the tile (position {q} of {n})"
                )
            pair, cursor = pair + 1, q + 1
            if q < end:
                out[q - start] = val
            else:
                pending = (q, val)
        self.count, self.pair, self.cursor, self.pending = count, pair, cursor, pending
        self.pos = w.pointer + pair * rec
        self.j += 1
        return out

    def finish(self, reader: TileReader) -> None:
        if self.count is not None and self.pair < self.count:
            raise self.fail(f"{self.count - self.pair} pairs are past the end of the tile")
        super().finish(reader)
