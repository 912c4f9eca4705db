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

from sod.formats import Widths, need_bits


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
    avail = -(-need // read_width_bits) - 1
    j = np.arange(need.shape[-1], dtype=np.int64)
    lag = np.maximum.accumulate(avail - j, axis=-1)
    emit = j + np.maximum(lag, 0)
    vectors = need.shape[-1]
    cycles = emit[..., -1] + 1 if vectors else np.zeros(need.shape[:-1], np.int64)
    return DecompressorTiming(emit, cycles, cycles - vectors)


def stream_need_bits(tile_need_bits: list[np.ndarray], tile_size_bits: np.ndarray,
                     read_width_bits: int, pad_before: np.ndarray | None = None) -> np.ndarray:
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


def tile_timing(masks: np.ndarray, fmt: str, widths: Widths, read_width_bits: int,
                pad_before: int = 0) -> DecompressorTiming:
    """Each tile of a batch ``(T, L, V)`` decompressed alone, starting at cycle 0."""
    need = need_bits(masks, fmt, widths)
    if pad_before:
        need = np.concatenate([np.zeros((need.shape[0], pad_before), np.int64), need], axis=1)
    return emit_cycles(need, read_width_bits)
