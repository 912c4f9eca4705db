"""Pull operand masks off a :class:`~sod.workload.gemm.Gemm` in the shapes models want.

Masks on GEMMs follow the one rule of :mod:`sod.workload.mask`: stacked one per repeat
(a grouped convolution's ``(groups·k) × n`` weights, ``(groups·m) × k`` activations) or
ONE representative mask shared by every repeat (stacked transformer blocks, attention
heads). This module returns them as ``(G, rows, cols)`` boolean arrays
(:attr:`Gemm.operand_groups <sod.workload.gemm.Gemm.operand_groups>` distinct groups) plus
the multiplier ``repeat / G``. It is the only place models turn a GEMM's masks into
arrays.

When a GEMM has a density below 1 but no mask (a SCALE-Sim topology with an ``N:M``
column, an ONNX model without recorded activations), the pattern is drawn i.i.d. with a
generator seeded from the GEMM's name and shape, so results stay deterministic; such
layers are reported as ``iid_pattern`` in the model details.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from sod.models.fibers import frozen_packed, plain_bitmask
from sod.models.sparse_masks import col_counts, row_counts
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask, TiledMask, stack_mask


@dataclass(frozen=True)
class OperandMasks:
    """Boolean non-zero masks of one GEMM, per distinct group."""

    weight: np.ndarray  # (G, k, n)
    act: np.ndarray | None  # (G, m, k); None = dense
    multiplier: int  # repeats per distinct group
    iid_pattern: bool  # some mask was drawn i.i.d. from a density
    # (m, p) when ``act`` holds only the period (G, p, k) of an A whose rows repeat every
    # p rows down to m (a TiledMask, batch as a repeat); None: ``act`` is all m rows.
    act_tiling: tuple[int, int] | None = None

    @property
    def groups(self) -> int:
        return int(self.weight.shape[0])

    @cached_property
    def weight_nnz(self) -> int:
        """Non-zeros of ``weight`` (every distinct group once), counted once per masks
        (:func:`operand_masks` sets it from a bit-packed mask's popcount)."""
        return int(np.count_nonzero(self.weight))

    def act_col_counts(self) -> np.ndarray | None:
        """Non-zeros of every column of A per group, (G, k) int64, of the full m rows
        (a tiled A's period counted once per repeat of it); None when A is dense."""
        act = self.act
        if act is None:
            return None
        # Byte sums and popcounts (sparse_masks): no int64 cast of every mask element.
        if self.act_tiling is None:
            return col_counts(act)
        m, p = self.act_tiling
        q, r = divmod(m, p)
        cols = col_counts(act) * q
        if r:
            cols += col_counts(act[:, :r])
        return cols

    def act_nnz(self) -> int:
        """Non-zeros of the full A (every distinct group once); dense A counts all."""
        cols = self.act_col_counts()
        if cols is None:
            m = self.act_tiling[0] if self.act_tiling else 0
            raise ValueError(f"A is dense ({m} rows): no mask to count")
        return int(cols.sum())

    def effectual(self, m: int) -> int:
        """Σ over groups and k of nnz(A[:, k]) · nnz(W[k, :]): MACs with both operands
        non-zero, one copy of every distinct group (A dense: m rows of ones)."""
        w_rows = row_counts(self.weight)  # (G, k)
        a_cols = self.act_col_counts()
        if a_cols is None:
            return int(w_rows.sum()) * m
        return int((a_cols * w_rows).sum())


def _rng(gemm: Gemm, operand: str) -> np.random.Generator:
    key = f"{gemm.name}|{gemm.m}x{gemm.k}x{gemm.n}x{gemm.repeat}|{operand}".encode()
    return np.random.default_rng(zlib.crc32(key))


def operand_masks(gemm: Gemm, groups: int | None = None, tiled: bool = False) -> OperandMasks:
    """Weight and activation masks of a GEMM (see the module docstring); ``groups``
    overrides the number of distinct groups (default: ``gemm.operand_groups``).

    An A mask that repeats with a period (:class:`~sod.workload.mask.TiledMask`) comes
    back as its period with ``act_tiling`` set when ``tiled`` (callers that handle it:
    ``act_col_counts``, ``effectual``, :func:`period_gemm`), expanded to m rows otherwise.
    """
    if groups is None:
        groups = gemm.operand_groups
    tiling = gemm.act_mask if tiled and isinstance(gemm.act_mask, TiledMask) else None
    if tiling is not None:
        full = operand_masks(gemm.with_(act_mask=None, act_density=1.0), groups)
        p = tiling.period_rows
        what = f"layer {gemm.name!r}: act_mask"
        period = stack_mask(tiling.period, groups, p, gemm.k, what)
        return _packed_weight_nnz(replace(full, act=period, act_tiling=(gemm.m, p)), gemm)
    # A grouped GEMM's masks may also be a single shared one (e.g. from a topology file).
    w = gemm.stacked_weight_mask(groups)
    iid = False
    if w is None:
        if gemm.weight_density >= 1.0:
            w = np.ones((groups, gemm.k, gemm.n), dtype=bool)
        else:
            w = _rng(gemm, "w").random((groups, gemm.k, gemm.n)) < gemm.weight_density
            iid = True
    a = gemm.stacked_act_mask(groups)
    if a is None and gemm.act_density < 1.0:
        a = _rng(gemm, "a").random((groups, gemm.m, gemm.k)) < gemm.act_density
        iid = True
    return _packed_weight_nnz(OperandMasks(w, a, gemm.repeat // groups, iid), gemm)


def _packed_weight_nnz(masks: OperandMasks, gemm: Gemm) -> OperandMasks:
    """``masks`` with :attr:`OperandMasks.weight_nnz` already known when W's mask is a
    BitMask: a popcount of its packed bytes (8x fewer than the bool array)."""
    wm = gemm.weight_mask
    if isinstance(wm, BitMask):
        shared = masks.groups if wm.shape[0] != masks.groups * gemm.k else 1  # broadcast
        vars(masks)["weight_nnz"] = wm.nnz * shared  # the cached_property's slot
    return masks


def weight_bits(gemm: Gemm, groups: int) -> list[np.ndarray] | None:
    """Per distinct group, W's mask packed along n (``(k, ⌈n/8⌉)`` uint8) as the GEMM's
    plain BitMask holds it (stacked: group g is rows g·k …; shared: one for all), as
    read-only views hashed once by the content memos; None when W is not such a mask."""
    wm, k = gemm.weight_mask, gemm.k
    if not plain_bitmask(wm) or not isinstance(wm, BitMask):
        return None
    if wm.shape == (k, gemm.n):
        return [frozen_packed(wm)] * groups
    if wm.shape == (groups * k, gemm.n):
        whole = frozen_packed(wm)
        return [whole[g * k : (g + 1) * k] for g in range(groups)]
    return None


def weight_rows(gemm: Gemm, masks: OperandMasks) -> list[np.ndarray]:
    """:func:`weight_bits`, else ``masks.weight`` packed the same way."""
    bits = weight_bits(gemm, masks.groups)
    return bits if bits is not None else [np.packbits(w, axis=1) for w in masks.weight]


def period_gemm(gemm: Gemm, rows: int) -> Gemm:
    """``gemm`` cut to its first ``rows`` rows of A (a period of a tiled A, or the part
    of one that ends the batch), with no A mask (the caller passes the mask's rows)."""
    return gemm.with_(m=rows, act_mask=None)
