"""Bit-packed non-zero masks of 2-D operands.

A :class:`BitMask` stores a boolean matrix with ``numpy.packbits`` along its last axis
(8x smaller than ``bool``), plus its shape. It is what a :class:`~sod.workload.gemm.Gemm`
carries for its weight (k × n) and activation (m × k) operands. Statistics helpers that
work on it (row/column/tile counts) live in :mod:`sod.sparsity.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.errors import SodError


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
        return np.unpackbits(self.packed, axis=1, count=self.shape[1]).astype(bool)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nnz(self) -> int:
        # Padding bits are zero, so counting packed bytes is exact.
        return int(np.unpackbits(self.packed).sum(dtype=np.int64))

    @property
    def density(self) -> float:
        return self.nnz / self.size if self.size else 0.0

    @property
    def T(self) -> BitMask:  # noqa: N802 - numpy-style transpose
        return BitMask.from_bool(self.to_bool().T)
