"""The compiler's GLB image: a pruned int8 layer as the compressed tiles the array consumes.

:func:`compile_layer` cuts W into array tiles (:class:`~sod.compiler.plan.TileGrid`),
encodes each in the chosen format (or dense when compression does not pay), aligns every
tile to the GLB read width, and returns the byte image with a small JSON manifest
(geometry, widths, per-tile format, offset, exact size and CRC-32). :func:`read_image`
checks a manifest against an image before anything is decoded; corrupt data raises
:class:`~sod.formats.FormatError` naming the tile and the fault.

:func:`fast_tiles` gives the same per-tile formats and sizes from the non-zero mask alone,
vectorized (the path the analytic models and the benchmarks use).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sod.compiler.plan import BlockCounts, TileGrid, block_counts, check_dataflow, fiber_counts
from sod.compiler.reorder import Reorder, weight_reorder
from sod.formats import (
    FORMATS,
    FormatError,
    FormatSpec,
    Widths,
    decode_with,
    encode,
    format_module,
    need_bits,
    parser,
    resolve_widths,
    size_bits,
    widths_for_shape,
)
from sod.formats.bits import pack, unpack

try:  # the compiled CSC lag pass (optional build; _fiber_tiles' numpy steps are its twin)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - a build without a C compiler
    _NATIVE = None  # type: ignore[assignment]

MANIFEST_VERSION = 1


class CompileOptions(BaseModel):
    """How to lay a layer out in the GLB."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field("csc", description="compressed format of the weight tiles")
    spec: FormatSpec = FormatSpec()
    dense_fallback: bool = Field(True, description="store a tile dense when that is smaller")
    read_width_bits: int = Field(
        64, gt=0, le=4096, multiple_of=8, description="GLB read width; every tile starts on a word"
    )
    reorder: Literal["none", "sort"] = Field(
        "none",
        description="permute W's rows and columns so that zero tiles appear "
        "(sod.compiler.reorder); the permutations are recorded in the manifest",
    )

    @field_validator("format")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.lower() not in FORMATS:
            raise ValueError(f"unknown format {value!r}; choose from: {', '.join(FORMATS)}")
        return value.lower()


def make_options(**fields: Any) -> CompileOptions:
    """CompileOptions with a one-line FormatError on a bad field."""
    try:
        return CompileOptions(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FormatError(f"compile option {where!r}: {first['msg']}") from None


def layer_widths(grid: TileGrid, options: CompileOptions) -> Widths:
    return resolve_widths(options.spec, *grid.full_shape)


@dataclass(frozen=True, eq=False)
class FastTiles:
    """Per tile (image order): format chosen, exact size, and per-vector need bits."""

    formats: list[str]  # names indexed by ``format_index``
    format_index: np.ndarray  # (T,) int
    size_bits: np.ndarray  # (T,) int64
    need_bits: np.ndarray  # (T, Vmax) int64, valid up to ``vectors``
    vectors: np.ndarray  # (T,) vectors of each stream tile
    pad_before: np.ndarray  # (T,) zero vectors the array takes first (WS k edges)
    # (T,) max_j(ceil(need_j / B) − 1 − j) for B = ``lag_read_bits``, the decompressor
    # lag of each tile (with_need="lag": need_bits then left zero); None: not taken
    lags: np.ndarray | None = None
    lag_read_bits: int = 0

    @property
    def total_bits(self) -> int:
        return int(self.size_bits.sum())

    def image_bits(self, read_width_bits: int) -> int:
        """Bits the image occupies with every tile aligned to the read width."""
        return int((-(-self.size_bits // read_width_bits)).sum() * read_width_bits)


def tile_lags(need: np.ndarray, read_width_bits: int, in_place: bool = False) -> np.ndarray:
    """(T,): ``max_j(ceil(need_j / B) − 1 − j)`` of every tile's need bits (T, V), the
    most its vectors lag one per cycle behind the words they need
    (:mod:`sod.models.decompressor`). Needs past a tile's vectors must be zero: ``−1 − j``
    there is below the last vector's ``≥ −1 − (V−1)``. ``in_place``: ``need`` is
    scratch."""
    b = read_width_bits
    t, vmax = need.shape
    if not vmax:
        return np.zeros(t, np.int64)
    lag = need if in_place else need.copy()
    lag += b - 1
    if b & (b - 1) == 0:  # a power of two: ceil by shifting
        lag >>= b.bit_length() - 1
    else:
        lag //= b
    lag -= np.arange(1, vmax + 1, dtype=lag.dtype)
    return lag.max(axis=1).astype(np.int64)


def fast_tiles(
    mask: np.ndarray,
    grid: TileGrid,
    options: CompileOptions,
    with_need: bool | Literal["lag"] = True,
    counts: BlockCounts | None = None,
) -> FastTiles:
    """Formats and exact sizes of every tile from the k × n non-zero mask (no encoding).

    ``with_need=False`` skips the per-vector need bits (left zero), which only the
    decompressor timing uses; sizes alone are several times faster (RLE most).
    ``with_need="lag"``: the need bits only as each tile's :func:`tile_lags` for
    ``options.read_width_bits`` (all the stream timing reads), need bits left zero.
    ``counts``: the mask's :func:`~sod.compiler.plan.block_counts` on this grid, if at
    hand (CSC and dense are measured from them alone; ``mask`` is then not read).
    """
    if options.format in _FIBER_FORMATS:
        if counts is None:  # only the half this dataflow's vectors are made of
            along_rows = grid.dataflow != "is"
            counts = block_counts(mask, grid.rows, grid.cols, along_rows, not along_rows)
        return _fiber_tiles(counts, grid, options, with_need)
    if with_need == "lag":
        measured = fast_tiles(mask, grid, options, True, counts)
        lags = tile_lags(measured.need_bits, options.read_width_bits, in_place=True)
        measured.need_bits[...] = 0
        return replace(measured, lags=lags, lag_read_bits=options.read_width_bits)
    widths = layer_widths(grid, options)
    blocked = grid.blocked(np.asarray(mask, dtype=bool))
    t = grid.count
    vmax = grid.full_shape[1]
    fmt_idx = np.zeros(t, np.int64)
    sizes = np.zeros(t, np.int64)
    need = np.zeros((t, vmax), np.int64)
    vectors = np.zeros(t, np.int64)
    for all_tiles, kr, nc in grid.shape_classes():
        # Tiles are independent: measure them in chunks of about _CHUNK_ELEMENTS mask
        # entries (block_masks copies its tiles; a whole large FC layer would be 100 MB).
        per = max(1, _CHUNK_ELEMENTS // (kr * nc))
        for lo in range(0, all_tiles.size, per):
            tiles = all_tiles[lo : lo + per]
            masks = grid.block_masks(blocked, tiles, kr, nc)
            _measure_tiles(masks, tiles, widths, options, bool(with_need), fmt_idx, sizes, need)
            vectors[tiles] = masks.shape[2]
    return FastTiles([options.format, "dense"], fmt_idx, sizes, need, vectors, grid.pads)


#: Formats whose need bits depend only on each vector's non-zero count (CSC: a pointer
#: and one record per non-zero of the vector's fiber; dense: nothing).
_FIBER_FORMATS = ("csc", "dense")


def _csc_lags_native(
    fibers: np.ndarray,
    grid: TileGrid,
    options: CompileOptions,
    w: Widths,
    lanes: np.ndarray,
    vectors: np.ndarray,
) -> FastTiles:
    """:func:`_fiber_tiles` of a CSC layer with lags only, in one compiled pass over the
    fiber counts (``sod._native.bc_csc_lags``; the numpy steps of :func:`_fiber_tiles`
    are its twin): the need bits are never stored."""
    assert _NATIVE is not None
    t, vmax = fibers.shape
    sizes = np.empty(t, np.int64)
    use_dense = np.empty(t, np.uint8)
    lags = np.empty(t, np.int64)
    _NATIVE.bc_csc_lags(
        np.ascontiguousarray(fibers),
        t,
        vmax,
        np.ascontiguousarray(lanes),
        np.ascontiguousarray(vectors),
        w.lane_index + w.value,
        w.pointer,
        w.value,
        options.read_width_bits,
        options.dense_fallback,
        sizes,
        use_dense,
        lags,
    )
    return FastTiles(
        [options.format, "dense"],
        use_dense.astype(np.int64),
        sizes,
        np.zeros((t, vmax), np.int64),
        vectors,
        grid.pads,
        lags,
        options.read_width_bits,
    )


def _fiber_tiles(
    counts: BlockCounts,
    grid: TileGrid,
    options: CompileOptions,
    with_need: bool | str,
    native: bool = True,
) -> FastTiles:
    """:func:`fast_tiles` of a CSC or dense layer from its per-vector non-zero counts
    (as :func:`sod.formats.csc.need_bits`, :func:`sod.formats.dense.need_bits` and
    :func:`_measure_tiles` give them, without cutting the mask into tiles). ``native``
    False: the numpy steps even when the compiled CSC lag pass is built (tests)."""
    w = layer_widths(grid, options)
    lanes, vectors = (x.astype(np.int64) for x in grid.tile_shapes)
    vmax = grid.full_shape[1]
    lag_only = with_need == "lag"
    if lag_only and options.format == "csc" and native and _NATIVE is not None and vmax:
        fibers = fiber_counts(grid, counts)
        if fibers.dtype == np.uint8:  # counts of at most 255 lanes: the compiled pass
            return _csc_lags_native(fibers, grid, options, w, lanes, vectors)
    # Lags alone are scratch: int32 when every need (plus a word) fits, half the traffic.
    top = vmax * (w.pointer + grid.full_shape[0] * (w.lane_index + w.value)) + (1 << 12)
    dtype = np.int32 if lag_only and top < 1 << 31 else np.int64
    step = np.arange(1, vmax + 1, dtype=dtype)  # vectors through j
    dense_size = lanes * vectors * w.value
    fmt_idx = np.zeros(grid.count, np.int64)
    if options.format == "dense":
        sizes, use_dense = dense_size, fmt_idx.astype(bool)
        need = step * (lanes[:, None] * w.value).astype(dtype) if with_need else None
    else:
        # CSC: vector j ends after j+1 pointers and every record of fibers 0 … j.
        need = np.cumsum(fiber_counts(grid, counts), axis=1, dtype=dtype)
        need *= w.lane_index + w.value
        need += step * w.pointer
        sizes = need[np.arange(grid.count), vectors - 1].astype(np.int64)
        use_dense = np.zeros(grid.count, bool)
        if options.dense_fallback:
            use_dense = dense_size <= sizes
            sizes = np.where(use_dense, dense_size, sizes)
        fmt_idx = use_dense.astype(np.int64)
    lags = None
    if need is None or not with_need:
        need = np.zeros((grid.count, vmax), np.int64)
    else:
        if use_dense.any():
            rows = np.flatnonzero(use_dense)
            need[rows] = step * (lanes[rows, None] * w.value).astype(dtype)
        edge = np.flatnonzero(vectors < vmax)  # the k (or n) edge: zero past their
        if edge.size:  # vectors, as measured tile by tile (one edge length per grid)
            need[edge, int(vectors[edge[0]]) :] = 0
        if lag_only:
            lags = tile_lags(need, options.read_width_bits, in_place=True)
            need = np.zeros((grid.count, vmax), np.int64)
    return FastTiles(
        [options.format, "dense"],
        fmt_idx,
        sizes.astype(np.int64),
        need,
        vectors,
        grid.pads,
        lags,
        options.read_width_bits if lags is not None else 0,
    )


#: Mask entries measured at once by :func:`fast_tiles` (bounds its scratch memory).
_CHUNK_ELEMENTS = 1 << 22


def _measure_tiles(
    masks: np.ndarray,
    tiles: np.ndarray,
    widths: Widths,
    options: CompileOptions,
    with_need: bool,
    fmt_idx: np.ndarray,
    sizes: np.ndarray,
    need: np.ndarray,
) -> None:
    """Formats, sizes and need bits of the stream tiles ``masks`` (t, lanes, vectors),
    written at ``tiles`` of the output arrays."""
    w = widths_for_shape(widths, masks.shape[1], masks.shape[2])
    size = size_bits(masks, options.format, w)
    use_dense = np.zeros(size.shape, bool)
    if options.dense_fallback and options.format != "dense":
        dense_size = size_bits(masks, "dense", w)
        use_dense = dense_size <= size
        size = np.where(use_dense, dense_size, size)
        fmt_idx[tiles] = use_dense
    sizes[tiles] = size
    if with_need:
        nd = need_bits(masks, options.format, w)
        if use_dense.any():
            nd = np.where(use_dense[:, None], need_bits(masks, "dense", w), nd)
        need[tiles, : masks.shape[2]] = nd


@dataclass(frozen=True, eq=False)
class GlbImage:
    """A compiled layer: the GLB bytes and the manifest that describes them."""

    data: bytes
    manifest: dict[str, Any]

    @property
    def grid(self) -> TileGrid:
        mf = self.manifest
        return TileGrid(mf["k"], mf["n"], mf["rows"], mf["cols"], mf["dataflow"])

    @property
    def widths(self) -> Widths:
        return Widths.from_json(self.manifest["widths"])

    @property
    def read_width_bits(self) -> int:
        return int(self.manifest["read_width_bits"])

    def tile_format(self, i: int) -> str:
        tiles = self.manifest["tiles"]
        return tiles["formats"][tiles["format"][i]]

    def tile_widths(self, i: int) -> Widths:
        kb, nb = self.grid.order[i]
        lanes, vectors = self.grid.stream_shape(kb, nb)
        return widths_for_shape(self.widths, int(lanes), int(vectors))

    def tile_bits(self, i: int) -> np.ndarray:
        tiles = self.manifest["tiles"]
        off = tiles["offset_bytes"][i]
        size = tiles["size_bits"][i]
        return unpack(self.data[off : off + -(-size // 8)], size)

    def decode_tile(self, i: int) -> np.ndarray:
        """Stream tile ``i`` (lanes × vectors)."""
        bits = self.tile_bits(i)
        return decode_with(
            parser(self.tile_format(i), self.tile_widths(i), f"tile {i}"),
            bits,
            int(self.manifest["tiles"]["size_bits"][i]),
        )

    @property
    def reorder(self) -> Reorder | None:
        """The row and column permutations the image was laid out in (None: natural order)."""
        mf = self.manifest
        if "row_perm" not in mf:
            return None
        return Reorder(np.asarray(mf["row_perm"], np.int64), np.asarray(mf["col_perm"], np.int64))

    def decode_weights(self) -> np.ndarray:
        """W (k × n, int8) rebuilt from the image, tile by tile, in its original order."""
        w = self._decode_stored()
        perm = self.reorder
        return w if perm is None else perm.restore(w)

    def _decode_stored(self) -> np.ndarray:
        """W as laid out in the image (reordered when the manifest says so)."""
        grid = self.grid
        w = np.zeros((grid.k, grid.n), np.int64)
        for i, (kb, nb) in enumerate(grid.order):
            block = grid.unorient(self.decode_tile(i))
            w[
                kb * grid.rows : kb * grid.rows + block.shape[0],
                nb * grid.cols : nb * grid.cols + block.shape[1],
            ] = block
        return w.astype(np.int8) if self.widths.value <= 8 else w

    def write(self, out: str | Path) -> tuple[Path, Path]:
        """Write ``<out>.bin`` and ``<out>.json`` (a ``.bin`` suffix on ``out`` is kept)."""
        out = Path(out)
        bin_path = out if out.suffix == ".bin" else out.with_name(out.name + ".bin")
        json_path = bin_path.with_suffix(".json")
        bin_path.parent.mkdir(parents=True, exist_ok=True)
        bin_path.write_bytes(self.data)
        json_path.write_text(json.dumps(self.manifest, separators=(",", ":")))
        return bin_path, json_path


def compile_layer(
    weights: np.ndarray,
    rows: int,
    cols: int,
    dataflow: str = "ws",
    options: CompileOptions | None = None,
    name: str = "layer",
) -> GlbImage:
    """Lay a pruned integer layer ``W`` (k × n) out in the GLB for an ``rows × cols`` array."""
    options = options or CompileOptions()
    w = np.asarray(weights)
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.integer):
        raise FormatError(
            f"layer {name!r}: weights must be a 2-D integer array, got {w.dtype} {w.shape}"
        )
    grid = TileGrid(int(w.shape[0]), int(w.shape[1]), rows, cols, check_dataflow(dataflow))
    perm = None
    if options.reorder != "none":
        perm = weight_reorder(w != 0, rows, cols, grid.dataflow, options.reorder)
        w = perm.apply(w)
    widths = layer_widths(grid, options)
    width = options.read_width_bits
    blocked = grid.blocked(w)
    chunks, fmt_idx, sizes, offsets, crcs = [], [], [], [], []
    offset = 0
    order = grid.order
    for i, (kb, nb) in enumerate(order):
        kr, nc = grid.block_extent(kb, nb)
        tile = grid.orient(blocked[kb, nb, :kr, :nc])
        tw = widths_for_shape(widths, *tile.shape)
        try:
            enc = encode(tile, options.format, tw)
            if (
                options.dense_fallback
                and options.format != "dense"
                and tile.size * tw.value <= enc.size_bits
            ):
                enc = encode(tile, "dense", tw)
        except FormatError as err:
            raise FormatError(f"layer {name!r} tile {i}: {err}") from None
        slot = -(-enc.size_bits // width) * width
        bits = np.zeros(slot, np.uint8)
        bits[: enc.size_bits] = enc.bits
        data = pack(bits)
        chunks.append(data)
        fmt_idx.append(0 if enc.format == options.format else 1)
        sizes.append(enc.size_bits)
        offsets.append(offset)
        crcs.append(zlib.crc32(data))
        offset += len(data)
    image = b"".join(chunks)
    manifest = {
        "format_version": MANIFEST_VERSION,
        "name": name,
        "k": grid.k,
        "n": grid.n,
        "rows": rows,
        "cols": cols,
        "dataflow": grid.dataflow,
        "format": options.format,
        "dense_fallback": options.dense_fallback,
        "read_width_bits": width,
        "spec": options.spec.model_dump(),
        "widths": widths.to_json(),
        "tile_count": grid.count,
        "image_bytes": len(image),
        "payload_bits": int(sum(sizes)),
        "dense_bits": grid.k * grid.n * widths.value,
        "tiles": {
            "formats": [options.format, "dense"],
            "format": fmt_idx,
            "offset_bytes": offsets,
            "size_bits": sizes,
            "crc32": crcs,
        },
    }
    if perm is not None:
        manifest["reorder"] = options.reorder
        manifest["row_perm"] = perm.rows.tolist()
        manifest["col_perm"] = perm.cols.tolist()
    return GlbImage(image, manifest)


def _check_perms(manifest: dict[str, Any]) -> None:
    """Optional ``row_perm`` / ``col_perm`` (a reordered image): both, permutations of k and n."""
    have = [key in manifest for key in ("row_perm", "col_perm")]
    if not any(have):
        return
    if not all(have):
        raise FormatError("manifest: row_perm and col_perm must be given together")
    for key, size in (("row_perm", manifest["k"]), ("col_perm", manifest["n"])):
        perm = manifest[key]
        if (
            not isinstance(perm, list)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in perm)
            or sorted(perm) != list(range(size))
        ):
            raise FormatError(f"manifest: {key} must be a permutation of 0..{size - 1}")


_REQUIRED = {
    "format_version": int,
    "name": str,
    "k": int,
    "n": int,
    "rows": int,
    "cols": int,
    "dataflow": str,
    "format": str,
    "read_width_bits": int,
    "widths": dict,
    "tile_count": int,
    "image_bytes": int,
    "tiles": dict,
}
_TILE_FIELDS = ("format", "offset_bytes", "size_bits", "crc32")


def check_image(data: bytes, manifest: dict[str, Any]) -> GlbImage:
    """Validate a manifest against its image; return the :class:`GlbImage`."""
    if not isinstance(manifest, dict):
        raise FormatError("manifest: expected a JSON object")
    for key, typ in _REQUIRED.items():
        if key not in manifest:
            raise FormatError(f"manifest: missing field {key!r}")
        if not isinstance(manifest[key], typ) or (isinstance(manifest[key], bool) and typ is int):
            raise FormatError(f"manifest: field {key!r} must be {typ.__name__}")
    if manifest["format_version"] != MANIFEST_VERSION:
        raise FormatError(f"manifest: unsupported format_version {manifest['format_version']}")
    grid = TileGrid(
        manifest["k"], manifest["n"], manifest["rows"], manifest["cols"], manifest["dataflow"]
    )
    _check_perms(manifest)
    width = manifest["read_width_bits"]
    if width <= 0 or width % 8:
        raise FormatError(f"manifest: read_width_bits {width} is not a positive multiple of 8")
    widths = Widths.from_json(manifest["widths"])
    if (widths.lanes, widths.vectors) != grid.full_shape:
        raise FormatError(
            f"manifest disagrees with its geometry: widths are for "
            f"{widths.lanes}x{widths.vectors} tiles, the grid has "
            f"{grid.full_shape[0]}x{grid.full_shape[1]}"
        )
    tiles = manifest["tiles"]
    formats = tiles.get("formats")
    if not isinstance(formats, list) or not formats:
        raise FormatError("manifest: tiles.formats must be a non-empty list")
    for f in formats:
        format_module(f)
    cols = {}
    for field in _TILE_FIELDS:
        col = tiles.get(field)
        if (
            not isinstance(col, list)
            or len(col) != grid.count
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in col)
        ):
            raise FormatError(
                f"manifest: tiles.{field} must list {grid.count} integers "
                f"(one per tile of the {grid.k}x{grid.n} layer)"
            )
        cols[field] = np.asarray(col, dtype=np.int64)
    if manifest["tile_count"] != grid.count:
        raise FormatError(
            f"manifest: tile_count {manifest['tile_count']} but the layer has {grid.count} tiles"
        )
    bad = np.flatnonzero((cols["format"] < 0) | (cols["format"] >= len(formats)))
    if bad.size:
        raise FormatError(f"manifest: tile {bad[0]} has format index {cols['format'][bad[0]]}")
    if (cols["size_bits"] <= 0).any():
        i = int(np.flatnonzero(cols["size_bits"] <= 0)[0])
        raise FormatError(f"manifest: tile {i} has size {cols['size_bits'][i]} bits")
    slots = -(-cols["size_bits"] // width) * width // 8
    expect = np.concatenate([[0], np.cumsum(slots)[:-1]])
    wrong = np.flatnonzero(cols["offset_bytes"] != expect)
    if wrong.size:
        i = int(wrong[0])
        raise FormatError(
            f"manifest disagrees with the image: tile {i} at byte "
            f"{cols['offset_bytes'][i]}, its predecessors end at {expect[i]}"
        )
    total = int(slots.sum())
    if manifest["image_bytes"] != total or len(data) != total:
        raise FormatError(
            f"manifest disagrees with the image: tiles need {total} bytes, "
            f"manifest says {manifest['image_bytes']}, image has {len(data)}"
        )
    for i in range(grid.count):
        off = int(cols["offset_bytes"][i])
        if zlib.crc32(data[off : off + int(slots[i])]) != int(cols["crc32"][i]):
            raise FormatError(
                f"manifest disagrees with the image: tile {i} "
                f"({formats[cols['format'][i]]}) fails its CRC-32 check"
            )
    return GlbImage(bytes(data), manifest)


def read_image(path: str | Path) -> GlbImage:
    """Read ``<path>.bin`` + ``<path>.json`` (as written by :meth:`GlbImage.write`)."""
    path = Path(path)
    bin_path = path if path.suffix == ".bin" else path.with_name(path.name + ".bin")
    json_path = bin_path.with_suffix(".json")
    try:
        data = bin_path.read_bytes()
        manifest = json.loads(json_path.read_text())
    except OSError as err:
        raise FormatError(f"cannot read GLB image {err.filename}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise FormatError(f"{json_path}: manifest is not valid JSON ({err.msg})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{json_path}: manifest is not UTF-8 text") from None
    return check_image(data, manifest)
