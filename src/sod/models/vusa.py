"""VUSA (a virtually upscaled systolic array): cycles, MACs and actions from the real masks.

The array (:class:`~sod.arch.vusa.VUSAArch`) is weight stationary with ``R`` × ``C``
physical MACs, ``C / M`` windows of ``M`` MACs per row. The compiler maps the weights of
one k-block (``R`` rows of W) onto windows left to right: a window starting at column
``p`` takes the widest span ``v`` ∈ [M, V] of columns such that every row of the k-block
has at most ``M`` non-zeros in ``W[rows, p:p+v]`` (all rows of a window share its span,
since partial sums flow down the columns); ``M`` columns always fit, so dense weights give
the plain ``R`` × ``C`` array exactly. ``C / M`` consecutive windows form one fold (one
weight load); a k-block needs ``⌈windows / (C/M)⌉`` folds. The virtual width of a fold is
the sum of its windows' spans, between ``C`` and ``C·V/M``.

Each fold then costs what a WS fold of the dense array costs (TPU or SCALE-Sim timing,
:func:`sod.models.dense.tpu_fold_costs`): streaming the ``m`` activation rows, the
pipeline has ``C`` physical stages along a row. Weights are stored as the array loads them:
``M`` slots per window row, each a value and a ⌈log2 V⌉-bit in-window index (zero slots
padded). GLB tiling, DRAM traffic and memory stalls run through the shared systolic
memory step (:func:`sod.models.systolic_steps.memory_schedule`).

The packing loops over window positions (at most ⌈n/M⌉ steps), vectorized over every
k-block of every group; the brute-force reference is :mod:`sod.reference.vusa`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.spec import Dataflow
from sod.arch.vusa import VUSAArch
from sod.models.common import Counts
from sod.models.dense import tpu_fold_costs
from sod.models.memo import memo_by_content
from sod.models.operands import operand_masks
from sod.models.systolic_options import Layer, SystolicOptions
from sod.models.systolic_steps import Folds, Stored, memory_schedule
from sod.models.systolic_streams import WeightStreams
from sod.workload.gemm import Gemm


@memo_by_content(max_bytes=64 << 20)
def pack_windows(w: np.ndarray, rows: int, slots: int, macs: int) -> np.ndarray:
    """Column span of every window, ``(B, W)`` for the ``B = G·⌈k/R⌉`` k-blocks of the
    ``(G, k, n)`` mask ``w`` in group-major order; 0 past a k-block's last window."""
    g, k, n = w.shape
    kb = -(-k // rows)
    blocks = g * kb
    # (B, n + V, R): column-major per block so a window's columns are one gather.
    t = np.zeros((g, kb * rows, n + slots), dtype=bool)
    t[:, :k, :n] = w
    t = t.reshape(blocks, rows, n + slots).transpose(0, 2, 1)
    pos = np.zeros(blocks, np.int64)
    spans = []
    b = np.arange(blocks)[:, None]
    offsets = np.arange(slots)[None, :]
    while (pos < n).any():
        left = n - pos
        window = t[b, pos[:, None] + offsets]  # (B, V, R)
        counts = np.cumsum(window, axis=1, dtype=np.int32).max(axis=2)  # (B, V): max row nnz
        fits = counts <= macs  # monotone in the span: True up to the widest that fits
        widest = fits.sum(axis=1)
        span = np.clip(np.maximum(widest, macs), 0, left)  # M columns always fit
        spans.append(np.where(left > 0, span, 0))
        pos = pos + spans[-1]
    if not spans:
        return np.zeros((blocks, 0), np.int64)
    return np.stack(spans, axis=1)


@dataclass(frozen=True)
class FoldPlan:
    """VUSA's folds of one GEMM (one execution of every distinct group), group-major,
    k-block-major within a group."""

    group: np.ndarray  # (F,) group of each fold
    block: np.ndarray  # (F,) k-block (0..B−1, group-major) of each fold
    rows: np.ndarray  # (F,) weight rows loaded (R, fewer in a last partial k-block)
    windows: np.ndarray  # (F,) windows used (C/M except in a k-block's last fold)
    virtual_cols: np.ndarray  # (F,) columns of W the fold covers (Σ window spans)
    blocks: int  # k-blocks per group


def fold_plan(w: np.ndarray, arch: VUSAArch) -> FoldPlan:
    """The folds of the ``(G, k, n)`` weight mask ``w`` on ``arch`` (see the module doc)."""
    R, per = arch.array_rows, arch.windows_per_row
    k = w.shape[1]
    kb = -(-k // R)
    spans = pack_windows(w, R, arch.window_slots, arch.window_macs)  # (B, W)
    nwin = (spans > 0).sum(axis=1)  # windows per k-block
    nfold = -(-nwin // per)
    block = np.repeat(np.arange(spans.shape[0]), nfold)
    first = np.r_[0, np.cumsum(nfold)[:-1]]
    local = np.arange(block.size) - np.repeat(first, nfold)  # fold index within its block
    windows = np.minimum(per, nwin[block] - local * per)
    # Σ spans of windows [local·per, local·per + windows) of each fold's block.
    cs = np.concatenate([np.zeros((spans.shape[0], 1), np.int64), np.cumsum(spans, axis=1)], 1)
    start = local * per
    virtual = cs[block, start + windows] - cs[block, start]
    rows = np.minimum(R, k - (block % kb) * R)
    return FoldPlan(block // kb, block, rows, windows, virtual, kb)


def evaluate(gemm: Gemm, arch: VUSAArch) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on a VUSA array."""
    opts = SystolicOptions.from_arch(arch)  # the dense array's options: R, C, WS, memory
    layer = Layer.of(gemm, opts)
    masks = operand_masks(gemm)
    plan = fold_plan(masks.weight, arch)
    R, C, m, g, mult = arch.array_rows, arch.array_cols, gemm.m, layer.groups, layer.mult
    vb, ab, ib, M = arch.value_bits, arch.acc_bits, arch.index_bits, arch.window_macs
    f = plan.group.size
    live = np.ones(f, bool)
    streamed = np.full(f, m, np.int64)
    boundary = np.r_[plan.group[1:] != plan.group[:-1], True] if f else live
    if arch.timing == "tpu":
        cycles = tpu_fold_costs(R, C, streamed, boundary, Dataflow.WS)
    else:
        cycles = 2 * R + C - 2 + streamed
    groups_run = int(np.unique(plan.group).size)
    dense_col_folds = -(-gemm.n // C)
    folds = Folds(
        live,
        streamed,
        cycles,
        boundary,
        f,
        int(cycles.sum()) - groups_run,
        plan.blocks,
        round(f / max(g * plan.blocks, 1)),
        plan.blocks * dense_col_folds,
    )
    slots = plan.rows * plan.windows * M  # MAC slots loaded per fold
    w_bits = int(slots.sum()) * (vb + ib)
    stored = Stored(
        w_bits, g * gemm.k * gemm.n * vb, g * m * gemm.k * vb, g * m * gemm.k * vb,
        g * m * gemm.n * vb, w_bits, g * m * gemm.k * vb, None,
    )  # fmt: skip
    no_streams = WeightStreams(*([np.zeros(0, np.int64)] * 11))  # read only by units
    memory = memory_schedule(layer, stored, folds, folds.compute_cycles, no_streams, opts)
    issued = int(slots.sum()) * m * mult
    effectual = min(_effectual(masks.weight, masks.act, m) * mult, issued)
    gated = issued - effectual if arch.zero_gating else 0
    act_read = int(plan.rows.sum()) * m * vb  # A's k-slice streamed once per fold
    out_sums = g * m * gemm.n * ab
    actions = {
        "mac": float(issued - gated),
        "mac_gated": float(gated),
        # One activation register per window row; every virtual column keeps its psum.
        "pe_reg_bits.act": float(int((plan.rows * plan.windows).sum()) * m * vb * mult),
        "pe_reg_bits.out": float(int((plan.rows * plan.virtual_cols).sum()) * m * ab * mult),
        "pe_reg_bits.weight": float(w_bits * mult),
        "glb_read_bits.weight": float(w_bits * mult),
        "glb_read_bits.act": float(act_read * mult),
        "glb_write_bits.out": float(out_sums * plan.blocks * mult),
        "glb_read_bits.out": float(out_sums * (plan.blocks - 1) * mult),
        "glb_write_bits.weight": float(memory.dram_w * mult),
        "glb_write_bits.act": float(memory.dram_a * mult),
        "dram_read_bits.weight": float(memory.dram_w * mult),
        "dram_read_bits.act": float(memory.dram_a * mult),
        "dram_write_bits.out": float(memory.dram_o * mult),
    }
    details = {
        "dataflow": "ws",
        "timing": arch.timing,
        "folds": f * mult,
        "folds_dense": folds.dense_folds * g * mult,
        "virtual_width_mean": float(plan.virtual_cols.mean()) if f else 0.0,
        "weight_bits_stored": w_bits * mult if gemm.w_is_weight else w_bits,
        "weight_bits_dense": stored.w_dense,
        "memory_stall_cycles": memory.stall_cycles * mult,
        "tiling": memory.tiling,
        "iid_pattern": masks.iid_pattern,
    }
    return Counts(
        folds.compute_cycles * mult,
        memory.stall_cycles * mult,
        m * gemm.k * gemm.n * gemm.repeat,
        issued,
        effectual,
        arch.pe_count,
        actions,
        details,
    )


def _effectual(weight: np.ndarray, act: np.ndarray | None, m: int) -> int:
    """Σ over groups and k of nnz(A[:, k]) · nnz(W[k, :]) (one copy of every group)."""
    w_rows = weight.sum(axis=2, dtype=np.int64)
    if act is None:
        return int(w_rows.sum()) * m
    return int((act.sum(axis=1, dtype=np.int64) * w_rows).sum())
