"""End to end, cycle by cycle: GLB image -> decompression units -> systolic array.

The W operand is never taken from the dense matrix: every vector the array multiplies
comes out of :class:`~sod.reference.decompressor.Decompressor` reading the compiled image at
the GLB read width, and arrives when the unit emits it (late vectors stall the array).
Activations A are dense and never late. One decompression unit feeds the array; it
starts reading a fold's W stream when the array starts consuming W (no prefetch across
folds), so every fold pays its own stalls — the analytic twin is
:func:`sod.models.decompressor.layer_timing`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.compiler import GlbImage
from sod.formats.bits import unpack
from sod.reference.decompressor import Decompressor, DecompressorTrace, TileDesc, words_from_bits
from sod.reference.systolic import ArrayError, ArrayResult, WFeed, run_array
from sod.reference.systolic_tpu import RunResult, run_array_tpu


@dataclass(frozen=True, eq=False)
class SodRun:
    array: ArrayResult | RunResult
    traces: list[DecompressorTrace]  # one per W stream

    @property
    def output(self) -> np.ndarray:
        return self.array.output

    @property
    def cycles(self) -> int:
        return self.array.cycles

    @property
    def stall_cycles(self) -> int:
        if isinstance(self.array, RunResult):
            return self.array.stall_cycles
        return self.array.total_stall_cycles


def stream_inputs(image: GlbImage, stream: np.ndarray) -> tuple[list[int], list[TileDesc]]:
    """GLB words and tile descriptors of one W stream (its tiles are contiguous)."""
    tiles = image.manifest["tiles"]
    width = image.read_width_bits
    descs = []
    for i in stream:
        kb, nb = image.grid.order[i]
        descs.append(
            TileDesc(
                image.tile_format(int(i)),
                image.tile_widths(int(i)),
                int(tiles["size_bits"][i]),
                int(image.grid.pad_before(kb, nb)),
                f"tile {int(i)}",
            )
        )
    first, last = int(stream[0]), int(stream[-1])
    start = tiles["offset_bytes"][first]
    end = tiles["offset_bytes"][last] + -(-tiles["size_bits"][last] // width) * width // 8
    return words_from_bits(unpack(image.data[start:end]), width), descs


def decompress_feed(image: GlbImage, m: int) -> tuple[WFeed, list[DecompressorTrace]]:
    """Run the decompressor over every W stream of the image: the array's W feed."""
    grid = image.grid
    lanes = grid.rows if grid.dataflow == "is" else grid.cols
    unit = Decompressor(lanes, image.read_width_bits)
    traces = [unit.run(*stream_inputs(image, s)) for s in grid.stream_tiles()]
    vectors = np.stack([t.vectors for t in traces])
    ready = np.stack([t.emit_cycles for t in traces])
    return WFeed(vectors, ready, grid.fold_streams(m)), traces


def run_layer(a: np.ndarray, image: GlbImage, timing: str = "scalesim") -> SodRun:
    """``O = A · W`` with W read from ``image`` through the decompressor, cycle by cycle,
    with SCALE-Sim's per-fold timing or the TPU timing (``timing``)."""
    a = np.asarray(a)
    grid = image.grid
    if a.ndim != 2 or a.shape[1] != grid.k:
        raise ArrayError(f"A of shape {a.shape} does not multiply the image's {grid.k}x{grid.n} W")
    feed, traces = decompress_feed(image, a.shape[0])
    if timing == "tpu":
        run = run_array_tpu(a, feed, grid.n, grid.rows, grid.cols, grid.dataflow)
        return SodRun(run, traces)
    if timing != "scalesim":
        raise ArrayError(f"unknown timing {timing!r}; choose from: tpu, scalesim")
    res = run_array(a, feed, grid.n, grid.rows, grid.cols, grid.dataflow)
    return SodRun(res, traces)
