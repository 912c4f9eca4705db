"""Analytic throughput model of the decompression unit (pure, vectorized numpy).

It reproduces :mod:`sod.reference.decompressor` exactly. With ``B`` = GLB read width in bits,
word ``c`` is read in cycle ``c``, so a vector whose data ends at stream bit ``N`` (its
*need*, from :func:`sod.formats.need_bits`, offset by its tile's first word) is available in
cycle ``a = ceil(N / B) − 1``. The unit emits at most one vector per cycle, in order:
``e_j = max(e_{j−1} + 1, a_j)``, i.e. ``e_j = j + max(0, max_{i≤j}(a_i − i))``.
The array asks for one vector per cycle, so every cycle with ``e_j > j`` is a stall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.compiler.image import CompileOptions, FastTiles, fast_tiles, tile_lags
from sod.compiler.plan import TileGrid
from sod.formats import Widths, need_bits
from sod.models.dense import evaluate_dense

#: Vector needs :func:`emit_cycles` times at once (bounds its scratch memory).
_CHUNK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class DecompressorTiming:
    """Emission cycles of a vector stream (or a batch of streams)."""

    emit_cycles: np.ndarray  # (..., V) cycle at which each vector is emitted
    cycles: np.ndarray  # (...) cycles until the last vector is out (= e_last + 1)
    stall_cycles: np.ndarray  # (...) cycles − vectors: cycles the array waits


def emit_cycles(stream_need_bits: np.ndarray, read_width_bits: int) -> DecompressorTiming:
    """Timing of a stream from the cumulative bits each vector needs (last axis = vectors).

    ``stream_need_bits[..., j]`` counts bits from the first word of the stream (tiles are
    word-aligned, so add ``B × first word`` of each tile to its local needs).
    """
    need = np.asarray(stream_need_bits, dtype=np.int64)
    if need.ndim == 2 and need.size > _CHUNK_ELEMENTS:
        # Streams are independent: time them a block at a time (bounded scratch; a large
        # FC layer has 10^5 streams).
        emit = np.empty(need.shape, np.int64)
        step = max(1, _CHUNK_ELEMENTS // max(need.shape[1], 1))
        for lo in range(0, need.shape[0], step):
            emit[lo : lo + step] = _emit(need[lo : lo + step], read_width_bits)
    else:
        emit = _emit(need, read_width_bits)
    vectors = need.shape[-1]
    cycles = emit[..., -1] + 1 if vectors else np.zeros(need.shape[:-1], np.int64)
    return DecompressorTiming(emit, cycles, cycles - vectors)


def stream_cycles(
    stream_need_bits: np.ndarray, read_width_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(cycles, stall_cycles)`` of :func:`emit_cycles` for (S, V) streams, a block of
    streams at a time, without keeping every vector's emission cycle."""
    need = np.asarray(stream_need_bits, dtype=np.int64)
    s, v = need.shape
    cycles = np.zeros(s, np.int64)
    if v:
        step = max(1, _CHUNK_ELEMENTS // v)
        for lo in range(0, s, step):
            cycles[lo : lo + step] = _emit(need[lo : lo + step], read_width_bits)[:, -1] + 1
    return cycles, cycles - v


def _emit(need: np.ndarray, read_width_bits: int) -> np.ndarray:
    """Emission cycle of every vector (:func:`emit_cycles`)."""
    avail = -(-need // read_width_bits) - 1
    j = np.arange(need.shape[-1], dtype=np.int64)
    lag = np.maximum.accumulate(avail - j, axis=-1)
    return j + np.maximum(lag, 0)


def stream_need_bits(
    tile_need_bits: list[np.ndarray],
    tile_size_bits: np.ndarray,
    read_width_bits: int,
    pad_before: np.ndarray | None = None,
) -> np.ndarray:
    """Concatenate per-tile needs into one word-aligned stream (pad vectors need 0 bits)."""
    sizes = np.asarray(tile_size_bits, dtype=np.int64)
    words = -(-sizes // read_width_bits)
    first = np.concatenate([[0], np.cumsum(words)[:-1]]) * read_width_bits
    pads = np.zeros(sizes.size, np.int64) if pad_before is None else np.asarray(pad_before)
    parts = []
    for need, base, pad in zip(tile_need_bits, first, pads, strict=True):
        parts.append(np.zeros(int(pad), np.int64))
        parts.append(np.asarray(need, np.int64) + base)
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def tile_timing(
    masks: np.ndarray, fmt: str, widths: Widths, read_width_bits: int, pad_before: int = 0
) -> DecompressorTiming:
    """Each tile of a batch ``(T, L, V)`` decompressed alone, starting at cycle 0."""
    need = need_bits(masks, fmt, widths)
    if pad_before:
        need = np.concatenate([np.zeros((need.shape[0], pad_before), np.int64), need], axis=1)
    return emit_cycles(need, read_width_bits)


@dataclass(frozen=True)
class LayerTiming:
    """Cycles of one GEMM on a Sparse-on-Dense array (SCALE-Sim's counting convention)."""

    dense_cycles: int  # the same GEMM with W never late (= the dense model)
    fold_stall_cycles: np.ndarray  # (F,) cycles each fold waits for its W vectors
    stream_stall_cycles: np.ndarray  # (S,) stalls of each distinct W stream

    @property
    def stall_cycles(self) -> int:
        return int(self.fold_stall_cycles.sum())

    @property
    def cycles(self) -> int:
        return self.dense_cycles + self.stall_cycles


def stream_needs(tiles: FastTiles, grid: TileGrid, read_width_bits: int) -> np.ndarray:
    """(S, V): bits each vector of each W stream needs, from the per-tile fast path."""
    words = -(-tiles.size_bits // read_width_bits)
    if grid.dataflow == "ws":  # one tile per stream, its zero vectors first
        j = np.arange(grid.rows)
        t = tiles.need_bits.shape[0]
        out = np.empty((t, grid.rows), np.int64)
        step = max(1, _CHUNK_ELEMENTS // max(grid.rows, 1))  # streams at once
        for lo in range(0, t, step):
            src = j[None, :] - tiles.pad_before[lo : lo + step, None]
            need = tiles.need_bits[lo : lo + step]
            gathered = np.take_along_axis(need, np.clip(src, 0, None), axis=1)
            out[lo : lo + step] = np.where(src >= 0, gathered, 0)
        return out
    per = grid.k_blocks if grid.dataflow == "os" else grid.n_blocks
    s = grid.count // per
    w2 = words.reshape(s, per)
    base = (np.cumsum(w2, axis=1) - w2) * read_width_bits  # first bit of each tile
    need = tiles.need_bits.reshape(s, per, -1) + base[:, :, None]
    valid = np.arange(tiles.need_bits.shape[1])[None, :] < tiles.vectors[:per, None]
    return need[:, valid]  # every stream has the same tile shapes in the same order


def tile_stream_cycles(
    tiles: FastTiles, grid: TileGrid, read_width_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """``stream_cycles(stream_needs(tiles, grid, B), B)`` without building the streams'
    needs: ``(cycles, stall_cycles)`` of every W stream.

    Only the last emission cycle counts: ``V + max(0, max_j(a_j − j))`` (module
    docstring). A tile starts on a word, so a vector's ``a_j`` in its stream is its own
    (tile-local) one plus the words of the tiles before it; its stream index is its own
    plus the vectors before it. So each tile's ``max_j(a_j − j)`` is taken once, locally,
    and shifted (:func:`~sod.compiler.image.tile_lags`, or ``tiles.lags`` when taken for
    this read width). A WS tile's zero pad vectors need nothing (``a = −1``) and never
    lag."""
    b = read_width_bits
    if tiles.lags is not None and tiles.lag_read_bits == b:
        local = tiles.lags
    else:
        local = tile_lags(tiles.need_bits, b)
    if grid.dataflow == "ws":  # one tile per stream, after its pad vectors
        worst = local - tiles.pad_before
        vectors = grid.rows
    else:
        per = grid.k_blocks if grid.dataflow == "os" else grid.n_blocks
        words = (-(-tiles.size_bits // b)).reshape(-1, per)
        vec = tiles.vectors[:per]  # every stream has the same tile shapes in order
        before = (np.cumsum(words, axis=1) - words) - (np.cumsum(vec) - vec)
        worst = (local.reshape(-1, per) + before).max(axis=1)
        vectors = int(vec.sum())
    stalls = np.maximum(worst, 0).astype(np.int64)
    return stalls + vectors, stalls


def layer_timing(
    w_mask: np.ndarray,
    m: int,
    rows: int,
    cols: int,
    dataflow: str,
    options: CompileOptions | None = None,
) -> LayerTiming:
    """Analytic cycles of ``O = A[m×k] · W[k×n]`` with W compiled by ``options``."""
    options = options or CompileOptions()
    w_mask = np.asarray(w_mask, dtype=bool)
    grid = TileGrid(int(w_mask.shape[0]), int(w_mask.shape[1]), rows, cols, dataflow)
    tiles = fast_tiles(w_mask, grid, options)
    timing = emit_cycles(
        stream_needs(tiles, grid, options.read_width_bits), options.read_width_bits
    )
    dense = int(evaluate_dense(m, grid.k, grid.n, rows, cols, grid.dataflow).compute_cycles[0])
    stream_stalls = np.asarray(timing.stall_cycles, dtype=np.int64)
    return LayerTiming(dense, stream_stalls[grid.fold_streams(m)], stream_stalls)
