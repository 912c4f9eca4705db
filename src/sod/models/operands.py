"""Pull operand masks off a :class:`~sod.workload.gemm.Gemm` in the shapes models want.

Masks on GEMMs follow :mod:`sod.sparsity.apply`: a grouped convolution stacks its groups
(``(groups·k) × n`` weights, ``(groups·m) × k`` activations); a GEMM with ``repeat > 1``
that is not grouped (stacked transformer blocks, attention heads) carries ONE
representative mask shared by its repeats. This module returns them as ``(G, rows, cols)``
boolean arrays plus the multiplier ``repeat / G``.

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
from sod.workload.mask import BitMask


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


def _stacked(mask: object, groups: int, rows: int, cols: int) -> np.ndarray | None:
    if mask is None:
        return None
    dense = mask.to_bool() if isinstance(mask, BitMask) else np.asarray(mask, dtype=bool)
    if dense.shape == (groups * rows, cols):
        return dense.reshape(groups, rows, cols)
    if dense.shape == (rows, cols):
        return np.broadcast_to(dense, (groups, rows, cols)) if groups > 1 else dense[None]
    raise ValueError(f"mask of shape {dense.shape} does not fit {groups}x{rows}x{cols}")


def operand_masks(gemm: Gemm, groups: int | None = None) -> OperandMasks:
    """Weight and activation masks of a GEMM (see the module docstring); ``groups``
    overrides the number of distinct groups (default: a grouped convolution's groups)."""
    if groups is None:
        stacked = gemm.repeat > 1 and gemm.conv is not None and gemm.conv.groups == gemm.repeat
        groups = gemm.repeat if stacked else 1
    # A grouped GEMM's masks may also be a single shared one (e.g. from a topology file).
    w = _stacked(gemm.weight_mask, groups, gemm.k, gemm.n)
    iid = False
    if w is None:
        if gemm.weight_density >= 1.0:
            w = np.ones((groups, gemm.k, gemm.n), dtype=bool)
        else:
            w = _rng(gemm, "w").random((groups, gemm.k, gemm.n)) < gemm.weight_density
            iid = True
    a = _stacked(gemm.act_mask, groups, gemm.m, gemm.k)
    if a is None and gemm.act_density < 1.0:
        a = _rng(gemm, "a").random((groups, gemm.m, gemm.k)) < gemm.act_density
        iid = True
    return OperandMasks(w, a, gemm.repeat // groups, iid)
