"""The N:M structured-sparsity systolic array (``kind: nm_systolic``), on the systolic
model's own steps.

The array is the weight-stationary array of :mod:`sod.models.sparse_on_dense` with one
change: N consecutive PE rows share a group of M activations broadcast along the row, and
each PE's stored index picks its activation with an M-to-1 mux. A fold therefore holds
``(R // N) * M`` reduction indices instead of R when its weights are N:M.

How it reuses the systolic model: the weights of a column tile are cut into k-spans of
``(R // N) * M`` indices; each span is ``ceil(span / R)`` virtual dense sub-folds (what
the dense array would run for it). Per (span, column tile), decided from the REAL mask:

* N:M-conformant (every group of M in every column holds at most N non-zeros): only the
  first sub-fold runs, holding the compressed tile (``ceil(kr / M) * N`` rows of values
  and log2(M)-bit indices); the others are empty and skipped;
* otherwise (``fallback: dense``, the default): every sub-fold runs, as on the dense
  array (muxes idle), stored dense; with ``fallback: split`` the span runs
  ``ceil(c / N)`` N:M folds instead (c the non-zeros of its fullest group) where that
  takes fewer folds, or as many in fewer bits.

The virtual streams go through the unchanged steps (fold schedule and TPU or SCALE-Sim
timing, MACs, storage, GLB tiling and DRAM traffic); the steps' skip-empty-fold rule
drops the unused sub-folds. Then three actions are corrected for what the steps cannot
know: the activation registers (a PE forwards M activations per cycle in an N:M fold),
the index bits loaded with the weights, and the partial-sum passes (one per live fold
of a column tile, not per dense row fold). Operands that are activations (attention's
``QK^T``, ``AV``) are not known before run time, so they are never compressed: dense.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sod.arch.spec import Dataflow
from sod.arch.structured import NMSystolicArch
from sod.errors import ArchitectureError
from sod.models.common import Counts
from sod.models.operands import operand_masks
from sod.models.systolic_options import Layer, SystolicOptions
from sod.models.systolic_steps import (
    actions,
    details,
    fold_schedule,
    mac_counts,
    memory_schedule,
    stored_operands,
)
from sod.models.systolic_streams import WeightStreams
from sod.workload.gemm import Gemm

#: Mask entries :func:`nm_conformance` pads and counts at once (bounds its scratch memory).
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class NMTiles:
    """Per (group, k-span, column tile): is it N:M, and its extent."""

    conformant: np.ndarray  # (G, kb, nb) bool
    max_per_group: np.ndarray  # (G, kb, nb) most non-zeros in one group of M
    span_rows: np.ndarray  # (kb,) k indices present in each span
    tile_cols: np.ndarray  # (nb,) n columns present in each column tile


def nm_conformance(weight: np.ndarray, rows: int, cols: int, n_keep: int, m_group: int) -> NMTiles:
    """Which (span, column tile) folds of ``(G, k, n)`` weight masks are N:M along k.

    A span is ``(rows // n_keep) * m_group`` consecutive k indices; groups of ``m_group``
    start at multiples of ``m_group`` (a partial last group is zero padded)."""
    g, k, n = weight.shape
    gpf = rows // n_keep
    span = gpf * m_group
    kb, nb = -(-k // span), -(-n // cols)
    most = np.empty((g, kb, nb), np.int32)  # (G, kb, nb)
    # A few spans at a time (bounded scratch: a whole large FC layer padded and counted
    # would be two 100 MB temporaries).
    per = max(1, _CHUNK_ELEMENTS // max(g * span * nb * cols, 1))
    for j0 in range(0, kb, per):
        j1 = min(kb, j0 + per)
        lo, hi = j0 * span, min(k, j1 * span)
        pad = np.zeros((g, (j1 - j0) * span, nb * cols), dtype=bool)
        pad[:, : hi - lo, :n] = weight[:, lo:hi]
        x = pad.view(np.uint8).reshape(g, j1 - j0, gpf, m_group, nb, cols)
        if m_group < 256:  # byte-wide adds of the group's rows (no int32 cast of every bit)
            per_group = x[:, :, :, 0].copy()
            for i in range(1, m_group):
                per_group += x[:, :, :, i]
        else:
            per_group = x.sum(axis=3, dtype=np.int32)
        most[:, j0:j1] = per_group.max(axis=(2, 4))
    span_rows = np.minimum(span, k - np.arange(kb) * span)
    tile_cols = np.minimum(cols, n - np.arange(nb) * cols)
    return NMTiles(most <= n_keep, most, span_rows, tile_cols)


def nm_streams(tiles: NMTiles, arch: NMSystolicArch) -> tuple[WeightStreams, np.ndarray]:
    """The virtual WS streams (one per sub-fold, image order: column tile outer, span,
    sub-fold inner) and, per stream, whether it is a live N:M fold.

    A span runs ``f`` N:M folds: 1 when conformant; else 0 (it runs its
    ``ceil(span / R)`` dense sub-folds), or, with ``fallback: split``, ``ceil(c / N)``
    for a span whose fullest group holds ``c`` non-zeros (fold j takes each group's
    non-zeros ranked jN..jN+N−1) when that is fewer folds than dense, or as many folds
    in fewer stored bits."""
    R, N, vb, idx = arch.array_rows, arch.n_keep, arch.value_bits, arch.index_bits
    conf = tiles.conformant  # (G, kb, nb)
    g, kb, nb = conf.shape
    nm_rows = -(-tiles.span_rows // arch.m_group) * N  # (kb,) compressed rows
    nm_folds = conf.astype(np.int64)
    if arch.fallback == "split":
        # Split where it takes fewer folds than dense, or as many in fewer bits.
        split = -(-tiles.max_per_group // N)
        dense_folds = -(-tiles.span_rows // R)[None, :, None]
        split_bits = (split * nm_rows[None, :, None]) * (vb + idx)
        dense_bits = (tiles.span_rows * vb)[None, :, None]
        better = (split < dense_folds) | ((split == dense_folds) & (split_bits < dense_bits))
        nm_folds = np.where(conf, 1, np.where(better, split, 0))
    subs = max(-(-int(tiles.span_rows.max()) // R), int(nm_folds.max(initial=1)))
    j = np.arange(subs)
    # (kb, subs): k rows of each dense sub-fold of each span (0 past the span's end)
    sub_rows = np.clip(tiles.span_rows[:, None] - j[None, :] * R, 0, R)
    # Broadcast to (G, nb, kb, subs): image order is column tile outer.
    f = nm_folds.transpose(0, 2, 1)[..., None]
    c = f > 0
    cols = tiles.tile_cols[None, :, None, None]
    dense_el = sub_rows[None, None] * cols
    live_nm = j[None, None, None, :] < f
    nm_el = np.where(live_nm, nm_rows[None, None, :, None], 0) * cols
    elements = np.where(c, nm_el, dense_el)
    size = np.where(c, nm_el * (vb + idx), dense_el * vb)
    shape = (g, nb, kb, subs)
    streams = int(np.prod(shape[1:]))

    def flat(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, shape).reshape(-1).astype(np.int64)

    live = flat(elements > 0)
    fold_stream = np.arange(g * streams)
    ws = WeightStreams(
        size_bits=flat(size),
        dense_bits=flat(dense_el * vb),
        nnz=live,  # the skip rule's "non-empty": live sub-folds only
        nonempty=flat(np.broadcast_to(np.full(1, R), shape)),
        vectors=flat(np.broadcast_to(np.full(1, R), shape)),
        lanes=flat(np.broadcast_to(cols, shape)),
        elements=flat(elements),
        decode_cycles=np.zeros(g * streams, np.int64),
        stall_cycles=np.zeros(g * streams, np.int64),
        fold_stream=fold_stream,
        fold_group=fold_stream // streams,
    )
    return ws, flat(live_nm).astype(bool)


def evaluate(gemm: Gemm, arch: NMSystolicArch) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on an N:M systolic array."""
    base = SystolicOptions.from_arch(arch)
    opts = replace(
        base,
        dataflow=Dataflow.WS,
        auto_dataflow=False,
        skip_zero_tiles=True,  # drops the unused sub-folds (nnz = 0), nothing else
        zero_gating=arch.zero_gating,
    )
    layer = Layer.of(gemm, opts)
    R, C = arch.array_rows, arch.array_cols
    if R < arch.n_keep:  # a resized copy skips the spec's validation
        raise ArchitectureError(
            f"an N:M array needs at least N={arch.n_keep} rows, got {R} (N rows share a group)"
        )
    weight = (
        layer.masks.weight if layer.masks is not None else operand_masks(gemm, tiled=True).weight
    )
    tiles = nm_conformance(weight, R, C, arch.n_keep, arch.m_group)
    if not gemm.w_is_weight:  # an activation operand: not compressed ahead of time
        tiles = replace(tiles, conformant=np.zeros_like(tiles.conformant))
        arch = arch.model_copy(update={"fallback": "dense"})
    ws, live_nm = nm_streams(tiles, arch)
    folds = fold_schedule(layer, ws, opts)
    macs = mac_counts(layer, ws, folds, opts)
    stored = stored_operands(layer, ws, opts)
    memory = memory_schedule(layer, stored, folds, folds.compute_cycles, ws, opts)
    acts = actions(layer, ws, folds, macs, stored, memory, opts)
    mult, vb, ab = layer.mult, arch.value_bits, arch.acc_bits
    # Issued MACs in N:M folds: each of those PEs forwards M activations per cycle.
    issued_nm = int((ws.elements * live_nm).sum()) * layer.m * mult
    acts["pe_reg_bits.act"] += float(issued_nm * vb * (arch.m_group - 1))
    nm_folds = int(live_nm.sum())
    acts["pe_reg_bits.weight"] += float(nm_folds * R * C * arch.index_bits * mult)
    # Partial sums: one GLB round trip per live fold of a column tile (the steps count
    # the dense array's row folds).
    passes = folds.run / max(layer.groups * folds.col_folds, 1)
    out_bits = layer.groups * layer.m * layer.n * ab * mult
    acts["glb_write_bits.out"] = float(out_bits * passes)
    acts["glb_read_bits.out"] = float(out_bits * max(passes - 1, 0))
    info = details(layer, folds, stored, memory, 0, opts)
    conf = tiles.conformant
    info = {
        **info,
        "nm": f"{arch.n_keep}:{arch.m_group}",
        "weight_format": f"{arch.n_keep}:{arch.m_group}" if nm_folds else "dense",
        "nm_tiles": int(conf.size),
        "nm_conformant_tiles": int(conf.sum()),
        "nm_folds": nm_folds * mult,
    }
    return Counts(
        folds.compute_cycles * layer.mult,
        memory.stall_cycles * layer.mult,
        macs.dense,
        macs.issued,
        macs.effectual,
        opts.pe_count,
        acts,
        info,
    )
