"""SCNN's geometry: the convolution plane a GEMM becomes, which PE holds which part of it,
where a product lands and which accumulator bank that output hashes to.

* :func:`scnn_plane`: the convolution SCNN runs for one repeat of a GEMM. Non-convolution
  GEMMs (FC, attention) become a 1 × 1 convolution with k input and n output channels over
  a plane of the m rows, laid out ``ceil(m / ceil(√m)) × ceil(√m)``.
* :func:`im2col`, :func:`fold_im2col`, :func:`kernels_of`, :func:`plane_operands`: the
  GEMM operands (A m×k with k in (c, r, s) order, W k×n) as feature map and kernels;
  :func:`im2col_counts`: the column non-zeros of an im2col, without building it.
* :func:`pe_tiles`: planar tiling (PE (py, px) holds a ``ceil(H / pe_rows) × ceil(W /
  pe_cols)`` tile of every channel), or with :func:`by_channel` a contiguous slice of the
  input channels per PE (``fc_mapping="channels"``, FC planes only); PEs holding nothing
  are left out.
* :func:`output_coords`: the output (oy, ox) of input pixel (y, x) times kernel tap (r, s),
  and whether it is inside the plane and on-stride.
* :func:`bank_of`: accumulator bank = linear output address ``(k_local·OH + oy)·OW + ox``
  modulo the bank count.
* :func:`polyphase_plane`, :func:`polyphase_operands` (``stride_mapping="polyphase"``): a
  stride-``(sh, sw)`` convolution as ``sh·sw`` stride-1 convolutions, one per phase
  ``(p, q)``: input phase ``x[sh·j + p − pad_h, sw·i + q − pad_w]`` with kernel phase
  ``w[p + sh·r′, q + sw·s′]``, summed into the same outputs. The phases become input
  channels ``(c, p, q)`` of a stride-1, unpadded plane of ``OH + ⌈kh/sh⌉ − 1`` ×
  ``OW + ⌈kw/sw⌉ − 1`` pixels and ``⌈kh/sh⌉ × ⌈kw/sw⌉`` kernels, so SCNN's Cartesian
  product never forms an off-stride product. Phases with no kernel tap (``p ≥ kh``) and
  input pixels no output reads are dropped.

The analytic model (:mod:`sod.models.scnn`) uses all of these. The cycle-level reference
(:mod:`sod.reference.scnn`) shares only :class:`SCNNPlane` / :func:`scnn_plane` (the plane's
sizes and the FC layout, a convention both must agree on); it re-derives the rest in plain
loops from the definitions above (tiles and channel slices, output coordinates, bank hash,
kernel layout, the fold of im2col'd operands, the polyphase streams), so a bug in one of
them here fails the model-versus-reference tests instead of passing both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.errors import ArchitectureError, WorkloadError
from sod.workload.gemm import Gemm


@dataclass(frozen=True)
class SCNNPlane:
    """The convolution SCNN runs for one repeat of a GEMM."""

    batch: int
    channels: int
    in_h: int
    in_w: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    out_h: int = 1
    out_w: int = 1
    rows: int = 0  # GEMM rows m (non-conv planes hold fewer pixels than in_h·in_w)
    is_fc: bool = False  # a non-convolution GEMM mapped as a 1 × 1 convolution


def scnn_plane(gemm: Gemm) -> SCNNPlane:
    """The convolution geometry SCNN sees for ``gemm`` (see the module docstring)."""
    cv = gemm.conv
    if cv is not None:
        pixels = cv.out_h * cv.out_w
        if gemm.m % pixels:
            raise WorkloadError(
                f"layer {gemm.name!r}: m={gemm.m} is not a multiple of the "
                f"output plane {cv.out_h}x{cv.out_w}"
            )
        return SCNNPlane(
            gemm.m // pixels,
            cv.in_channels // cv.groups,
            cv.in_h,
            cv.in_w,
            gemm.n,
            cv.kernel_h,
            cv.kernel_w,
            cv.stride_h,
            cv.stride_w,
            cv.pad_h,
            cv.pad_w,
            cv.dilation_h,
            cv.dilation_w,
            cv.out_h,
            cv.out_w,
            gemm.m,
        )
    w = int(np.ceil(np.sqrt(gemm.m)))
    h = -(-gemm.m // w)
    return SCNNPlane(1, gemm.k, h, w, gemm.n, 1, 1, out_h=h, out_w=w, rows=gemm.m, is_fc=True)


def _axis_slices(
    o_n: int, i_n: int, stride: int, pad: int, dilation: int, tap: int
) -> tuple[slice, slice] | None:
    """Along one axis: the outputs whose kernel tap ``tap`` reads inside the input, and
    those inputs (None if there are none)."""
    off = tap * dilation - pad  # input coordinate of output 0
    lo = max(0, (stride - 1 - off) // stride)  # first output reading input ≥ 0
    hi = min(o_n - 1, (i_n - 1 - off) // stride)
    if hi < lo:
        return None
    return slice(lo, hi + 1), slice(off + lo * stride, off + hi * stride + 1, stride)


def _window_slices(pl: SCNNPlane, r: int, s: int) -> tuple[slice, slice, slice, slice] | None:
    """Output rows/cols whose kernel tap (r, s) reads inside the input, and those inputs."""
    ys = _axis_slices(pl.out_h, pl.in_h, pl.stride_h, pl.pad_h, pl.dilation_h, r)
    xs = _axis_slices(pl.out_w, pl.in_w, pl.stride_w, pl.pad_w, pl.dilation_w, s)
    if ys is None or xs is None:
        return None
    (oy, iy), (ox, ix) = ys, xs
    return oy, ox, iy, ix


#: Bytes of a channels-last feature map transposed at a time by :func:`fold_im2col`.
_TRANSPOSE_BAND_BYTES = 1 << 18


def fold_im2col(act: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Feature map (batch, C, H, W) from an im2col'd (m, k) operand: bool → OR of windows,
    numbers → the value read (consistent for a real im2col)."""
    # Built channels-last, the layout of A's rows (a tap's window is then a run of
    # pixels whose C entries are read together), and transposed at the end.
    fmap = np.zeros((pl.batch, pl.in_h, pl.in_w, pl.channels), act.dtype)
    a6 = act.reshape(pl.batch, pl.out_h, pl.out_w, pl.channels, pl.kernel_h, pl.kernel_w)
    if act.dtype == bool:
        _or_windows(fmap, a6, pl)
    else:
        for r in range(pl.kernel_h):
            for s in range(pl.kernel_w):
                sl = _window_slices(pl, r, s)
                if sl is None:
                    continue
                oy, ox, iy, ix = sl
                part = a6[:, oy, ox, :, r, s]
                fmap[:, iy, ix, :] = np.where(part != 0, part, fmap[:, iy, ix, :])
    # Channels first, a band of rows at a time (a whole-plane transposing copy is 3x
    # slower: its reads and writes do not stay in cache).
    out = np.empty((pl.batch, pl.channels, pl.in_h, pl.in_w), act.dtype)
    band = max(1, _TRANSPOSE_BAND_BYTES // max(1, fmap[0, 0].nbytes))
    for y in range(0, pl.in_h, band):
        out[:, :, y : y + band] = fmap[:, y : y + band].transpose(0, 3, 1, 2)
    return out


def _or_windows(fmap: np.ndarray, a6: np.ndarray, pl: SCNNPlane) -> None:
    """ORs every tap's window of a bool im2col ``a6`` (batch, OH, OW, C, kh, kw) into the
    channels-last ``fmap``, a band of output rows at a time: the band is first copied
    tap-major (in cache), so each tap's OR reads contiguous channels, not every
    kh·kw-th byte."""
    b, taps, c = pl.batch, pl.kernel_h * pl.kernel_w, pl.channels
    rows = max(1, _TRANSPOSE_BAND_BYTES // max(1, taps * pl.out_w * c * b))
    buf = np.empty((taps, b, rows, pl.out_w, c), bool)
    flat = a6.reshape(b, pl.out_h, pl.out_w, c, taps)
    ys = [
        _axis_slices(pl.out_h, pl.in_h, pl.stride_h, pl.pad_h, pl.dilation_h, r)
        for r in range(pl.kernel_h)
    ]
    xs = [
        _axis_slices(pl.out_w, pl.in_w, pl.stride_w, pl.pad_w, pl.dilation_w, s)
        for s in range(pl.kernel_w)
    ]
    for o0 in range(0, pl.out_h, rows):
        o1 = min(pl.out_h, o0 + rows)
        band = buf[:, :, : o1 - o0]
        band[...] = np.moveaxis(flat[:, o0:o1], 4, 0)
        for r, y in enumerate(ys):
            if y is None:
                continue
            lo, hi = max(y[0].start, o0), min(y[0].stop, o1)  # this band's rows of tap r
            if hi <= lo:
                continue
            first = y[1].start + (lo - y[0].start) * pl.stride_h
            iy = slice(first, first + (hi - lo - 1) * pl.stride_h + 1, pl.stride_h)
            for s, x in enumerate(xs):
                if x is not None:
                    view = fmap[:, iy, x[1], :]
                    view |= band[r * pl.kernel_w + s][:, lo - o0 : hi - o0, x[0], :]


#: Feature-map pixels converted to float32 at once by :func:`im2col_counts` (256 KB: the
#: block stays in cache).
_COUNT_BLOCK_PIXELS = 1 << 16


def im2col_counts(fmap: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Non-zeros of every column of ``im2col(fmap, pl)`` (k order (c, r, s)), int64,
    without building it.

    Column (c, r, s) counts the non-zero pixels of channel c in tap (r, s)'s window, the
    input rows of r times the input columns of s (:func:`_axis_slices`): two indicator
    products, over columns then rows. Exact in floating point (a float32 row sum is at
    most W; the rest is float64, exact below 2**53)."""
    kh, kw = pl.kernel_h, pl.kernel_w
    rows_in = np.zeros((pl.in_h, kh), np.float64)
    cols_in = np.zeros((pl.in_w, kw), np.float32)
    for r in range(kh):
        ys = _axis_slices(pl.out_h, pl.in_h, pl.stride_h, pl.pad_h, pl.dilation_h, r)
        if ys is not None:
            rows_in[ys[1], r] = 1
    for s in range(kw):
        xs = _axis_slices(pl.out_w, pl.in_w, pl.stride_w, pl.pad_w, pl.dilation_w, s)
        if xs is not None:
            cols_in[xs[1], s] = 1
    b, c, h, w = fmap.shape
    flat = fmap.reshape(b * c * h, w)
    per_row = np.empty((b * c * h, kw), np.float64)  # (image, channel, row) x s
    step = max(1, _COUNT_BLOCK_PIXELS // max(w, 1))
    for lo in range(0, flat.shape[0], step):
        per_row[lo : lo + step] = flat[lo : lo + step].astype(np.float32) @ cols_in
    per_row = per_row.reshape(b, c, h, kw).sum(axis=0)  # (C, H, kw)
    counts = np.einsum("chs,hr->crs", per_row, rows_in)
    return np.rint(counts).astype(np.int64).ravel()


def im2col(fmap: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """The (m, k) GEMM operand of a (batch, C, H, W) feature map (k order (c, r, s))."""
    a6 = np.zeros((pl.batch, pl.out_h, pl.out_w, pl.channels, pl.kernel_h, pl.kernel_w), fmap.dtype)
    for r in range(pl.kernel_h):
        for s in range(pl.kernel_w):
            sl = _window_slices(pl, r, s)
            if sl is not None:
                oy, ox, iy, ix = sl
                a6[:, oy, ox, :, r, s] = fmap[:, :, iy, ix].transpose(0, 2, 3, 1)
    return a6.reshape(pl.batch * pl.out_h * pl.out_w, -1)


def kernels_of(weight: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """Kernels (K, C, kh, kw) of a (k, n) weight operand (k order (c, r, s))."""
    return weight.reshape(pl.channels, pl.kernel_h, pl.kernel_w, pl.out_channels).transpose(
        3, 0, 1, 2
    )


def plane_operands(
    gemm: Gemm, pl: SCNNPlane, weight: np.ndarray, act: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(feature map (batch, C, H, W), kernels (K, C, kh, kw)) of one repeat's operands."""
    kern = kernels_of(weight, pl)
    if gemm.conv is not None:
        return fold_im2col(act, pl), kern
    fmap = np.zeros((1, pl.channels, pl.in_h * pl.in_w), act.dtype)
    fmap[0, :, : gemm.m] = act.T
    return fmap.reshape(1, pl.channels, pl.in_h, pl.in_w), kern


def polyphase_applies(pl: SCNNPlane) -> bool:
    """Whether the polyphase mapping changes anything: a strided, undilated convolution."""
    strided = pl.stride_h > 1 or pl.stride_w > 1
    return strided and not pl.is_fc and pl.dilation_h == 1 and pl.dilation_w == 1


def uses_polyphase(pl: SCNNPlane, arch: SCNNArch) -> bool:
    """Whether this plane runs polyphase (``stride_mapping="polyphase"`` and it applies;
    ``"auto"`` is resolved per layer by the design's search, :mod:`sod.designs.scnn`)."""
    return arch.stride_mapping == "polyphase" and polyphase_applies(pl)


def _phases(pl: SCNNPlane) -> tuple[int, int, int, int]:
    """(phases along y, along x, kernel rows, kernel cols) of the polyphase plane."""
    sh, sw = pl.stride_h, pl.stride_w
    return min(sh, pl.kernel_h), min(sw, pl.kernel_w), -(-pl.kernel_h // sh), -(-pl.kernel_w // sw)


def polyphase_plane(pl: SCNNPlane) -> SCNNPlane:
    """The stride-1 plane whose channels are the phases (c, p, q) of ``pl``."""
    ph, pw, kh, kw = _phases(pl)
    return SCNNPlane(
        pl.batch,
        pl.channels * ph * pw,
        pl.out_h + kh - 1,
        pl.out_w + kw - 1,
        pl.out_channels,
        kh,
        kw,
        out_h=pl.out_h,
        out_w=pl.out_w,
        rows=pl.rows,
    )


def polyphase_operands(
    fmap: np.ndarray, weight: np.ndarray, pl: SCNNPlane
) -> tuple[np.ndarray, np.ndarray]:
    """(feature map, weight (k′, n)) of :func:`polyphase_plane` from ``pl``'s feature map
    (batch, C, H, W) and weight (k, n) (k order (c, r, s); k′ order ((c, p, q), r′, s′))."""
    ph, pw, kh, kw = _phases(pl)
    sh, sw = pl.stride_h, pl.stride_w
    hp, wp = pl.out_h + kh - 1, pl.out_w + kw - 1
    b, c = fmap.shape[:2]
    # Input pixel y sits at row y + pad of a zero canvas of sh·hp rows (phase p, index j
    # of canvas row sh·j + p); pixels beyond the canvas are read by no output.
    canvas = np.zeros((b, c, sh * hp, sw * wp), fmap.dtype)
    y1, x1 = min(pl.in_h, sh * hp - pl.pad_h), min(pl.in_w, sw * wp - pl.pad_w)
    canvas[:, :, pl.pad_h : pl.pad_h + y1, pl.pad_w : pl.pad_w + x1] = fmap[:, :, :y1, :x1]
    phased = canvas.reshape(b, c, hp, sh, wp, sw).transpose(0, 1, 3, 5, 2, 4)
    fmap_p = np.ascontiguousarray(phased[:, :, :ph, :pw]).reshape(b, c * ph * pw, hp, wp)
    kern = np.zeros((c, sh * kh, sw * kw, pl.out_channels), weight.dtype)
    kern[:, : pl.kernel_h, : pl.kernel_w] = weight.reshape(
        c, pl.kernel_h, pl.kernel_w, pl.out_channels
    )
    kp = kern.reshape(c, kh, sh, kw, sw, pl.out_channels).transpose(0, 2, 4, 1, 3, 5)
    weight_p = np.ascontiguousarray(kp[:, :ph, :pw]).reshape(-1, pl.out_channels)
    return fmap_p, weight_p


def by_channel(pl: SCNNPlane, arch: SCNNArch) -> bool:
    """Whether this plane's input channels (not its pixels) are split over the PEs."""
    return arch.fc_mapping == "channels" and pl.is_fc


@dataclass(frozen=True)
class AccumulatorTiling:
    """How a layer's partial sums fit SCNN's accumulator banks
    (:func:`accumulator_tiling`)."""

    out_channel_group: int  # Kc
    passes_y: int  # each PE's tile cut into passes_y x passes_x sub-tiles, run in turn
    passes_x: int
    positions: int  # output positions a PE accumulates per pass (halo included, at most)

    @property
    def passes(self) -> int:
        return self.passes_y * self.passes_x


def accumulator_capacity(arch: SCNNArch) -> int:
    """Partial sums one accumulator buffer holds: banks x entries (the other buffer of the
    pair drains the previous group)."""
    return arch.accumulator_banks * arch.accumulator_entries


def _touched(extent: np.ndarray, kernel: int, stride: int, dilation: int, out: int) -> np.ndarray:
    """Output rows (or columns) that ``extent`` consecutive input rows can reach: at most
    ``(extent − 1 + dilation·(kernel − 1)) // stride + 1``, and no more than the plane's."""
    return np.minimum(out, (extent - 1 + dilation * (kernel - 1)) // stride + 1)


def accumulator_tiling(pl: SCNNPlane, arch: SCNNArch) -> AccumulatorTiling:
    """Kc and the sub-tile passes that make a group's partial sums fit the accumulators.

    A PE accumulates, per output-channel group, Kc x (the outputs its input tile reaches,
    halo included) partial sums; they must fit :func:`accumulator_capacity`. When one
    output channel of the PE's tile does not fit, the PE's tile is cut into sub-tiles run
    one after another (a pass each: a barrier over the PEs and a fresh broadcast of the
    weights): the planar tiling of a virtual grid of ``pe_rows·passes_y`` x
    ``pe_cols·passes_x`` tiles, PE (py, px) running virtual tiles ``(py·passes_y + i,
    px·passes_x + j)``. The fewest passes win (ties: the fewest positions). ``Kc`` is the
    architecture's, or with ``"auto"`` the largest that fits (at most the layer's output
    channels), SCNN's own rule for Kc. A channel-split FC plane (:func:`by_channel`) holds
    its whole plane in every PE and takes no passes.
    """
    cap = accumulator_capacity(arch)
    auto = arch.out_channel_group == "auto"
    need = 1 if auto else int(arch.out_channel_group)
    if by_channel(pl, arch):
        positions = pl.out_h * pl.out_w
        if need * positions > cap:
            raise ArchitectureError(
                f"SCNN fc_mapping 'channels': {need} output channel(s) of the {positions}-"
                f"position plane exceed the accumulator capacity ({cap} partial sums); "
                "use fc_mapping 'plane' or 'auto'"
            )
        kc = min(pl.out_channels, cap // positions) if auto else need
        return AccumulatorTiling(kc, 1, 1, positions)
    ty = np.arange(1, max(-(-pl.in_h // arch.pe_rows), 1) + 1)
    tx = np.arange(1, max(-(-pl.in_w // arch.pe_cols), 1) + 1)
    rows = _touched(
        -(-pl.in_h // (arch.pe_rows * ty)), pl.kernel_h, pl.stride_h, pl.dilation_h, pl.out_h
    )
    cols = _touched(
        -(-pl.in_w // (arch.pe_cols * tx)), pl.kernel_w, pl.stride_w, pl.dilation_w, pl.out_w
    )
    positions = rows[:, None] * cols[None, :]
    passes = ty[:, None] * tx[None, :]
    fits = need * positions <= cap
    if not fits.any():
        raise ArchitectureError(
            f"SCNN: {need} output channel(s) of a single input pixel's outputs "
            f"({int(positions.min())}) exceed the accumulator capacity ({cap} partial sums)"
        )
    # Fewest passes, then fewest positions (largest Kc), then fewest passes along y.
    order = np.lexsort(
        (passes.ravel(), positions.ravel(), np.where(fits, passes, np.iinfo(np.int64).max).ravel())
    )
    iy, ix = np.unravel_index(order[0], positions.shape)
    pos = int(positions[iy, ix])
    kc = min(pl.out_channels, cap // pos) if auto else need
    return AccumulatorTiling(kc, int(ty[iy]), int(tx[ix]), pos)


def group_size(arch: SCNNArch) -> int:
    """Kc of an architecture whose ``out_channel_group`` is resolved (the models resolve
    ``"auto"`` with :func:`accumulator_tiling` first)."""
    if arch.out_channel_group == "auto":
        raise ArchitectureError("SCNN out_channel_group 'auto' must be resolved per layer first")
    return int(arch.out_channel_group)


def channel_split_pes(pl: SCNNPlane, arch: SCNNArch) -> int:
    """PEs holding input channels when :func:`by_channel` splits them (``ceil(C / per)``
    with ``per = ceil(C / PEs)``): the ones whose partial outputs are added up."""
    per = -(-pl.channels // (arch.pe_rows * arch.pe_cols))
    return -(-pl.channels // per)


def reduction_cycles(pl: SCNNPlane, arch: SCNNArch, n: int) -> int:
    """Cycles of adding up the channel-split PEs' partial outputs, per image.

    After each output-channel group's barrier the ``used`` PEs' partial outputs (the
    plane's positions x the group's channels) are summed in a binary tree of
    ``ceil(log2 used)`` stages; in a stage every receiving PE adds an incoming partial
    sum into its accumulator banks, ``accumulator_banks`` values a cycle. Not overlapped
    with the next group's products (they need the same banks). 0 without a split.
    """
    if not by_channel(pl, arch):
        return 0
    stages = max(channel_split_pes(pl, arch) - 1, 0).bit_length()
    kc = group_size(arch)
    per_group = [min(kc, n - k0) for k0 in range(0, n, kc)]
    positions = pl.out_h * pl.out_w
    return stages * sum(-(-positions * g // arch.accumulator_banks) for g in per_group)


@dataclass(frozen=True)
class PETiles:
    """A feature map split over the PEs that hold any of it (:func:`pe_tiles`).

    ``tiles`` (batch, P, L, th, tw): kept PE ``i`` (grid index ``pe_ids[i]``, tile origin
    ``(y0[i], x0[i])`` in the plane) holds L channel tiles; slot ``l`` of kept PE ``i`` is
    input channel ``l + i·channel_stride`` (0: every PE holds every channel, planar
    tiling; L: a channel split, slots past the last channel are empty padding)."""

    tiles: np.ndarray
    th: int
    tw: int
    pe_ids: np.ndarray
    y0: np.ndarray
    x0: np.ndarray
    channel_stride: int


def pe_tiles(fmap: np.ndarray, arch: SCNNArch, by_channel: bool = False) -> PETiles:
    """Feature map split per PE (see :class:`PETiles`), leaving out PEs that hold nothing.

    Planar tiling (SCNN's): PE (py, px) holds a th × tw tile of every channel; PEs whose
    tile lies wholly outside the plane (a plane smaller than the grid) are left out. With
    ``by_channel`` (``fc_mapping="channels"``) PE p holds the whole plane of a contiguous
    slice of ``ceil(C / PEs)`` channels instead (:func:`channel_split_pes` PEs)."""
    b, c, h, w = fmap.shape
    if by_channel:
        per = -(-c // (arch.pe_rows * arch.pe_cols))
        used = -(-c // per)
        tiles = fmap
        if used * per != c:
            tiles = np.zeros((b, used * per, h, w), fmap.dtype)
            tiles[:, :c] = fmap
        zero = np.zeros(used, np.int64)
        return PETiles(tiles.reshape(b, used, per, h, w), h, w, np.arange(used), zero, zero, per)
    th, tw = -(-h // arch.pe_rows), -(-w // arch.pe_cols)
    rows, cols = -(-h // th), -(-w // tw)  # PE rows and columns the plane reaches
    pad = fmap
    if (rows * th, cols * tw) != (h, w):  # the last tiles run past the plane
        pad = np.zeros((b, c, rows * th, cols * tw), fmap.dtype)
        pad[:, :, :h, :w] = fmap
    t = pad.reshape(b, c, rows, th, cols, tw).transpose(0, 2, 4, 1, 3, 5)
    py, px = np.divmod(np.arange(rows * cols), cols)
    return PETiles(
        t.reshape(b, rows * cols, c, th, tw), th, tw, py * arch.pe_cols + px, py * th, px * tw, 0
    )


def bank_of(
    k_local: np.ndarray, oy: np.ndarray, ox: np.ndarray, pl: SCNNPlane, banks: int
) -> np.ndarray:
    """Accumulator bank of an output coordinate: linear address modulo the bank count."""
    return ((k_local * pl.out_h + oy) * pl.out_w + ox) % banks


def output_coords(
    y: np.ndarray, x: np.ndarray, r: np.ndarray, s: np.ndarray, pl: SCNNPlane
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(oy, ox, valid) of the product of input pixel (y, x) with kernel tap (r, s)."""
    ny = y + pl.pad_h - r * pl.dilation_h
    nx = x + pl.pad_w - s * pl.dilation_w
    # Stride 1 (most layers, every polyphase plane): every product is on-stride.
    oy = ny // pl.stride_h if pl.stride_h > 1 else ny
    ox = nx // pl.stride_w if pl.stride_w > 1 else nx
    valid = (ny >= 0) & (nx >= 0) & (oy < pl.out_h) & (ox < pl.out_w)
    if pl.stride_h > 1:
        valid &= ny % pl.stride_h == 0
    if pl.stride_w > 1:
        valid &= nx % pl.stride_w == 0
    if pl.rows < pl.out_h * pl.out_w * pl.batch:  # padding pixels of an FC plane
        valid &= oy * pl.out_w + ox < pl.rows
    return oy, ox, valid


def _split_fits(pl: SCNNPlane, arch: SCNNArch) -> bool:
    """Whether the channel split's whole plane (x Kc) fits the accumulators."""
    try:
        accumulator_tiling(pl, arch.model_copy(update={"fc_mapping": "channels"}))
    except ArchitectureError:
        return False
    return True


def mapping_candidates(gemm: Gemm, arch: SCNNArch) -> list[tuple[str, SCNNArch]]:
    """The mappings the per-layer search (:mod:`sod.designs.scnn`) tries: (label, ``arch``
    with its ``auto`` fields resolved). Strided, undilated convs: ``direct`` and
    ``polyphase``; FC/attention planes: ``plane`` and ``channels`` (when the plane fits the
    accumulators, :func:`accumulator_tiling`); a field that is not ``auto`` is kept as
    given."""
    pl = scnn_plane(gemm)
    strides = [arch.stride_mapping]
    if arch.stride_mapping == "auto":
        strides = ["direct", "polyphase"] if polyphase_applies(pl) else ["direct"]
    fcs = [arch.fc_mapping]
    if arch.fc_mapping == "auto":
        fcs = ["plane", "channels"] if pl.is_fc and _split_fits(pl, arch) else ["plane"]
    return [
        (
            f"fc={fc}" if pl.is_fc else f"stride={st}",
            arch.model_copy(update={"stride_mapping": st, "fc_mapping": fc}),
        )
        for st in strides
        for fc in fcs
    ]
