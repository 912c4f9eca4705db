"""Dedicated sparse accelerators with their memory system: masks in, Counts out.

:mod:`sod.models.scnn`, :mod:`sod.models.sparten` and :mod:`sod.models.index_match` count
compute cycles from the real masks; this module pulls the masks off the GEMM
(:mod:`sod.models.operands`), calls them, and adds what the shared memory system
(:mod:`sod.models.memory`) says about DRAM traffic and stalls, with every operand stored in
the accelerator's own compressed format. This module is kind-agnostic: each design
(:mod:`sod.designs`) passes its compute model and its storage format.

Outputs leave as dense ``value_bits`` values (they are re-compressed on the next layer's
way in, which this model charges to that layer's input).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from sod.arch.spec import ArchBase
from sod.errors import ArchitectureError
from sod.models.common import Counts, add_actions, combine_counts, scale_counts
from sod.models.fibers import TransposedBits
from sod.models.memory import evaluate_memory
from sod.models.operands import OperandMasks, operand_masks, period_gemm
from sod.workload.gemm import Gemm, LayerKind
from sod.workload.mask import BitMask, TiledMask

# A tiled A (batch as a repeat) whose full bool array is at most this many bytes is
# expanded and run whole; a larger one, or a larger dense A of a convolution, runs in
# parts of whole images of about this size (docs/large-batch.md).
EXPAND_ACT_BYTES = 256 << 20
# Bytes per (row, output column) pair the models keep while they run a part (cycle and
# step matrices), added to A's row of k bools in the working set of a part.
PART_BYTES_PER_ROW = 16

# compute(gemm, arch, weight_mask, act_mask) -> Counts of the PEs alone (no memory system);
# a mask shared by all repeats comes 2-D, per-group masks 3-D (G, rows, cols); bool
# arrays, or for models that take them the GEMM's BitMasks (SharedBitMasks).
ComputeModel = Callable[[Gemm, Any, Any, Any], Counts]
# stored_bits(arch, nnz, elements, fibers) -> bits of one operand in the design's format.
StorageFormat = Callable[[Any, int, int, int], float]


@dataclass(frozen=True)
class SharedBitMasks:
    """A GEMM's masks as it carries them, when both are plain 2-D BitMasks shared by
    every repeat (one distinct group): for compute models that take bit-packed operands
    (SparTen, index matching), which then never unpack them to bool."""

    weight: BitMask  # (k, n)
    act: BitMask  # (m, k)

    @cached_property
    def nnz(self) -> tuple[int, int]:
        """Non-zeros of (W, A), popcounted once for every mapping sharing the masks."""
        return self.weight.nnz, self.act.nnz


def shared_bitmasks(gemm: Gemm) -> SharedBitMasks | None:
    """The GEMM's masks as :class:`SharedBitMasks`, or None when they need
    :func:`~sod.models.operands.operand_masks` (no mask, a tiled A, stacked groups)."""
    w, a = gemm.weight_mask, gemm.act_mask
    plain = all(isinstance(x, BitMask) and not isinstance(x, TiledMask) for x in (w, a))
    if not plain or gemm.operand_groups != 1:
        return None
    assert w is not None and a is not None
    if w.shape != (gemm.k, gemm.n) or a.shape != (gemm.m, gemm.k):
        return None
    return SharedBitMasks(w, a)


def _swap_roles(actions: dict[str, float] | Any) -> dict[str, float]:
    """Action labels of a transposed run put back on the GEMM's operands (the run's
    ``.act`` operand was W, its ``.weight`` operand was A)."""
    swap = {"act": "weight", "weight": "act"}
    out: dict[str, float] = {}
    for key, value in actions.items():
        base, dot, operand = key.partition(".")
        name = f"{base}.{swap.get(operand, operand)}" if dot else key
        out[name] = out.get(name, 0.0) + float(value)
    return out


def transposed(compute: ComputeModel) -> ComputeModel:
    """``compute`` run on ``Oᵀ = Wᵀ·Aᵀ``: the weight operand takes the activation's place
    (rows of the transposed GEMM) and the activations the weight's (columns). For the
    accelerators whose PEs treat both operands alike (bitmask join, index matching) this
    is the same hardware with the roles of its two operand paths swapped. Counts come back
    in the GEMM's terms (actions relabelled, dense MACs of the GEMM). BitMask operands
    (:class:`SharedBitMasks`) go as :class:`~sod.models.fibers.TransposedBits`."""

    def run(gemm: Gemm, arch: Any, weight: Any, act: Any) -> Counts:
        flipped = Gemm(
            gemm.name,
            gemm.n,
            gemm.k,
            gemm.m,
            gemm.repeat,
            kind=LayerKind.LINEAR if gemm.kind is LayerKind.CONV else gemm.kind,
            w_is_weight=gemm.w_is_weight,
        )
        # Transposed views, no copies (a large FC weight mask is 100 MB as bool): the
        # models' pair kernels pack fibers from either layout (sod.models.fibers).
        if isinstance(weight, BitMask):  # packed operands: transposed by a marker
            w_t: Any = TransposedBits(act)
            a_t: Any = TransposedBits(weight)
        else:
            w_t = np.swapaxes(act, -1, -2)  # (k, m): Aᵀ as the "weight"
            a_t = np.swapaxes(weight, -1, -2)  # (n, k): Wᵀ as the "act"
        counts = compute(flipped, arch, w_t, a_t)
        return replace(counts, macs_dense=gemm.macs, actions=_swap_roles(counts.actions))

    return run


def _run(
    gemm: Gemm, arch: Any, compute: ComputeModel, weight: np.ndarray, act: np.ndarray | None
) -> Counts:
    g = weight.shape[0]
    if act is None:
        act = np.ones((g, gemm.m, gemm.k), dtype=bool)
    # A mask shared by all repeats is passed 2-D (the models evaluate it once and scale).
    return compute(gemm, arch, weight if g > 1 else weight[0], act if g > 1 else act[0])


def _row_parts(gemm: Gemm, masks: Any) -> list[tuple[int, int, int]] | None:
    """Row ranges ``(start, stop, times)`` of A evaluated one at a time, or None to run
    A whole. A convolution's tiled A (batch as a repeat) or dense A whose working set
    (:data:`PART_BYTES_PER_ROW`) is larger than :data:`EXPAND_ACT_BYTES` runs in parts
    of whole images of its period, each scaled by how often its rows occur (the rows of
    a last partial period once more than the others). A dense A is periodic with any
    period: one part of whole images stands for all (docs/large-batch.md)."""
    g, m, k, n = masks.groups, gemm.m, gemm.k, gemm.n
    tiled = masks.act_tiling is not None
    per_row = g * (k + PART_BYTES_PER_ROW * n)
    c = gemm.conv
    if c is None or m * per_row <= EXPAND_ACT_BYTES or not (tiled or masks.act is None):
        return None  # whole (a CNN's FC layers: one row per image, parallel work)
    unit = c.out_h * c.out_w  # one image's rows
    p = masks.act_tiling[1] if tiled else m
    if p % unit or m % unit:
        return None
    chunk = max(unit, EXPAND_ACT_BYTES // per_row // unit * unit)
    if not tiled:
        p = min(m, chunk)  # a dense A: one part of whole images repeats
    q, rem = divmod(m, p)
    return [
        (lo, min(hi, lo + chunk), times)
        for start, hi, times in ((0, rem, q + 1), (rem, p, q))
        if times
        for lo in range(start, hi, chunk)
    ]


def _tiled_compute(gemm: Gemm, arch: Any, compute: ComputeModel, masks: Any) -> Counts:
    """``compute`` of the GEMM. A small A runs whole (a tiled one expanded). A large
    tiled or dense-convolution A runs in parts of whole images (:func:`_row_parts`), each
    scaled by how many times its rows occur: exact where the model's work adds up over
    images (SCNN: images run one after another), an approximation at part boundaries for
    SparTen's and index matching's barriers (measured in docs/large-batch.md)."""
    parts = _row_parts(gemm, masks)
    if parts is None:
        act = masks.act
        if act is not None and masks.act_tiling is not None:
            m, p = masks.act_tiling
            act = act[:, np.arange(m) % p]
        return _run(gemm, arch, compute, masks.weight, act)
    total: Counts | None = None
    for lo, hi, times in parts:
        act = None if masks.act is None else masks.act[:, lo:hi]
        part = scale_counts(
            _run(period_gemm(gemm, hi - lo), arch, compute, masks.weight, act), times
        )
        total = part if total is None else combine_counts(total, part)
    assert total is not None
    return replace(total, macs_dense=gemm.macs)


def evaluate_accelerator(
    gemm: Gemm,
    arch: ArchBase,
    compute: ComputeModel,
    stored_bits: StorageFormat,
    masks: OperandMasks | SharedBitMasks | Callable[[], OperandMasks] | None = None,
) -> Counts:
    """Counts of one GEMM (all repeats) on a mask-driven sparse accelerator: ``compute``
    counts its PEs' cycles from the real masks, ``stored_bits`` is its storage format.
    ``masks``: the GEMM's ``operand_masks(gemm, tiled=True)``, or a function giving them,
    when the caller shares them between mappings (unpacked once; models do not modify
    them); or the GEMM's :class:`SharedBitMasks`, which ``compute`` takes as they are
    (2-D BitMasks, :class:`~sod.models.fibers.TransposedBits` when transposed)."""
    m, k, n = gemm.m, gemm.k, gemm.n
    if isinstance(masks, SharedBitMasks):
        # One distinct group run whole, as operand_masks would give it, without bools.
        g, mult, iid = 1, gemm.repeat, False
        counts = compute(gemm, arch, masks.weight, masks.act)
        w_nnz, nnz_a = masks.nnz
    else:
        if masks is None:
            masks = operand_masks(gemm, tiled=True)
        elif not isinstance(masks, OperandMasks):
            masks = masks()
        g, mult, iid = masks.groups, masks.multiplier, masks.iid_pattern
        counts = _tiled_compute(gemm, arch, compute, masks)
        w_nnz = masks.weight_nnz
        nnz_a = g * m * k if masks.act is None else masks.act_nnz()

    w_bits = stored_bits(arch, w_nnz, g * k * n, g * n)
    # DRAM and the GLB hold the input feature map, not its im2col expansion.
    a_bits = stored_bits(arch, nnz_a, g * m * k, g * m) * gemm.act_storage_ratio
    o_bits = g * m * n * arch.value_bits
    details = dict(counts.details)
    if arch.ideal_memory:
        stall = 0
        dram: tuple[float, float, float] = (a_bits, w_bits, o_bits)
        details["tiling"] = "ideal"
    else:
        try:
            mem = evaluate_memory(
                g * m,
                k,
                n,
                a_bits,
                w_bits,
                o_bits,
                max(counts.compute_cycles // mult, 1),
                arch.glb_kib * 8192,
                arch.dram_bandwidth_bytes_per_cycle,
                True,
                1,
                # Transfers overlap compute per work unit (the model's blocks or tiles, as
                # a systolic array's per fold), one execution of every distinct group.
                slots=max(g, int(counts.details.get("work_units", g)) // mult, 1),
            )
        except ArchitectureError as err:
            raise ArchitectureError(f"layer {gemm.name!r}: {err}") from None
        stall = mem.stall_cycles * mult
        dram = (mem.plan.dram_read_bits_a, mem.plan.dram_read_bits_w, mem.plan.dram_write_bits_o)
        details["tiling"] = mem.plan.schedule
    memory_actions = {
        "dram_read_bits.act": dram[0] * mult,
        "dram_read_bits.weight": dram[1] * mult,
        "dram_write_bits.out": dram[2] * mult,
        "glb_write_bits.act": dram[0] * mult,
        "glb_write_bits.weight": dram[1] * mult,
    }
    details["memory_stall_cycles"] = int(stall)
    details["weight_bits_stored"] = float(w_bits * (mult if gemm.w_is_weight else 1))
    details["iid_pattern"] = iid
    return Counts(
        counts.compute_cycles,
        counts.stall_cycles + int(stall),
        counts.macs_dense,
        counts.macs_issued,
        counts.macs_effectual,
        counts.pe_count,
        add_actions(counts.actions, memory_actions),
        details,
    )
