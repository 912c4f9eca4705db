"""The operand streams a systolic array's folds read, as stored and as decoded.

A stream is what one fold reads of W: a tile (WS), a column of tiles (OS) or a row of
tiles (IS), laid out by the compiler in the order the folds consume them
(:mod:`sod.compiler`). :func:`weight_streams` measures them (exact stored bits, non-zeros,
decode cycles); :func:`stream_tiles` measures activation stream tiles the same way when
activations are stored compressed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sod.arch.spec import Dataflow
from sod.compiler import CompileOptions, TileGrid, fast_tiles
from sod.compiler.plan import BlockCounts, block_counts
from sod.errors import ArchitectureError
from sod.formats import need_bits, resolve_widths
from sod.models.decompressor import emit_cycles, tile_stream_cycles
from sod.models.memo import memo_by_content
from sod.models.systolic_options import Layer, SystolicOptions

# Tiles are measured in batches of at most this many mask elements (bounds scratch memory).
_BATCH_ELEMENTS = 1 << 25


@dataclass(frozen=True)
class StreamTiles:
    """A batch of stream tiles measured in a given format."""

    size_bits: np.ndarray  # (T,) stored bits per tile
    dense_bits: np.ndarray  # (T,) bits of the same tile stored dense
    nnz: np.ndarray  # (T,) non-zeros per tile
    nonempty_vectors: np.ndarray  # (T,) vectors with at least one non-zero
    decode_cycles: np.ndarray  # (T,) cycles for a unit to emit every vector of the tile
    vectors: int
    lanes: int


def tiles_is(w: np.ndarray, rows: int) -> np.ndarray:
    """(G, k, n) masks cut into IS stream tiles (G·⌈k/R⌉, R, n), zero padded."""
    g, k, n = w.shape
    kt = -(-k // rows)
    pad = np.zeros((g, kt * rows, n), dtype=bool)
    pad[:, :k, :] = w
    return pad.reshape(g * kt, rows, n)


def stream_tiles(
    masks: np.ndarray, fmt: str, opts: SystolicOptions, width_vectors: int | None = None
) -> StreamTiles:
    """Sizes and decode cycles of a batch of stream tiles ``(T, L, V)`` in ``fmt``;
    ``width_vectors``: index and pointer widths sized for tiles of that many vectors
    (the part of a longer tile: batch as a repeat, docs/large-batch.md)."""
    t, lanes, vectors = masks.shape
    widths = resolve_widths(opts.spec, lanes, vectors)
    if width_vectors is not None and width_vectors != vectors:
        full = resolve_widths(opts.spec, lanes, width_vectors)
        widths = replace(full, vectors=vectors)
    read_bits = opts.unit_read_bits
    per = max(1, _BATCH_ELEMENTS // max(lanes * vectors, 1))
    sizes, dense_sizes, cycles = [], [], []
    for s in range(0, t, per):
        batch = masks[s : s + per]
        need = need_bits(batch, fmt, widths)
        size = need[:, -1] if vectors else np.zeros(len(batch), np.int64)
        dense_need = need_bits(batch, "dense", widths)
        dsize = dense_need[:, -1]
        if opts.dense_fallback and fmt != "dense":
            use_dense = dsize < size
            need = np.where(use_dense[:, None], dense_need, need)
            size = np.where(use_dense, dsize, size)
        cyc = emit_cycles(need, read_bits).cycles
        if opts.lanes is not None and opts.lanes < lanes:
            # A narrower unit needs ceil(L / lanes) cycles per vector.
            cyc = np.maximum(cyc, vectors * -(-lanes // opts.lanes))
        sizes.append(size)
        dense_sizes.append(dsize)
        cycles.append(cyc)
    return StreamTiles(
        np.concatenate(sizes).astype(np.int64),
        np.concatenate(dense_sizes).astype(np.int64),
        masks.sum(axis=(1, 2), dtype=np.int64),
        masks.any(axis=1).sum(axis=1, dtype=np.int64),
        np.concatenate(cycles).astype(np.int64),
        vectors,
        lanes,
    )


@dataclass(frozen=True)
class WeightStreams:
    """The W streams of one GEMM (all distinct groups), as the compiler lays them out.

    A stream is what one fold reads: a tile (WS) or a row/column of tiles (OS/IS), in the
    compiler's image order (:mod:`sod.compiler`); sizes are word-aligned bits.
    """

    size_bits: np.ndarray  # (S,) stored bits, every tile aligned to a GLB word
    dense_bits: np.ndarray  # (S,) the same stream stored dense (aligned)
    nnz: np.ndarray  # (S,) non-zeros
    nonempty: np.ndarray  # (S,) vectors with a non-zero
    vectors: np.ndarray  # (S,) vectors the array consumes
    lanes: np.ndarray  # (S,) lanes per vector (MACs per vector per activation row)
    elements: np.ndarray  # (S,) W elements covered
    decode_cycles: np.ndarray  # (S,) cycles for a unit to emit the stream, alone
    stall_cycles: np.ndarray  # (S,) decode cycles beyond one vector per cycle
    fold_stream: np.ndarray  # (F,) stream of each fold, SCALE-Sim fold order, group-major
    fold_group: np.ndarray  # (F,) group of each fold


def weight_streams(
    layer: Layer, opts: SystolicOptions, counts: list[BlockCounts] | None = None
) -> WeightStreams:
    """The W streams of every distinct group: measured from the masks on Sparse-on-Dense,
    full and never decoded on a dense array. ``counts``: each group's
    :func:`~sod.compiler.plan.block_counts` on this array, if at hand (the dataflow search
    counts once for every dataflow)."""
    if layer.masks is None:
        return _dense_streams(layer, opts)
    read_bits = opts.unit_read_bits
    if read_bits % 8 or read_bits > 4096:
        raise ArchitectureError(
            f"decompressor read width {read_bits} bits must be a multiple of 8 and <= 4096"
        )
    compile_options = CompileOptions(
        format=layer.w_format,
        spec=opts.spec,
        dense_fallback=opts.dense_fallback,
        read_width_bits=read_bits,
    )
    parts = []
    offset = 0
    along_rows = opts.dataflow is not Dataflow.IS  # the half of the counts it reads
    fiber = compile_options.format in _FIBER_FORMATS
    if counts is None and fiber:  # counted from packed bits (no pass over the bool masks)
        counts = layer.block_counts(opts.rows, opts.cols, along_rows, not along_rows)
    compile_json = compile_options.model_dump_json()
    masks = layer.masks
    for gi in range(masks.groups):
        c = counts[gi] if counts is not None else None
        line_counts = None if c is None else (c.row_counts if along_rows else c.col_counts)
        if fiber and line_counts is not None:
            # CSC and dense tiles are measured from the block counts alone: they are the
            # memo key, a small fraction of the mask's bytes (W is not hashed).
            fields_, count = _fiber_streams_memo(
                line_counts,
                layer.k,
                layer.n,
                layer.m,
                opts.rows,
                opts.cols,
                opts.dataflow.value,
                opts.spec.value_bits,
                compile_json,
            )
        else:
            fields_, count = _group_streams_memo(
                masks.weight[gi],  # read only here: a reordered W may be built on demand
                layer.m,
                opts.rows,
                opts.cols,
                opts.dataflow.value,
                opts.spec.value_bits,
                compile_json,
                line_counts,
            )
        part = dict(zip(_PART_FIELDS, fields_, strict=True))
        part["fold_stream"] = part["fold_stream"] + offset  # streams are numbered group-major
        part["fold_group"] = np.full(part["fold_stream"].size, gi)
        parts.append(part)
        offset += count
    fields = WeightStreams.__dataclass_fields__
    return WeightStreams(**{f: np.concatenate([p[f] for p in parts]) for f in fields})


_PART_FIELDS = tuple(f for f in WeightStreams.__dataclass_fields__ if f != "fold_group")
#: Formats whose tiles are measured from block counts alone (sod.compiler.image.fast_tiles).
_FIBER_FORMATS = ("csc", "dense")


@memo_by_content(max_bytes=64 << 20)
def _group_streams_memo(
    w: np.ndarray,
    m: int,
    rows: int,
    cols: int,
    dataflow: str,
    value_bits: int,
    compile_json: str,
    line_counts: np.ndarray | None = None,
) -> tuple[tuple[np.ndarray, ...], int]:
    """:func:`_group_streams` memoized by content: the paper's sections, its maps and the
    reordering variant meet the same layer on the same tile grid again and again.
    ``line_counts``: w's block row counts (WS/OS) or column counts (IS), if at hand."""
    shape = (int(w.shape[0]), int(w.shape[1]))
    return _streams_entry(w, shape, m, rows, cols, dataflow, value_bits, compile_json, line_counts)


@memo_by_content(max_bytes=64 << 20)
def _fiber_streams_memo(
    line_counts: np.ndarray,
    k: int,
    n: int,
    m: int,
    rows: int,
    cols: int,
    dataflow: str,
    value_bits: int,
    compile_json: str,
) -> tuple[tuple[np.ndarray, ...], int]:
    """:func:`_group_streams_memo` of a k × n W in a format measured from its block
    counts alone (:data:`_FIBER_FORMATS`), memoized by those counts (``line_counts``:
    the block row counts for WS/OS, the column counts for IS): they determine the
    result, and hashing them is a fraction of hashing W."""
    shape = (k, n)
    return _streams_entry(
        None, shape, m, rows, cols, dataflow, value_bits, compile_json, line_counts
    )


def _streams_entry(
    w: np.ndarray | None,
    shape: tuple[int, int],
    m: int,
    rows: int,
    cols: int,
    dataflow: str,
    value_bits: int,
    compile_json: str,
    line_counts: np.ndarray | None,
) -> tuple[tuple[np.ndarray, ...], int]:
    """A memo entry of :func:`_group_streams` (the memos' arguments are plain values)."""
    options = CompileOptions.model_validate_json(compile_json)
    part, count = _group_streams(
        w, shape, m, rows, cols, Dataflow(dataflow), value_bits, options, line_counts
    )
    return tuple(part[f] for f in _PART_FIELDS), count


def _group_streams(
    w: np.ndarray | None,
    shape: tuple[int, int],
    m: int,
    R: int,
    C: int,
    df: Dataflow,
    value_bits: int,
    compile_options: CompileOptions,
    line_counts: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """One group's streams from the compiler's fast path (exact sizes and timing), as
    :class:`WeightStreams` fields (``fold_group`` left out), and how many streams. ``w``
    (of ``shape``, k × n) may be None when ``line_counts`` are given and the format is
    measured from them alone (:data:`_FIBER_FORMATS`)."""
    read_bits = compile_options.read_width_bits
    k, n = shape
    grid = TileGrid(k, n, R, C, df.value)
    # One pass over the mask for formats and pattern alike: WS/OS vectors are the blocks'
    # rows, IS vectors their columns.
    along_rows = df is not Dataflow.IS
    if line_counts is None:
        assert w is not None
        counts = block_counts(w, R, C, row_counts=along_rows, col_counts=not along_rows)
    else:
        half = (line_counts, None) if along_rows else (None, line_counts)
        counts = BlockCounts(k, n, R, C, *half)
    if w is None:
        if compile_options.format not in _FIBER_FORMATS:
            raise ValueError(f"{compile_options.format} tiles are measured from the mask")
        w = np.zeros((0, 0), bool)  # not read: the counts measure these formats
    tiles = fast_tiles(w, grid, compile_options, with_need="lag", counts=counts)
    decode, stalls = tile_stream_cycles(tiles, grid, read_bits)
    part = _shape_fields(grid, counts.block_stats(), m)
    count = part["nnz"].size
    per = 1 if df is Dataflow.WS else (grid.k_blocks if df is Dataflow.OS else grid.n_blocks)
    words = -(-tiles.size_bits // read_bits) * read_bits
    # a stream's tiles are consecutive in image order: whole rows of a reshape
    part["size_bits"] = np.asarray(words, np.int64).reshape(count, per).sum(axis=1)
    part["dense_bits"] = _dense_stream_bits(grid, value_bits, read_bits)
    part["decode_cycles"] = decode
    part["stall_cycles"] = stalls
    return part, count


def _dense_streams(layer: Layer, opts: SystolicOptions) -> WeightStreams:
    """Streams of a dense array: full, stored dense, never skipped, never decoded."""
    R, C, df = opts.rows, opts.cols, opts.dataflow
    g, m, k, n = layer.groups, layer.m, layer.k, layer.n
    grid = TileGrid(k, n, R, C, df.value)
    kt, nt = grid.k_blocks, grid.n_blocks
    kr = np.minimum(R, k - np.arange(kt) * R)
    nc = np.minimum(C, n - np.arange(nt) * C)
    if df is Dataflow.WS:  # image order: nb outer, kb inner
        elements = np.outer(nc, kr).ravel()
        vectors, lanes = np.full(elements.size, R), np.repeat(nc, kt)
    elif df is Dataflow.OS:
        elements, vectors, lanes = nc * k, np.full(nt, k), nc
    else:
        elements, vectors, lanes = kr * n, np.full(kt, n), kr
    folds = grid.fold_streams(m)
    s = elements.size
    size = elements * opts.value_bits

    def tile(x: np.ndarray) -> np.ndarray:  # the same streams for every group
        return np.tile(np.asarray(x, np.int64), g)

    return WeightStreams(
        tile(size),
        tile(size),
        tile(elements),
        tile(vectors),
        tile(vectors),
        tile(lanes),
        tile(elements),
        np.zeros(s * g, np.int64),
        np.zeros(s * g, np.int64),
        np.concatenate([folds + i * s for i in range(g)]),
        np.repeat(np.arange(g), folds.size),
    )


def stream_shapes(
    layer: Layer, options: list[SystolicOptions], counts: list[BlockCounts] | None = None
) -> list[WeightStreams]:
    """Per option (dataflows of one array), the W streams' non-zero pattern only: what
    :func:`~sod.models.systolic_steps.fold_schedule` reads (non-zeros, non-empty vectors,
    fold order), so the exact compute cycles, from one pass over each mask for every
    dataflow; no format is measured: ``dense_bits`` is exact, the stored sizes are set to
    it (an upper bound when tiles fall back to dense) and decode cycles are left zero.
    The dataflow search uses it to leave out a dataflow whose compute cycles alone cannot
    beat the best total found. ``counts``: each group's
    :func:`~sod.compiler.plan.block_counts`, if at hand."""
    if layer.masks is None:
        return [_dense_streams(layer, o) for o in options]
    R, C = options[0].rows, options[0].cols
    if counts is None:
        stats = [_block_stats(w, R, C) for w in layer.masks.weight]
    else:
        stats = [c.block_stats() for c in counts]
    out = []
    for o in options:
        grid = TileGrid(layer.k, layer.n, R, C, o.dataflow.value)
        dense = _dense_stream_bits(grid, o.spec.value_bits, o.unit_read_bits)
        parts = [_shape_fields(grid, s, layer.m) for s in stats]
        offsets = np.cumsum([0] + [p["nnz"].size for p in parts])
        for gi, p in enumerate(parts):
            p["fold_group"] = np.full(p["fold_stream"].size, gi)
            p["fold_stream"] = p["fold_stream"] + offsets[gi]
            p["dense_bits"] = p["size_bits"] = dense
            p["decode_cycles"] = p["stall_cycles"] = np.zeros(dense.size, np.int64)
        fields = WeightStreams.__dataclass_fields__
        out.append(WeightStreams(**{f: np.concatenate([p[f] for p in parts]) for f in fields}))
    return out


def _dense_stream_bits(grid: TileGrid, value_bits: int, read_bits: int) -> np.ndarray:
    """(S,) bits of every stream stored dense, each tile aligned to a GLB word (as
    :func:`_group_streams` counts ``dense_bits``)."""
    lanes_t, vecs_t = grid.tile_shapes
    dense_t = -(-(lanes_t * vecs_t * value_bits) // read_bits) * read_bits
    df = Dataflow(grid.dataflow)
    per = 1 if df is Dataflow.WS else (grid.k_blocks if df is Dataflow.OS else grid.n_blocks)
    # a stream's tiles are consecutive in image order: whole rows of a reshape
    return np.asarray(dense_t, np.int64).reshape(grid.count // per, per).sum(axis=1)


def _block_stats(
    w: np.ndarray, R: int, C: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per R × C block (kb, nb) of a k × n mask: non-zeros, rows (k) with a non-zero and
    columns (n) with a non-zero."""
    return block_counts(w, R, C).block_stats()


def _shape_fields(
    grid: TileGrid, stats: tuple[np.ndarray, np.ndarray | None, np.ndarray | None], m: int
) -> dict[str, np.ndarray]:
    """The pattern fields of :class:`WeightStreams` for one group from its block stats
    (:meth:`~sod.compiler.plan.BlockCounts.block_stats`): for every dataflow in
    :func:`stream_shapes`, for the measured one in :func:`_group_streams`."""
    nnz_b, rows_b, cols_b = stats
    df = Dataflow(grid.dataflow)
    order = grid.order
    kr, nc = grid.extents
    _, vecs_t = grid.tile_shapes
    # image order is kb outer (IS) or nb outer: a block array raveled, or its transpose
    by_image = (lambda b: b.ravel()) if df is Dataflow.IS else (lambda b: b.T.ravel())
    nnz_t = by_image(nnz_b)
    per = 1 if df is Dataflow.WS else (grid.k_blocks if df is Dataflow.OS else grid.n_blocks)
    count = grid.count // per

    def stream_sum(x: np.ndarray) -> np.ndarray:
        # a stream's tiles are consecutive in image order: whole rows of a reshape
        return np.asarray(x, np.int64).reshape(count, per).sum(axis=1)

    if df is Dataflow.WS:
        assert rows_b is not None
        nonempty = by_image(rows_b)
        lanes = nc
    elif df is Dataflow.OS:  # stream = column block nb: vectors are the k rows
        assert rows_b is not None
        nonempty = rows_b.sum(axis=0)[order[:: grid.k_blocks, 1]]
        lanes = nc[:: grid.k_blocks]
    else:  # IS: stream = row block kb: vectors are the n columns
        assert cols_b is not None
        nonempty = cols_b.sum(axis=1)[order[:: grid.n_blocks, 0]]
        lanes = kr[:: grid.n_blocks]
    vectors = np.full(count, grid.rows) if df is Dataflow.WS else stream_sum(vecs_t)
    return {
        "nnz": stream_sum(nnz_t).astype(np.int64),
        "nonempty": np.asarray(nonempty, np.int64),
        "vectors": np.asarray(vectors, np.int64),
        "lanes": np.asarray(lanes, np.int64),
        "elements": stream_sum(kr * nc).astype(np.int64),
        "fold_stream": grid.fold_streams(m),
    }
