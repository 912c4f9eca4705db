"""What the systolic model reads from an architecture and a GEMM, read once.

:class:`SystolicOptions` is every architecture switch the dense / Sparse-on-Dense model
(:mod:`sod.models.sparse_on_dense`) looks at; :class:`Layer` is the GEMM as that model
sees it (distinct groups, masks, operand formats). The steps in
:mod:`sod.models.systolic_streams` and :mod:`sod.models.systolic_steps` take these two
instead of re-reading the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np

from sod.arch.spec import Architecture, Dataflow, DecompressorPlacement, SparseOnDenseArch
from sod.compiler.plan import BlockCounts, block_counts, packed_block_counts
from sod.compiler.reorder import Reorder, take_columns, weight_reorder
from sod.formats import FormatSpec, format_module
from sod.models.operands import OperandMasks, operand_masks
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask, TiledMask

# A dense array has no decompressor, so nothing limits its "read width".
_UNLIMITED_READ_BITS = 1 << 30


@dataclass(frozen=True)
class SystolicOptions:
    """The switches of a dense or Sparse-on-Dense array.

    A dense array (``kind: dense``) is Sparse-on-Dense with nothing compressed: no
    decompressors, dense formats, no fallback, skipping or gating, and decompression
    "after the GLB" (a no-op), so both kinds run through the same steps.
    """

    rows: int  # R
    cols: int  # C
    dataflow: Dataflow  # of this layer once resolved (for_gemm); WS placeholder when auto
    auto_dataflow: bool  # dataflow: auto — each GEMM takes its fastest (dense.best_dataflow)
    timing: str  # "tpu" (double-buffered, accumulator buffer) or "scalesim"
    value_bits: int
    acc_bits: int
    pe_count: int
    spec: FormatSpec  # field widths of the compressed formats
    decompressors: bool  # Sparse-on-Dense: operands may be stored compressed
    weight_format: str
    act_format: str
    dense_fallback: bool  # a tile is stored dense when that is smaller
    skip_zero_tiles: bool
    weight_reorder: str  # none | sort (sod.compiler.reorder)
    zero_gating: bool
    after_glb: bool  # the GLB holds tiles as stored (units sit between GLB and array)
    tile_buffer: bool  # a unit decompresses the next fold's stream during this fold
    read_bits: int  # GLB bits one unit reads per cycle
    units: int  # units per operand
    lanes: int | None  # lanes a unit emits per cycle; None: the whole array edge
    ideal_memory: bool
    glb_bits: float
    dram_bandwidth_bytes_per_cycle: float

    @classmethod
    def from_arch(cls, arch: Architecture) -> SystolicOptions:
        if not isinstance(arch, SparseOnDenseArch):
            return cls(
                **_array(arch),
                spec=FormatSpec(value_bits=arch.value_bits),
                decompressors=False,
                weight_format="dense",
                act_format="dense",
                dense_fallback=False,
                skip_zero_tiles=False,
                weight_reorder="none",
                zero_gating=False,
                after_glb=True,
                tile_buffer=True,
                read_bits=_UNLIMITED_READ_BITS,
                units=1,
                lanes=None,
            )
        spec = FormatSpec(
            value_bits=arch.value_bits,
            index_bits=arch.index_bits,
            pointer_bits=arch.pointer_bits,
            run_bits=arch.run_bits,
        )
        return cls(
            **_array(arch),
            spec=spec,
            decompressors=True,
            weight_format=arch.weight_format,
            act_format=arch.act_format,
            dense_fallback=arch.dense_fallback,
            skip_zero_tiles=arch.skip_zero_tiles,
            weight_reorder=arch.weight_reorder,
            zero_gating=arch.zero_gating,
            after_glb=arch.placement is DecompressorPlacement.AFTER_GLB,
            tile_buffer=arch.decompressor_tile_buffer,
            read_bits=arch.decompressor_read_bits or arch.glb_read_width_bits,
            units=arch.decompressor_units,
            lanes=arch.decompressor_lanes or None,
        )

    def for_gemm(self, gemm: Gemm) -> SystolicOptions:
        """The options with ``dataflow: auto`` resolved for this GEMM: the dataflow with the
        fewest dense compute cycles under the timing (chosen from the shape, as a compiler
        would, so skipping never changes the mapping)."""
        if not self.auto_dataflow:
            return self
        from sod.models.dense import best_dataflow

        best = best_dataflow(gemm.m, gemm.k, gemm.n, self.rows, self.cols, self.timing)[0]
        return replace(self, dataflow=best)

    @property
    def unit_read_bits(self) -> int:
        """GLB bits per cycle into an operand's units: U units are modelled as one unit U×
        as wide (units on alternate streams behave the same when streams are similar)."""
        return self.read_bits * self.units

    @property
    def decompress_after_glb(self) -> bool:
        """Units between the GLB and the array: they can stall the array."""
        return self.decompressors and self.after_glb

    @property
    def decompress_before_glb(self) -> bool:
        """Units between DRAM and the GLB (ablation): they only slow the DRAM transfers."""
        return self.decompressors and not self.after_glb

    @property
    def stage_rows(self) -> int:
        """Rows (or columns) of the streamed operand the array edge needs on chip at once."""
        return self.rows if self.dataflow is not Dataflow.IS else self.cols


def _array(arch: Architecture) -> dict[str, Any]:
    """The fields both kinds share: the array and the memory system."""
    return {
        "rows": arch.array_rows,
        "cols": arch.array_cols,
        "dataflow": Dataflow.WS if arch.dataflow == "auto" else Dataflow(arch.dataflow),
        "auto_dataflow": arch.dataflow == "auto",
        "timing": arch.timing,
        "value_bits": arch.value_bits,
        "acc_bits": arch.acc_bits,
        "pe_count": arch.pe_count,
        "ideal_memory": arch.ideal_memory,
        "glb_bits": arch.glb_kib * 1024 * 8,
        "dram_bandwidth_bytes_per_cycle": arch.dram_bandwidth_bytes_per_cycle,
    }


def distinct_groups(gemm: Gemm) -> int:
    """Groups evaluated separately: a grouped convolution's groups or per-repeat masks
    (their masks differ); other repeats (stacked blocks, heads) share one mask and are
    evaluated once. The rule is written once, as :attr:`Gemm.operand_groups`."""
    return gemm.operand_groups


@dataclass(frozen=True)
class Layer:
    """One GEMM as the systolic model sees it."""

    gemm: Gemm
    groups: int  # distinct groups G (see distinct_groups)
    mult: int  # executions per distinct group: repeat / G
    masks: OperandMasks | None  # None on a dense array (it counts effectual MACs apart)
    w_format: str  # format of the W operand (activations' when W is an activation)
    a_format: str
    reorder: str = "none"  # the weight reordering applied to the masks (none: natural order)
    # Each group's W block counts, when the compiler measured them with the layout (a
    # reordered layer: from the search's packed masks, sod.compiler.reorder.Reorder).
    w_counts: tuple[BlockCounts, ...] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, gemm: Gemm, opts: SystolicOptions) -> Layer:
        # A dense array needs masks only to count effectual MACs, memoized by content.
        masks = operand_masks(gemm, tiled=True) if opts.decompressors else None
        g = distinct_groups(gemm)
        w_fmt = opts.weight_format if gemm.w_is_weight else opts.act_format
        for fmt in (w_fmt, opts.act_format):
            format_module(fmt)  # FormatError naming an unknown format
        return cls(gemm, g, gemm.repeat // g, masks, w_fmt, opts.act_format)

    def reordered(self, opts: SystolicOptions, consume: bool = False) -> Layer | None:
        """This layer with W's rows and columns permuted by the compiler
        (``opts.weight_reorder``, :func:`sod.compiler.reorder.weight_reorder`, one
        permutation per group) and A's columns permuted like W's rows (when A is stored
        compressed; a dense-stored A keeps its order, see :class:`_Effectual`); None when
        there is nothing to permute (no reordering, a dense array, W an activation) or
        every group keeps its natural order. MAC and non-zero totals are unchanged.

        ``consume``: this layer is not used again, so its own (writable) W masks are
        permuted in place instead of copied (a large FC mask is 100 MB)."""
        masks = self.masks
        if opts.weight_reorder == "none" or masks is None or not self.gemm.w_is_weight:
            return None
        bits = _weight_bits(self.gemm, masks.groups)
        natural_effectual = self.effectual  # before W is permuted (consume)
        perms = [
            weight_reorder(w, opts.rows, opts.cols, opts.dataflow.value, opts.weight_reorder, b)
            for w, b in zip(masks.weight, bits, strict=True)
        ]
        if all(p.is_identity for p in perms):
            return None
        act = masks.act
        if act is not None and self.a_format == "dense":
            # A dense-stored A is read only through its column counts (effectual MACs),
            # which permute with W's rows: Σ_k nnz(A[:, k])·nnz(W[k, :]) is the natural
            # one, counted before W is permuted, and A is left as it is.
            natural = (self.m, natural_effectual)
            kept = {f.name: getattr(masks, f.name) for f in fields(masks)}
            masks = _Effectual(**kept, natural_effectual=natural)
            act = None
        in_place = consume and masks.weight.dtype == bool and masks.weight.flags.writeable
        # The reordered layout's block counts for this dataflow's streams, from the
        # search's packed bits (the half its vectors are made of).
        along_rows = opts.dataflow is not Dataflow.IS
        counts = [p.block_counts(opts.rows, opts.cols, along_rows, not along_rows) for p in perms]
        kept = None if any(c is None for c in counts) else tuple(c for c in counts if c)
        if in_place and isinstance(masks, _Effectual) and kept is not None:
            # Nothing the model reads needs the permuted bool W (its tiles are measured
            # from the kept counts, its MACs from the natural count): W is permuted in
            # place when first read, if ever (a large FC mask is 100 MB).
            kept_fields = {f.name: getattr(masks, f.name) for f in fields(masks)}
            deferred = _Deferred(**kept_fields, pending=tuple(perms))
            return replace(self, masks=deferred, reorder=opts.weight_reorder, w_counts=kept)
        if in_place:
            weight = masks.weight
            for p, w in zip(perms, weight, strict=True):
                p.apply_in_place(w)
        else:
            weight = np.empty(masks.weight.shape, bool)  # filled in place: no stacked copy
            for p, w, out in zip(perms, masks.weight, weight, strict=True):
                p.apply(w, out=out)
        if act is not None:
            permuted = np.empty(act.shape, bool)  # filled in place: no stacked copy
            for p, a, out in zip(perms, act, permuted, strict=True):
                take_columns(a, p.rows, out=out)
            act = permuted
            masks = replace(masks, act=act)
        new_masks = replace(masks, weight=weight)
        return replace(self, masks=new_masks, reorder=opts.weight_reorder, w_counts=kept)

    def block_counts(
        self, rows: int, cols: int, row_counts: bool = True, col_counts: bool = True
    ) -> list[BlockCounts]:
        """Each group's :func:`~sod.compiler.plan.block_counts` of W on a ``rows × cols``
        grid (the halves asked for; the other may be None): kept from the layout search
        (a reordered layer), else from the BitMask's packed bits (the natural layout, no
        pass over the bool masks), else measured on the masks."""
        masks = self.masks
        if masks is None:
            raise ValueError("a dense array's layer has no W masks to count")
        kept = self.w_counts
        if kept is not None and all(
            (c.rows, c.cols) == (rows, cols)
            and (c.row_counts is not None or not row_counts)
            and (c.col_counts is not None or not col_counts)
            for c in kept
        ):
            return list(kept)
        bits = _weight_bits(self.gemm, masks.groups) if self.reorder == "none" else None
        if bits is None or any(b is None for b in bits):
            return [block_counts(w, rows, cols, row_counts, col_counts) for w in masks.weight]
        return [
            packed_block_counts(b, self.n, rows, cols, row_counts, col_counts)
            for b in bits
            if b is not None
        ]

    @cached_property
    def effectual(self) -> int:
        """:meth:`OperandMasks.effectual` of all m rows, counted once per layer (W's row
        counts from the BitMask's packed bits when at hand, the same numbers)."""
        masks = self.masks
        if masks is None:
            raise ValueError("a dense array's layer has no masks to count")
        if isinstance(masks, _Effectual):
            return masks.effectual(self.m)
        bits = _weight_bits(self.gemm, masks.groups)
        if any(b is None for b in bits):
            return masks.effectual(self.m)
        w_rows = np.stack([np.bitwise_count(b).sum(axis=1, dtype=np.int64) for b in bits])
        a_cols = masks.act_col_counts()
        if a_cols is None:
            return int(w_rows.sum()) * self.m
        return int((a_cols * w_rows).sum())

    @property
    def m(self) -> int:
        return self.gemm.m

    @property
    def k(self) -> int:
        return self.gemm.k

    @property
    def n(self) -> int:
        return self.gemm.n


def _weight_bits(gemm: Gemm, groups: int) -> list[np.ndarray | None]:
    """Each group's W mask bit-packed along n, as its BitMask holds it (stacked: group g
    is rows g·k …; shared: one for all), so the layout search need not pack it again;
    None where the masks did not come from a plain BitMask."""
    wm = gemm.weight_mask
    if not isinstance(wm, BitMask) or isinstance(wm, TiledMask):
        return [None] * groups
    k = gemm.k
    if wm.shape == (k, gemm.n):
        return [wm.packed] * groups
    if wm.shape == (groups * k, gemm.n):
        return [wm.packed[g * k : (g + 1) * k] for g in range(groups)]
    return [None] * groups


@dataclass(frozen=True)
class _Effectual(OperandMasks):
    """Masks whose A stays in the natural order while W is permuted (A stored dense, so
    nothing reads A's positions): the effectual MAC count, invariant under the common
    permutation of A's columns and W's rows, is the natural masks' one."""

    natural_effectual: tuple[int, int] = (0, 0)  # (m, effectual MACs of m rows)

    def effectual(self, m: int) -> int:
        rows, count = self.natural_effectual
        return count if m == rows else super().effectual(m)


@dataclass(frozen=True)
class _Deferred(_Effectual):
    """:class:`_Effectual` masks whose ``weight`` is the natural W of a consumed layer,
    permuted in place by ``pending`` (one :class:`~sod.compiler.reorder.Reorder` per
    group) when first read: :meth:`Layer.reordered` with ``consume`` hands these over
    with the reordered layout's block counts, which is all an evaluation reads, so the
    permuted bool mask is only built for a caller that looks at it."""

    pending: tuple[Reorder, ...] = ()

    def __getattribute__(self, name: str) -> Any:
        if name == "weight":
            pending = object.__getattribute__(self, "pending")
            if pending:
                weight = object.__getattribute__(self, "weight")
                for p, w in zip(pending, weight, strict=True):
                    p.apply_in_place(w)
                object.__setattr__(self, "pending", ())
        return object.__getattribute__(self, name)

    @property
    def groups(self) -> int:
        # the shape, which permuting does not change: no need to permute W for it
        return int(object.__getattribute__(self, "weight").shape[0])
