"""VUSA (a virtually upscaled systolic array): cycles, MACs and actions from the real masks.

The array (:class:`~sod.arch.vusa.VUSAArch`) is weight stationary with ``R`` × ``C``
physical MACs cut into windows of ``M`` MACs along ``window_axis``. Take the default, k: a
block is ``C`` columns of W (output channels); the compiler maps its rows (reduction
positions) onto windows top to bottom: a window starting at row ``p`` takes the widest span
``v`` ∈ [M, V] such that every column of the block has at most ``M`` non-zeros in
``W[p:p+v, cols]`` (all columns of a window share its span, since activations flow along
the rows); ``M`` rows always fit, so dense weights give the plain ``R`` × ``C`` array
exactly. ``R / M`` consecutive windows form one fold (one weight load); a block needs
``⌈windows / (R/M)⌉`` folds, covering between ``R`` and ``R·V/M`` rows of W each. Along n
the roles of rows and columns swap (blocks of ``R`` rows, windows along n).

Each fold then costs what a WS fold of the dense array costs (TPU or SCALE-Sim timing,
:func:`sod.models.dense.tpu_fold_costs`, with the physical ``R`` and ``C``): it streams the
``m`` activation rows. Weights are stored as the array loads them: ``M`` slots per window
and line, each a value and a ⌈log2 V⌉-bit in-window index (empty slots padded). GLB
tiling, DRAM traffic and memory stalls run through the shared systolic memory step
(:func:`sod.models.systolic_steps.memory_schedule`).

The widest span at every position comes from prefix sums (array ops over every block of
every group); the greedy chain then takes one gather per window (at most ⌈extent/M⌉
steps, each over all blocks at once). The brute-force reference is :mod:`sod.reference.vusa`.
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

# Blocks are measured in chunks of at most this many mask elements (bounds scratch memory).
_CHUNK_ELEMENTS = 1 << 22


def widest_spans(t: np.ndarray, slots: int, macs: int) -> np.ndarray:
    """``(B, P)``: the span a window starting at each position would take, for blocks
    ``t`` of shape ``(B, P, lines)``: the widest ``v`` ≤ ``slots`` with at most ``macs``
    non-zeros on every line in ``[p, p+v)`` (at least ``macs``), clipped at the end."""
    b, p, lines = t.shape
    if slots >= 128:
        cs = np.zeros((b, p + slots + 1, lines), np.int32)
        np.cumsum(t, axis=1, dtype=np.int32, out=cs[:, 1 : p + 1])
    else:
        # Running counts modulo 256 (uint8, wrapping): a window's count is a difference
        # of two running counts, at most ``slots`` < 128, so exact modulo 256 — a quarter
        # of int32's memory traffic. Lines padded to whole 64-bit words (zero counts).
        cs = np.zeros((b, p + slots + 1, -(-lines // 8) * 8), np.uint8)
        np.cumsum(t, axis=1, dtype=np.uint8, out=cs[:, 1 : p + 1, :lines])
    cs[:, p + 1 :] = cs[:, p : p + 1]
    span = np.full((b, p), macs, np.int64)
    for v in range(macs + 1, slots + 1):  # fitting is monotone in v: stop growing at a miss
        fits = _all_at_most(cs[:, v : v + p] - cs[:, :p], macs)
        span = np.where(fits & (span == v - 1), v, span)
    return np.minimum(span, p - np.arange(p))


def _all_at_most(counts: np.ndarray, macs: int) -> np.ndarray:
    """``(counts <= macs).all(axis=2)`` of a (B, P, lines) count array. Byte counts below
    128 (uint8, lines a multiple of 8) are tested 8 at a time in 64-bit words: a byte
    exceeds ``macs`` iff adding ``127 − macs`` sets its top bit (no carry between bytes)."""
    if counts.dtype != np.uint8 or macs >= 127:
        return np.asarray(counts.max(axis=2) <= macs)
    words = counts.view(np.uint64)
    add = np.uint64(0x0101010101010101 * (127 - macs))
    over = (words + add) & np.uint64(0x8080808080808080)
    return np.asarray(~over.any(axis=2))


def _blocks(w: np.ndarray, rows: int, lo: int, hi: int) -> np.ndarray:
    """Blocks ``lo … hi − 1`` (group major) of ``rows`` lines of axis 2 of the ``(G, P, L)``
    mask ``w``, as ``(hi − lo, P, rows)``, zero padded past L (a loop over the few groups
    one chunk of blocks touches)."""
    _, p, lines = w.shape
    nb = -(-lines // rows)
    out = np.zeros((hi - lo, p, rows), dtype=bool)
    for gi in range(lo // nb, -(-hi // nb)):
        b0, b1 = max(lo, gi * nb), min(hi, (gi + 1) * nb)
        c0, c1 = (b0 - gi * nb) * rows, min(lines, (b1 - gi * nb) * rows)
        seg = np.zeros((p, (b1 - b0) * rows), dtype=bool)
        seg[:, : c1 - c0] = w[gi, :, c0:c1]
        out[b0 - lo : b1 - lo] = seg.reshape(p, b1 - b0, rows).transpose(1, 0, 2)
    return out


@memo_by_content(max_bytes=64 << 20)
def pack_windows(w: np.ndarray, rows: int, slots: int, macs: int) -> np.ndarray:
    """Span of every window, ``(B, W)``, windows running along axis 1 of the ``(G, P, L)``
    mask ``w``, for the ``B = G·⌈L/rows⌉`` blocks of ``rows`` lines of axis 2 (group
    major); 0 past a block's last window. Greedy, as the compiler maps: each window takes
    the widest span it can (:func:`widest_spans`) from where the previous one ended."""
    g, p, lines = w.shape
    nb = -(-lines // rows)
    blocks = g * nb
    per = max(1, _CHUNK_ELEMENTS // max(rows * (p + slots + 1), 1))  # blocks per chunk
    if w.size <= 4 * _CHUNK_ELEMENTS:  # small: all blocks in one padded copy
        t = np.zeros((g, p, nb * rows), dtype=bool)
        t[:, :, :lines] = w
        t = t.reshape(g, p, nb, rows).transpose(0, 2, 1, 3).reshape(blocks, p, rows)
        chunks = (t[i : i + per] for i in range(0, blocks, per))
    else:  # large (an FC layer): each chunk's blocks copied on their own
        chunks = (_blocks(w, rows, i, min(blocks, i + per)) for i in range(0, blocks, per))
    span_at = np.concatenate(
        [widest_spans(t_chunk, slots, macs) for t_chunk in chunks] or [np.zeros((0, p), np.int64)]
    )
    span_at = np.concatenate([span_at, np.zeros((blocks, 1), np.int64)], axis=1)  # p = P: 0
    pos = np.zeros(blocks, np.int64)
    b = np.arange(blocks)
    spans = []
    while (pos < p).any():  # one cheap gather per window position of the chain
        step = span_at[b, pos]
        spans.append(step)
        pos = pos + step
    if not spans:
        return np.zeros((blocks, 0), np.int64)
    return np.stack(spans, axis=1)


@dataclass(frozen=True)
class FoldPlan:
    """VUSA's folds of one GEMM (one execution of every distinct group), group-major, then
    block-major: a block is ``R`` rows of W (windows along n) or ``C`` columns (along k)."""

    group: np.ndarray  # (F,) group of each fold
    lines: np.ndarray  # (F,) block extent across the window axis (R or C, less at the end)
    windows: np.ndarray  # (F,) windows used (all but in a block's last fold)
    span: np.ndarray  # (F,) positions along the window axis covered (Σ window spans)
    blocks: int  # blocks per group


def fold_plan(w: np.ndarray, arch: VUSAArch) -> FoldPlan:
    """The folds of the ``(G, k, n)`` weight mask ``w`` on ``arch`` (see the module doc)."""
    along_k = arch.window_axis == "k"
    wt = w if along_k else np.ascontiguousarray(w.transpose(0, 2, 1))  # windows along axis 1
    line = arch.array_cols if along_k else arch.array_rows
    per = arch.windows_per_fold
    extent = wt.shape[2]
    nb = -(-extent // line)
    spans = pack_windows(wt, line, arch.window_slots, arch.window_macs)
    nwin = (spans > 0).sum(axis=1)  # windows per block
    nfold = -(-nwin // per)
    block = np.repeat(np.arange(spans.shape[0]), nfold)
    first = np.r_[0, np.cumsum(nfold)[:-1]]
    local = np.arange(block.size) - np.repeat(first, nfold)  # fold index within its block
    windows = np.minimum(per, nwin[block] - local * per)
    # Σ spans of windows [local·per, local·per + windows) of each fold's block.
    cs = np.concatenate([np.zeros((spans.shape[0], 1), np.int64), np.cumsum(spans, axis=1)], 1)
    start = local * per
    span = cs[block, start + windows] - cs[block, start]
    lines = np.minimum(line, extent - (block % nb) * line)
    return FoldPlan(block // nb, lines, windows, span, nb)


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
    k_blocks, n_blocks = -(-gemm.k // R), -(-gemm.n // C)
    folds = Folds(
        live,
        streamed,
        cycles,
        boundary,
        f,
        int(cycles.sum()) - groups_run,
        k_blocks,
        n_blocks,
        k_blocks * n_blocks,
    )
    slots = plan.lines * plan.windows * M  # MAC slots loaded per fold
    w_bits = int(slots.sum()) * (vb + ib)
    a_dense = g * m * gemm.k * vb
    stored = Stored(
        w_bits, g * gemm.k * gemm.n * vb, a_dense, a_dense, g * m * gemm.n * vb, w_bits,
        a_dense, None,
    )  # fmt: skip
    no_streams = WeightStreams(*([np.zeros(0, np.int64)] * 11))  # read only by units
    memory = memory_schedule(layer, stored, folds, folds.compute_cycles, no_streams, opts)
    issued = int(slots.sum()) * m * mult
    effectual = min(_effectual(masks.weight, masks.act, m) * mult, issued)
    gated = issued - effectual if arch.zero_gating else 0
    if arch.window_axis == "k":  # a fold reads its `span` k positions, writes its columns
        k_read, out_cols = plan.span, plan.lines
        act_regs, psum_regs = plan.lines * plan.span, plan.lines * plan.windows
    else:  # a fold reads its rows' activations, writes its `span` columns
        k_read, out_cols = plan.lines, plan.span
        act_regs, psum_regs = plan.lines * plan.windows, plan.lines * plan.span
    out_written = int(out_cols.sum()) * m * ab  # partial sums into the accumulators
    actions = {
        "mac": float(issued - gated),
        "mac_gated": float(gated),
        "pe_reg_bits.act": float(int(act_regs.sum()) * m * vb * mult),
        "pe_reg_bits.out": float(int(psum_regs.sum()) * m * ab * mult),
        "pe_reg_bits.weight": float(w_bits * mult),
        "glb_read_bits.weight": float(w_bits * mult),
        "glb_read_bits.act": float(int(k_read.sum()) * m * vb * mult),
        "glb_write_bits.out": float(out_written * mult),
        "glb_read_bits.out": float(max(out_written - g * m * gemm.n * ab, 0) * mult),
        "glb_write_bits.weight": float(memory.dram_w * mult),
        "glb_write_bits.act": float(memory.dram_a * mult),
        "dram_read_bits.weight": float(memory.dram_w * mult),
        "dram_read_bits.act": float(memory.dram_a * mult),
        "dram_write_bits.out": float(memory.dram_o * mult),
    }
    details = {
        "dataflow": "ws",
        "timing": arch.timing,
        "window_axis": arch.window_axis,
        "folds": f * mult,
        "folds_dense": folds.dense_folds * g * mult,
        "virtual_span_mean": float(plan.span.mean()) if f else 0.0,
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
