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

The widest span at every position comes from bit-sliced counts over the block's lines
packed into words (array ops over every block of every group); the greedy chain is then
walked in segments of about √extent positions, all at once (O(√extent) steps, each over
all blocks). The brute-force reference is :mod:`sod.reference.vusa`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.spec import Dataflow
from sod.arch.vusa import VUSAArch
from sod.models.common import Counts
from sod.models.dense import tpu_fold_costs
from sod.models.fibers import row_popcounts
from sod.models.memo import memo_by_content
from sod.models.operands import OperandMasks, operand_masks, weight_rows
from sod.models.systolic_options import Layer, SystolicOptions
from sod.models.systolic_steps import Folds, Stored, memory_schedule
from sod.models.systolic_streams import WeightStreams
from sod.workload.gemm import Gemm

# Blocks are measured in chunks of at most this many mask elements (bounds scratch memory).
_CHUNK_ELEMENTS = 1 << 22

try:  # the compiled window chain (optional build; pack_windows is its numpy twin)
    from sod import _native as _NATIVE
except ImportError:  # pragma: no cover - a build without a C compiler
    _NATIVE = None  # type: ignore[assignment]


def _as_words(packed: np.ndarray) -> np.ndarray:
    """``(..., bytes)`` packed bits → ``(..., words)``: the smallest of 8/16/32/64-bit
    words that holds them, else several 64-bit ones (zero padded)."""
    nbytes = packed.shape[-1]
    size = next((s for s in (1, 2, 4) if nbytes <= s), 8)
    whole = -(-nbytes // size) * size
    if whole != nbytes or not packed.flags.c_contiguous:
        padded = np.zeros((*packed.shape[:-1], whole), np.uint8)
        padded[..., :nbytes] = packed
        packed = padded
    return packed.view(np.dtype(f"u{size}"))


def _words(bits: np.ndarray) -> np.ndarray:
    """``(..., lines)`` bool → ``(..., words)`` unsigned words holding the lines as bits."""
    return _as_words(np.packbits(bits, axis=-1, bitorder="little"))


def widest_spans(t: np.ndarray, slots: int, macs: int) -> np.ndarray:
    """``(B, P)``: the span a window starting at each position would take, for blocks
    ``t`` of shape ``(B, P, lines)``: the widest ``v`` ≤ ``slots`` with at most ``macs``
    non-zeros on every line in ``[p, p+v)`` (at least ``macs``), clipped at the end."""
    return _widest_spans_of_words(_words(t), slots, macs).astype(np.int64)


def _widest_spans_of_words(a: np.ndarray, slots: int, macs: int) -> np.ndarray:
    """:func:`widest_spans` of blocks given as bit words ``(B, P, words)`` (bit = line).

    Bit-sliced over the lines: ``least[j]`` has a line's bit set when the line has at
    least j non-zeros in ``[p, p+v)``; adding position ``p+v`` turns ``least[j-1] & bit``
    into ``least[j]``. A span of v fits while no line reaches ``macs + 1`` — monotone in
    v, so the span is ``macs`` plus the number of v > macs that fit."""
    b, p, nw = a.shape
    span = np.full((b, p), macs, np.uint8)  # slots < 256
    if slots > macs and p:
        top = macs + 1
        pad = np.zeros((b, p + slots - 1, nw), a.dtype)  # zero lines past the end
        pad[:, :p] = a
        least: list[np.ndarray | None] = [None] * (top + 1)
        for v in range(1, slots + 1):
            x = pad[:, v - 1 : v - 1 + p]
            # High counts first (they read the lower ones before this position joins);
            # a count that can no longer reach macs + 1 by v = slots is not kept.
            for j in range(min(v, top), 0, -1):
                if j + slots - v < top:
                    break
                prev = x if j == 1 else least[j - 1]
                if prev is None:
                    continue
                inc = prev if j == 1 else prev & x
                cur = least[j]
                least[j] = inc if cur is None else cur | inc
            if v > macs:
                over = least[top]
                assert over is not None
                span += ~over.any(axis=2) if nw > 1 else over[:, :, 0] == 0
    tail = max(p - slots, 0)  # only the last windows can run past the end
    span[:, tail:] = np.minimum(span[:, tail:], p - np.arange(tail, p))
    return span


def _block_words(w: np.ndarray, rows: int) -> np.ndarray:
    """Every block (group major) of ``rows`` lines of axis 2 of the ``(G, P, L)`` mask
    ``w`` as bit words ``(G·⌈L/rows⌉, P, words)`` (zero lines past L). Blocks of whole
    bytes are cut from one packing of w's contiguous rows (the fast packbits); otherwise
    positions are padded and packed in chunks (bounded scratch memory)."""
    g, p, lines = w.shape
    nb = -(-lines // rows)
    if rows % 8 == 0:
        packed = np.packbits(w, axis=2, bitorder="little")  # (G, P, ⌈L/8⌉)
        need = nb * rows // 8
        if packed.shape[2] != need:
            packed = np.concatenate([packed, np.zeros((g, p, need - packed.shape[2]), np.uint8)], 2)
        words = _as_words(packed.reshape(g, p, nb, rows // 8))
    else:
        step = max(1, _CHUNK_ELEMENTS // max(nb * rows, 1))  # positions per padded chunk
        parts = []
        for gi in range(g):
            for q in range(0, p, step):
                t = np.zeros((min(step, p - q), nb * rows), dtype=bool)
                t[:, :lines] = w[gi, q : q + step]
                parts.append(_words(t.reshape(-1, nb, rows)))
        words = np.concatenate(parts).reshape(g, p, nb, -1)
    return words.transpose(0, 2, 1, 3).reshape(g * nb, p, -1)


def _chain(span_at: np.ndarray, least: int) -> np.ndarray:
    """``(B, W)``: the spans of the windows each block's greedy chain takes from position
    0, given ``span_at[b, q]``, the span of a window starting at q (at least ``least``
    except where clipped to end at P); 0 past a block's last window.

    The positions are cut into segments of about √P walked all at once: from every entry
    a chain can have into a segment (less than the widest span past its start) to the
    exit into the next one; stitching the segments' entries in order takes one gather per
    segment, and a second walk from the true entries marks the windows. So the Python
    steps are O(√P), not one per window. A step that leaves its segment parks the walker
    at ``P + 1 + exit offset`` (a fixed point), so every walk is a fixed number of
    gathers with no test."""
    b, p = span_at.shape
    if not p:
        return np.zeros((b, 0), np.int64)
    widest, least = int(span_at.max()), max(least, 1)
    seg = max(widest, int(np.sqrt(1.5 * p * least)))
    nseg = -(-p // seg)
    steps = -(-seg // least) + 1  # a clipped step ends the chain: one more at most
    seg_start = np.arange(nseg, dtype=np.int32) * seg
    width = p + 1 + widest  # positions, an unused P, then the parking places
    nxt = np.empty((b, width), np.int32)
    np.add(np.arange(p, dtype=np.int32), span_at, out=nxt[:, :p], dtype=np.int32)
    nxt[:, p:] = np.arange(p, width, dtype=np.int32)
    # Only a segment's last `widest` positions can step out of it: park those steps.
    ends = np.minimum(seg_start + seg, p)
    near = (ends[:, None] - np.arange(1, widest + 1)).ravel()
    near_end = np.repeat(ends, widest)[near >= seg_start.repeat(widest)]
    near = near[near >= seg_start.repeat(widest)]
    to = nxt[:, near]
    nxt[:, near] = np.where(to < near_end, to, p + 1 + to - near_end)
    flat = nxt.ravel()
    base = (np.arange(b, dtype=np.int32) * width)[:, None, None]

    def walk(pos: np.ndarray, on: np.ndarray | None) -> np.ndarray:
        """Every walker (B, S, E) to its parking place; marks what it visits on ``on``."""
        at = base + pos
        for step in range(steps):
            if on is not None:
                on[at] = True
            at = base + flat[at]
            if step % 8 == 7 and not (at - base <= p).any():  # all parked: done early
                break
        return at - base - (p + 1)

    entries = np.minimum(seg_start[:, None] + np.arange(widest, dtype=np.int32), p + 1)
    exits = walk(np.broadcast_to(entries, (b, nseg, widest)), None)  # (B, S, widest)
    first = np.zeros((b, nseg), np.int32)  # true entry offset of every segment
    rows = np.arange(b)
    for s in range(1, nseg):
        first[:, s] = exits[rows, s - 1, first[:, s - 1]]
    on = np.zeros(b * width, bool)
    walk((seg_start + first)[:, :, None], on)
    on = on.reshape(b, width)[:, :p]
    counts = on.sum(axis=1)
    out = np.zeros((b, int(counts.max())), np.int64)
    out[np.arange(out.shape[1]) < counts[:, None]] = span_at[on]  # both row-major
    return out


@memo_by_content(max_bytes=64 << 20)
def pack_windows(w: np.ndarray, rows: int, slots: int, macs: int) -> np.ndarray:
    """Span of every window, ``(B, W)``, windows running along axis 1 of the ``(G, P, L)``
    mask ``w``, for the ``B = G·⌈L/rows⌉`` blocks of ``rows`` lines of axis 2 (group
    major); 0 past a block's last window. Greedy, as the compiler maps: each window takes
    the widest span it can (:func:`widest_spans`) from where the previous one ended."""
    _, p, _ = w.shape
    words = _block_words(w, rows)
    # Spans of chunks of blocks of about _CHUNK_ELEMENTS / 64 words: the few word arrays
    # of a chunk stay in cache.
    per = max(1, _CHUNK_ELEMENTS // (64 * (p + slots)))
    span_at = np.concatenate(
        [
            _widest_spans_of_words(words[i : i + per], slots, macs)
            for i in range(0, words.shape[0], per)
        ]
    )
    return _chain(span_at, macs)


@memo_by_content(max_bytes=64 << 20)
def pack_windows_packed(rows: np.ndarray, n: int, line: int, slots: int, macs: int) -> np.ndarray:
    """:func:`pack_windows` of one group's ``(k, n)`` mask, windows along k, blocks of
    ``line`` columns, from its rows packed along n (``(k, ⌈n/8⌉)`` bytes, as a BitMask
    packs them), by the compiled chain (:mod:`sod._native`; ``line`` a multiple of 8)."""
    assert _NATIVE is not None and line % 8 == 0
    k = rows.shape[0]
    blocks = -(-n // line)
    cap = -(-k // macs)  # a window spans at least macs positions (but the last)
    spans = np.zeros((blocks, cap), np.int64)
    counts = np.zeros(blocks, np.int64)
    rows = np.ascontiguousarray(rows)
    _NATIVE.vusa_window_chain(
        rows, k, rows.shape[1], line // 8, blocks, slots, macs, cap, spans, counts
    )
    return spans[:, : int(counts.max())]


@dataclass(frozen=True)
class FoldPlan:
    """VUSA's folds of one GEMM (one execution of every distinct group), group-major, then
    block-major: a block is ``R`` rows of W (windows along n) or ``C`` columns (along k)."""

    group: np.ndarray  # (F,) group of each fold
    lines: np.ndarray  # (F,) block extent across the window axis (R or C, less at the end)
    windows: np.ndarray  # (F,) windows used (all but in a block's last fold)
    span: np.ndarray  # (F,) positions along the window axis covered (Σ window spans)
    blocks: int  # blocks per group


def fold_plan(w: np.ndarray, arch: VUSAArch, packed: list[np.ndarray] | None = None) -> FoldPlan:
    """The folds of the ``(G, k, n)`` weight mask ``w`` on ``arch`` (see the module doc).

    ``packed``: every group's mask packed along n (:func:`sod.models.operands.weight_rows`);
    with windows along k, blocks of whole bytes and the compiled kernels built, the chain
    runs on those bytes (:func:`pack_windows_packed`, the same spans)."""
    along_k = arch.window_axis == "k"
    line = arch.array_cols if along_k else arch.array_rows
    per = arch.windows_per_fold
    extent = w.shape[2] if along_k else w.shape[1]
    nb = -(-extent // line)
    slots, macs = arch.window_slots, arch.window_macs
    if packed is not None and along_k and line % 8 == 0 and _NATIVE is not None:
        parts = [pack_windows_packed(rows, extent, line, slots, macs) for rows in packed]
        width = max(p.shape[1] for p in parts)
        spans = np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts])
    else:
        wt = w if along_k else np.ascontiguousarray(w.transpose(0, 2, 1))  # windows on axis 1
        spans = pack_windows(wt, line, slots, macs)
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


def _col_counts(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a ``(G, rows, cols)`` boolean array, int64: rows summed 255 at
    a time in bytes (a byte holds up to 255), then the few partial sums in int64."""
    g, rows, cols = a.shape
    q = rows // 255
    out = a[:, q * 255 :].sum(axis=1, dtype=np.int64)
    if q:
        blocks = a[:, : q * 255].view(np.uint8).reshape(g, q, 255, cols)
        out += blocks.sum(axis=2, dtype=np.uint8).sum(axis=1, dtype=np.int64)
    return out


def _effectual(masks: OperandMasks, m: int, w_rows_packed: list[np.ndarray]) -> int:
    """``masks.effectual(m)``, counted faster: W's row counts as popcounts of its packed
    rows (``w_rows_packed``, per group), A's column counts in byte-wide partial sums
    (:func:`_col_counts`)."""
    w_rows = np.stack([row_popcounts(p) for p in w_rows_packed])
    act = masks.act
    if act is None:
        return int(w_rows.sum()) * m
    if masks.act_tiling is None:
        a_cols = _col_counts(act)
    else:  # A's period: counted once per whole repeat, plus the rows that end the batch
        rows, period = masks.act_tiling
        whole, rest = divmod(rows, period)
        a_cols = _col_counts(act) * whole
        if rest:
            a_cols += _col_counts(act[:, :rest])
    return int((a_cols * w_rows).sum())


def evaluate(gemm: Gemm, arch: VUSAArch) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on a VUSA array."""
    opts = SystolicOptions.from_arch(arch)  # the dense array's options: R, C, WS, memory
    layer = Layer.of(gemm, opts)
    masks = operand_masks(gemm, tiled=True)
    w_rows = weight_rows(gemm, masks)
    plan = fold_plan(masks.weight, arch, w_rows)
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
    effectual = min(_effectual(masks, m, w_rows) * mult, issued)
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
