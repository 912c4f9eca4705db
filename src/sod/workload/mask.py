"""Bit-packed non-zero masks of 2-D operands, and the one rule for masks of repeats.

A :class:`BitMask` stores a boolean matrix with ``numpy.packbits`` along its last axis
(8x smaller than ``bool``), plus its shape. It is the only form a
:class:`~sod.workload.gemm.Gemm` carries for its weight (k × n) and activation (m × k)
operands. Statistics helpers that work on it (row/column/tile counts) live in
:mod:`sod.sparsity.stats`.

**Masks of a GEMM repeated ``repeat`` times** (one rule, used everywhere): an operand
mask of ``rows × cols`` is either *shared* by every repeat (``rows`` rows: stacked
transformer blocks, attention heads carry one representative pattern) or *stacked*, one
per repeat (``repeat · rows`` rows, repeat r = rows ``r·rows … (r+1)·rows − 1``: the
groups of a grouped convolution). :func:`as_operand_mask` checks and packs a mask against
that rule; :func:`stack_mask` unpacks it to ``(groups, rows, cols)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sod.errors import SodError, WorkloadError

if TYPE_CHECKING:
    from sod.workload.gemm import ConvShape


@dataclass(frozen=True, eq=False)
class BitMask:
    """A 2-D boolean non-zero mask, bit-packed along axis 1."""

    packed: np.ndarray  # uint8, shape (rows, ceil(cols / 8))
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        rows, cols = self.shape
        if self.packed.dtype != np.uint8 or self.packed.shape != (rows, (cols + 7) // 8):
            raise SodError(
                f"bit mask of shape {self.shape} needs packed uint8 of shape "
                f"{(rows, (cols + 7) // 8)}, got {self.packed.dtype} {self.packed.shape}"
            )

    @classmethod
    def from_bool(cls, mask: np.ndarray) -> BitMask:
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise SodError(f"a mask must be 2-D, got shape {mask.shape}")
        return cls(np.packbits(mask.astype(bool), axis=1), (int(mask.shape[0]), int(mask.shape[1])))

    @classmethod
    def from_array(cls, values: np.ndarray) -> BitMask:
        """The mask of non-zero entries of a 2-D array."""
        return cls.from_bool(np.asarray(values) != 0)

    def to_bool(self) -> np.ndarray:
        # unpackbits yields 0/1 bytes: viewing them as bool is exact and saves a copy.
        return np.unpackbits(self.packed, axis=1, count=self.shape[1]).view(bool)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nnz(self) -> int:
        # Padding bits are zero, so counting packed bytes is exact.
        return int(np.bitwise_count(self.packed).sum(dtype=np.int64))

    @property
    def density(self) -> float:
        return self.nnz / self.size if self.size else 0.0

    @property
    def T(self) -> BitMask:
        return BitMask.from_bool(self.to_bool().T)


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "a scalar"


def _expected(rows: int, cols: int, repeat: int) -> str:
    shared = _dims((rows, cols))
    if repeat == 1:
        return shared
    return f"{shared} (shared) or {_dims((repeat * rows, cols))} (one per repeat)"


def as_operand_mask(
    mask: BitMask | np.ndarray, rows: int, cols: int, repeat: int = 1, what: str = "mask"
) -> BitMask:
    """``mask`` as a :class:`BitMask` of a ``rows × cols`` operand, shared by all repeats or
    stacked one per repeat (module docstring); raises a one-line
    :class:`~sod.errors.WorkloadError` naming ``what`` otherwise.

    A numpy array is packed: 2-D ``(rows or repeat·rows) × cols`` or 3-D
    ``(repeat, rows, cols)``, boolean or values (non-zero = kept). A BitMask is returned
    as is (no copy).
    """
    if not isinstance(mask, BitMask):
        arr = np.asarray(mask)
        if arr.ndim == 3:
            arr = arr.reshape(-1, arr.shape[-1])
        if arr.ndim != 2:
            raise WorkloadError(
                f"{what} has shape {_dims(arr.shape)}, expected {_expected(rows, cols, repeat)}"
            )
        mask = BitMask.from_bool(arr if arr.dtype == bool else arr != 0)
    if mask.shape != (rows, cols) and mask.shape != (repeat * rows, cols):
        raise WorkloadError(
            f"{what} has shape {_dims(mask.shape)}, expected {_expected(rows, cols, repeat)}"
        )
    return mask


def stack_mask(
    mask: BitMask | np.ndarray, groups: int, rows: int, cols: int, what: str = "mask"
) -> np.ndarray:
    """A shared or stacked mask (module docstring) as a ``(groups, rows, cols)`` bool array.

    A shared mask is broadcast over the groups (a read-only view, no copy); a stacked one
    (``(groups·rows) × cols`` or a ``(groups, rows, cols)`` array) is reshaped. A BitMask
    is unpacked once; a non-boolean array counts its non-zeros.
    """
    dense = mask.to_bool() if isinstance(mask, BitMask) else np.asarray(mask)
    if dense.dtype != bool:
        dense = dense != 0
    if dense.shape == (groups * rows, cols) or dense.shape == (groups, rows, cols):
        return dense.reshape(groups, rows, cols)
    if dense.shape == (rows, cols):
        return np.broadcast_to(dense, (groups, rows, cols)) if groups > 1 else dense[None]
    raise WorkloadError(
        f"{what} has shape {_dims(dense.shape)}, expected {_expected(rows, cols, groups)}"
    )


def im2col_mask(fmap: np.ndarray, conv: ConvShape) -> BitMask:
    """The A operand's non-zero mask of a convolution, bit-packed.

    ``fmap`` is a boolean (batch, in_channels, in_h, in_w) input mask. Returns a
    ``(groups · m) × k`` BitMask, m = batch × out_h × out_w, k = (in_channels / groups) ×
    kh × kw in (channel, kh, kw) order; group g's rows are ``g·m … (g+1)·m − 1``.
    Processed one image at a time to bound memory.
    """
    fmap = np.asarray(fmap, dtype=bool)
    if fmap.ndim != 4 or fmap.shape[1:] != (conv.in_channels, conv.in_h, conv.in_w):
        raise SodError(
            f"feature-map mask of shape {fmap.shape} does not match the convolution's "
            f"input (batch, {conv.in_channels}, {conv.in_h}, {conv.in_w})"
        )
    b, c = fmap.shape[:2]
    g = conv.groups
    cg = c // g
    oh, ow = conv.out_h, conv.out_w
    kh, kw = conv.kernel_h, conv.kernel_w
    k = cg * kh * kw
    m_img = oh * ow
    packed = np.empty((g, b * m_img, (k + 7) // 8), dtype=np.uint8)
    span_h, span_w = conv.dilation_h * (kh - 1) + 1, conv.dilation_w * (kw - 1) + 1
    for i in range(b):
        img = np.pad(fmap[i], ((0, 0), (conv.pad_h, conv.pad_h), (conv.pad_w, conv.pad_w)))
        win = sliding_window_view(img, (span_h, span_w), axis=(1, 2))
        win = win[
            :,
            : (oh - 1) * conv.stride_h + 1 : conv.stride_h,
            : (ow - 1) * conv.stride_w + 1 : conv.stride_w,
            :: conv.dilation_h,
            :: conv.dilation_w,
        ]
        # (c, oh, ow, kh, kw) -> (g, oh, ow, cg, kh, kw) -> (g, m_img, k)
        cols = win.reshape(g, cg, oh, ow, kh, kw).transpose(0, 2, 3, 1, 4, 5)
        cols = cols.reshape(g, m_img, k)
        packed[:, i * m_img : (i + 1) * m_img] = np.packbits(cols, axis=2)
    return BitMask(packed.reshape(g * b * m_img, -1), (g * b * m_img, k))
