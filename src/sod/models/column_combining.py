"""The column-combining (Sparse-TPU style) systolic array: packed weights on the WS timing.

Per distinct group, the weight mask is packed (:func:`sod.mapping.column_combining.pack_columns`)
for the array's C columns: tile j (C columns of W) becomes a dense ``K'_j × C`` tile of
(value, member index) pairs, ``K'_j ≤ k``. Each tile then runs as the dense array runs a
``m × K'_j × C`` GEMM: ``⌈K'_j / R⌉`` row folds of the stationary tile, each streaming the
m activation rows. So the model is the dense/Sparse-on-Dense systolic path
(:mod:`sod.models.systolic_steps`) over packed weight streams:

* **Folds and timing** — the packed layout is a ``max_j ⌈K'_j/R⌉ × ⌈n/C⌉`` grid of row
  folds; a fold that holds no packed row is skipped (costs nothing, does not break the
  TPU-timing run: :func:`~sod.models.systolic_steps.fold_schedule` with skipping).
* **MACs** — issued: every PE slot of a live fold, each of the m streamed rows (empty slots
  of a packed row included, gated when ``zero_gating``); effectual from the real masks.
* **Storage** — weights stored packed in DRAM and the GLB: every slot of a packed tile is
  ``value_bits + ⌈log2 g⌉`` bits (word-aligned per tile); activations dense (m × k).
* **Reads** — a fold reads its packed tile once, and the activation columns of its rows'
  members (the g-times wider row feed): per tile, ``m × (non-empty lines) × value_bits``.
  The PE's activation registers move ``members × value_bits`` bits per row per step.
* **Memory** — the shared GLB tiling / DRAM model
  (:func:`~sod.models.systolic_steps.memory_schedule`) on the stored sizes.

A GEMM whose W operand is an activation (attention) cannot be packed at compile time: it
runs dense on the same array (its mux passes lane 0; not priced). The g-to-1 mux of every
active MAC is priced as ``act_select`` (a composed AND-OR mux, :func:`sod.cost.components.mux`);
its area is in the PE (:mod:`sod.rtl.cc_pe`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sod.arch.packing import ColumnCombiningArch
from sod.arch.spec import Dataflow
from sod.mapping.column_combining import PackedTiles, pack_columns, packed_tiles
from sod.models.common import Counts
from sod.models.memo import memo_by_content
from sod.models.operands import OperandMasks, weight_rows
from sod.models.systolic_options import Layer, SystolicOptions, lazy_operand_masks
from sod.models.systolic_steps import (
    Folds,
    Macs,
    Memory,
    Stored,
    fold_schedule,
    mac_counts,
    memory_schedule,
)
from sod.models.systolic_streams import WeightStreams
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


@memo_by_content(max_bytes=64 << 20)
def _packed(
    w_packed: np.ndarray, n: int, cols: int, g: int, window: int, split_min: int, rows: int
) -> tuple[np.ndarray, ...]:
    """Packed occupancy of one group's mask (its ``(k, ⌈n/8⌉)`` packed bytes), memoized
    by content (sizing re-evaluates the same layer at several array sizes)."""
    w = BitMask(w_packed, (int(w_packed.shape[0]), n))
    pt = packed_tiles(w, pack_columns(w, cols, g, window, split_min), rows)
    return pt.rows, pt.nnz, pt.members, pt.lines, pt.cols


def packed_layout(masks: OperandMasks, arch: ColumnCombiningArch, gemm: Gemm) -> list[PackedTiles]:
    """Per distinct group, the packed occupancy of every (tile, row fold)."""
    R, C = arch.array_rows, arch.array_cols
    g, window, split = arch.max_combine, arch.pack_window, arch.split_min
    n = gemm.n
    return [PackedTiles(*_packed(w, n, C, g, window, split, R)) for w in weight_rows(gemm, masks)]


def _streams(parts: list[PackedTiles], arch: ColumnCombiningArch) -> WeightStreams:
    """WS weight streams of the packed layout: one per (group, tile, row fold), tile-major,
    every group padded to the same number of row folds."""
    folds = max(p.rows.shape[1] for p in parts)
    slot_bits = arch.value_bits + arch.member_index_bits
    word = arch.glb_read_width_bits

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, ((0, 0), (0, folds - x.shape[1])))

    rows = np.stack([pad(p.rows) for p in parts])  # (G, T, F)
    nnz = np.stack([pad(p.nnz) for p in parts])
    cols = np.stack([np.broadcast_to(p.cols[:, None], (p.rows.shape[0], folds)) for p in parts])
    elements = (rows * cols).ravel().astype(np.int64)
    size = -(-(elements * slot_bits) // word) * word
    dense = -(-(elements * arch.value_bits) // word) * word
    s = elements.size
    zeros = np.zeros(s, np.int64)
    per_group = s // len(parts)
    return WeightStreams(
        size_bits=size,
        dense_bits=dense,
        nnz=nnz.ravel().astype(np.int64),
        nonempty=rows.ravel().astype(np.int64),
        vectors=np.full(s, arch.array_rows, np.int64),
        lanes=cols.ravel().astype(np.int64),
        elements=elements,
        decode_cycles=zeros,
        stall_cycles=zeros,
        fold_stream=np.arange(s),
        fold_group=np.repeat(np.arange(len(parts)), per_group),
    )


def evaluate_column_combining(gemm: Gemm, arch: ColumnCombiningArch) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on the column-combining array."""
    from sod.models.sparse_on_dense import evaluate as evaluate_systolic

    if not gemm.w_is_weight:
        # Both operands are activations: nothing to pack at compile time, run dense.
        counts = evaluate_systolic(gemm, arch)
        return replace(counts, details={**counts.details, "packed": False})
    base = SystolicOptions.from_arch(arch)
    opts = replace(
        base,
        dataflow=Dataflow.WS,
        auto_dataflow=False,
        skip_zero_tiles=True,
        zero_gating=arch.zero_gating,
    )
    masks = lazy_operand_masks(gemm)  # W is read packed (weight_rows)
    groups, mult = masks.groups, masks.multiplier
    parts = packed_layout(masks, arch, gemm)
    ws = _streams(parts, arch)
    row_folds = int(ws.size_bits.size // (groups * parts[0].rows.shape[0]))
    packed = Gemm(f"{gemm.name} (packed)", gemm.m, row_folds * arch.array_rows, gemm.n)
    packed_layer = Layer(packed, groups, mult, None, "dense", "dense")
    layer = Layer(gemm, groups, mult, masks, "dense", "dense")
    folds = fold_schedule(packed_layer, ws, opts)
    macs = mac_counts(layer, ws, folds, opts)
    vb = arch.value_bits
    g, m, k, n = groups, gemm.m, gemm.k, gemm.n
    w_stored = int(ws.size_bits.sum())
    a_bits = g * m * k * vb
    w_dense, o_bits = g * k * n * vb, g * m * n * vb
    stored = Stored(w_stored, w_dense, a_bits, a_bits, o_bits, w_stored, a_bits, None)
    memory = memory_schedule(layer, stored, folds, folds.compute_cycles, ws, opts)
    acts = _actions(parts, ws, folds, macs, memory, gemm, arch, mult)
    lines = sum(int(p.lines.sum()) for p in parts)
    kp = sum(int(p.rows.sum()) for p in parts)
    details = {
        "dataflow": "ws",
        "timing": opts.timing,
        "packed": True,
        "folds": folds.run * mult,
        "folds_dense": -(-k // arch.array_rows) * -(-n // arch.array_cols) * g * mult,
        "packed_rows": kp,  # Σ K'_j over tiles and distinct groups
        "combine_ratio": lines / kp if kp else 0.0,  # lines per packed row
        "weight_format": "packed",
        "weight_bits_stored": w_stored * mult,
        "weight_bits_dense": stored.w_dense,
        "memory_stall_cycles": memory.stall_cycles * mult,
        "tiling": memory.tiling,
        "iid_pattern": bool(masks.iid_pattern),
    }
    return Counts(
        folds.compute_cycles * mult,
        memory.stall_cycles * mult,
        macs.dense,
        macs.issued,
        macs.effectual,
        arch.pe_count,
        acts,
        details,
    )


def _actions(
    parts: list[PackedTiles],
    ws: WeightStreams,
    folds: Folds,
    macs: Macs,
    memory: Memory,
    gemm: Gemm,
    arch: ColumnCombiningArch,
    mult: int,
) -> dict[str, float]:
    """Action counts of every repeat (names: :mod:`sod.models.common`); ``mult``:
    executions per distinct group."""
    m, vb, ab = gemm.m, arch.value_bits, arch.acc_bits
    slot_bits = vb + arch.member_index_bits
    live = folds.live
    # Per tile: lines fed (activation columns read), row folds (partial-sum passes; a tile
    # with no packed row still writes its zero outputs once).
    lines = sum(float(p.lines.sum()) for p in parts)
    member_elems = sum(float((p.members * p.cols[:, None]).sum()) for p in parts)
    psum_out = sum(float((np.maximum((p.rows > 0).sum(axis=1), 1) * p.cols).sum()) for p in parts)
    psum_in = sum(
        float((np.maximum((p.rows > 0).sum(axis=1) - 1, 0) * p.cols).sum()) for p in parts
    )
    return {
        "mac": float(macs.issued - macs.gated),
        "mac_gated": float(macs.gated),
        "act_select": float(macs.issued - macs.gated),  # the g-to-1 mux of every active MAC
        # Every PE of a packed row latches and forwards its group's member activations.
        "pe_reg_bits.act": member_elems * m * vb * mult,
        "pe_reg_bits.out": float(macs.issued * ab),
        "pe_reg_bits.weight": float(folds.run * arch.array_rows * arch.array_cols * slot_bits)
        * mult,
        "glb_read_bits.weight": float(ws.size_bits[live].sum()) * mult,
        "glb_read_bits.act": lines * m * vb * mult,
        "glb_write_bits.out": psum_out * m * ab * mult,
        "glb_read_bits.out": psum_in * m * ab * mult,
        "glb_write_bits.weight": memory.dram_w * mult,
        "glb_write_bits.act": memory.dram_a * mult,
        "dram_read_bits.weight": memory.dram_w * mult,
        "dram_read_bits.act": memory.dram_a * mult,
        "dram_write_bits.out": memory.dram_o * mult,
    }
