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
from dataclasses import dataclass

import numpy as np

from sod.workload.gemm import Gemm


@dataclass(frozen=True)
class OperandMasks:
    """Boolean non-zero masks of one GEMM, per distinct group."""

    weight: np.ndarray  # (G, k, n)
    act: np.ndarray | None  # (G, m, k); None = dense
    multiplier: int  # repeats per distinct group
    iid_pattern: bool  # some mask was drawn i.i.d. from a density

    @property
    def groups(self) -> int:
        return int(self.weight.shape[0])


def _rng(gemm: Gemm, operand: str) -> np.random.Generator:
    key = f"{gemm.name}|{gemm.m}x{gemm.k}x{gemm.n}x{gemm.repeat}|{operand}".encode()
    return np.random.default_rng(zlib.crc32(key))


def operand_masks(gemm: Gemm, groups: int | None = None) -> OperandMasks:
    """Weight and activation masks of a GEMM (see the module docstring); ``groups``
    overrides the number of distinct groups (default: ``gemm.operand_groups``)."""
    if groups is None:
        groups = gemm.operand_groups
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
    return OperandMasks(w, a, gemm.repeat // groups, iid)
