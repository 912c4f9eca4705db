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
from sod.compiler.bitcount import block_bit_counts
from sod.compiler.plan import BlockCounts, block_counts, packed_block_counts
from sod.compiler.reorder import Reorder, take_columns, weight_reorder
from sod.formats import FormatSpec, format_module
from sod.models.fibers import plain_bitmask, row_popcounts
from sod.models.operands import OperandMasks, operand_masks, weight_bits
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

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


def lazy_operand_masks(gemm: Gemm) -> OperandMasks:
    """``operand_masks(gemm, tiled=True)``, with the bool arrays of plain BitMasks unpacked
    only when first read (:class:`_Lazy`): a model that counts from the packed bits never
    pays for them."""
    return _Lazy.of(gemm) or operand_masks(gemm, tiled=True)


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
        masks: OperandMasks | None = None
        if opts.decompressors:
            masks = lazy_operand_masks(gemm)
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
        permuted in place instead of copied (a large FC mask is 100 MB) — with A stored
        dense, only when something reads the reordered W (:class:`_Lazy`): the layer
        carries the reordered block counts from the layout search's packed bits."""
        masks = self.masks
        if opts.weight_reorder == "none" or masks is None or not self.gemm.w_is_weight:
            return None
        bits = weight_bits(self.gemm, masks.groups)
        natural_effectual = self.effectual  # before W is permuted (consume)
        args = (opts.rows, opts.cols, opts.dataflow.value, opts.weight_reorder)
        if _Lazy.packed_weight(masks) and bits is not None:
            # W not unpacked: the layout search reads its packed bits only
            perms = [weight_reorder(None, *args, b, n=self.n) for b in bits]
        else:
            known: list[np.ndarray | None] = [None] * masks.groups if bits is None else [*bits]
            perms = [weight_reorder(w, *args, b) for w, b in zip(masks.weight, known, strict=True)]
        if all(p.is_identity for p in perms):
            return None
        # The reordered layout's block counts for this dataflow's streams, from the
        # search's packed bits (the half its vectors are made of).
        along_rows = opts.dataflow is not Dataflow.IS
        counts = [p.block_counts(opts.rows, opts.cols, along_rows, not along_rows) for p in perms]
        kept = None if any(c is None for c in counts) else tuple(c for c in counts if c)
        act = None
        if _Lazy.has_act(masks) and self.a_format == "dense":
            # A dense-stored A is read only through its column counts (effectual MACs),
            # which permute with W's rows: Σ_k nnz(A[:, k])·nnz(W[k, :]) is the natural
            # one, counted before W is permuted, and A is left as it is.
            natural = (self.m, natural_effectual)
            if consume and kept is not None and _Lazy.permutable(masks, self):
                # Nothing the model reads needs the permuted bool W (its tiles are
                # measured from the kept counts, its MACs from the natural count): W is
                # permuted in place when first read, if ever (a large FC mask is 100 MB).
                deferred = _Lazy.deferred(masks, natural, tuple(perms))
                return replace(self, masks=deferred, reorder=opts.weight_reorder, w_counts=kept)
            base = {f.name: getattr(masks, f.name) for f in fields(OperandMasks)}
            masks = _Effectual(**base, natural_effectual=natural)
        else:
            act = masks.act
        if consume and masks.weight.dtype == bool and masks.weight.flags.writeable:
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
        bits = weight_bits(self.gemm, masks.groups) if self.reorder == "none" else None
        if bits is None:
            return [block_counts(w, rows, cols, row_counts, col_counts) for w in masks.weight]
        return [packed_block_counts(b, self.n, rows, cols, row_counts, col_counts) for b in bits]

    @cached_property
    def effectual(self) -> int:
        """:meth:`OperandMasks.effectual` of all m rows, counted once per layer (W's row
        counts from the BitMask's packed bits when at hand, the same numbers)."""
        masks = self.masks
        if masks is None:
            raise ValueError("a dense array's layer has no masks to count")
        if isinstance(masks, _Effectual) and masks.natural_effectual[0] == self.m:
            return masks.natural_effectual[1]
        # The BitMask's bits are the natural W: a reordered one is counted as it is.
        bits = weight_bits(self.gemm, masks.groups) if self.reorder == "none" else None
        if bits is None:
            return masks.effectual(self.m)
        w_rows = np.stack([row_popcounts(b) for b in bits])
        a_cols = _Lazy.act_cols_of(masks)
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


@dataclass(frozen=True)
class _Effectual(OperandMasks):
    """Masks whose A stays in the natural order while W is permuted (A stored dense, so
    nothing reads A's positions): the effectual MAC count, invariant under the common
    permutation of A's columns and W's rows, is the natural masks' one."""

    natural_effectual: tuple[int, int] = (0, 0)  # (m, effectual MACs of m rows)

    def effectual(self, m: int) -> int:
        rows, count = self.natural_effectual
        return count if m == rows else super().effectual(m)


#: The bool array a lazy mask holds until it is unpacked.
_UNREAD = np.zeros((0, 0, 0), bool)


@dataclass(frozen=True)
class _Lazy(_Effectual):
    """Masks whose bool arrays are made only when first read: ``weight`` and ``act``
    unpacked from the ``source`` GEMM's plain BitMasks (``pending_w`` / ``pending_a``;
    the same arrays :func:`~sod.models.operands.operand_masks` gives) or taken from the
    ``base`` masks of a consumed natural layer, then W permuted in place by ``perms`` (a
    reordered layer, one :class:`~sod.compiler.reorder.Reorder` per group). The
    Sparse-on-Dense model measures CSC and dense W tiles from block counts of the packed
    bits (:meth:`Layer.block_counts`, kept by the layout search for a
    reordered layer) and a dense-stored A only through its column counts, also from the
    packed bits (:meth:`Layer.effectual`), so an evaluation never unpacks a mask it does
    not read. ``natural_effectual`` is set on a reordered layer only."""

    source: Gemm | None = None
    n_groups: int = 0
    pending_w: bool = False
    pending_a: bool = False
    perms: tuple[Reorder, ...] = ()
    base: OperandMasks | None = None  # a consumed natural layer's masks: its arrays, if read

    def __getattribute__(self, name: str) -> Any:
        if name in ("weight", "act"):
            get = object.__getattribute__
            flag = "pending_w" if name == "weight" else "pending_a"
            if get(self, flag):
                base = get(self, "base")
                gemm, g = get(self, "source"), get(self, "n_groups")
                if base is not None:  # the natural masks' own arrays (consumed)
                    value = getattr(base, name)
                elif name == "weight":
                    value = gemm.stacked_weight_mask(g)
                else:
                    value = gemm.stacked_act_mask(g)
                object.__setattr__(self, name, value)
                object.__setattr__(self, flag, False)
            if name == "weight" and get(self, "perms"):
                for p, w in zip(get(self, "perms"), get(self, "weight"), strict=True):
                    p.apply_in_place(w)
                object.__setattr__(self, "perms", ())
        return object.__getattribute__(self, name)

    @property
    def groups(self) -> int:
        # from the shapes alone: reading it unpacks nothing
        return int(object.__getattribute__(self, "n_groups"))

    @classmethod
    def of(cls, gemm: Gemm) -> _Lazy | None:
        """The masks of a GEMM whose W (and A, if any) are plain BitMasks of a shared or
        stacked shape, nothing unpacked; None for any other GEMM (operand_masks then
        reads it, drawing i.i.d. patterns, expanding tiled masks, raising on a bad
        shape)."""
        wm, am = gemm.weight_mask, gemm.act_mask
        g, m, k, n = gemm.operand_groups, gemm.m, gemm.k, gemm.n
        if (
            not isinstance(wm, BitMask)
            or not plain_bitmask(wm)
            or wm.shape not in ((k, n), (g * k, n))
        ):
            return None
        if am is None and gemm.act_density < 1.0:
            return None
        if am is not None and (not plain_bitmask(am) or am.shape not in ((m, k), (g * m, k))):
            return None
        masks = cls(
            _UNREAD,
            None,
            gemm.repeat // g,
            False,
            None,
            source=gemm,
            n_groups=g,
            pending_w=True,
            pending_a=am is not None,
        )
        return masks

    @cached_property
    def weight_nnz(self) -> int:
        """:attr:`OperandMasks.weight_nnz`, from the source's packed W when at hand (a
        popcount; permuting W keeps it)."""
        gemm = object.__getattribute__(self, "source")
        if gemm is None:
            return int(np.count_nonzero(self.weight))
        wm, g = gemm.weight_mask, self.groups
        shared = g if wm.shape[0] != g * gemm.k else 1  # a shared W counts once per group
        return int(wm.nnz) * shared

    @staticmethod
    def packed_weight(masks: OperandMasks) -> bool:
        """Whether ``masks``' W is still only the source's packed bits."""
        return isinstance(masks, _Lazy) and bool(object.__getattribute__(masks, "pending_w"))

    @staticmethod
    def has_act(masks: OperandMasks) -> bool:
        """Whether ``masks`` has an A mask (``masks.act is not None``), unpacking none."""
        if isinstance(masks, _Lazy) and object.__getattribute__(masks, "pending_a"):
            return True
        return object.__getattribute__(masks, "act") is not None

    @staticmethod
    def act_cols_of(masks: OperandMasks) -> np.ndarray | None:
        """:meth:`OperandMasks.act_col_counts`, from the source's packed A when it is not
        unpacked (each group's column counts: popcounts of its packed rows' bits)."""
        if not (isinstance(masks, _Lazy) and object.__getattribute__(masks, "pending_a")):
            return masks.act_col_counts()
        gemm = object.__getattribute__(masks, "source")
        g, m, k = masks.groups, gemm.m, gemm.k
        packed = gemm.act_mask.packed
        parts = (
            [packed] if packed.shape[0] == m else [packed[i * m : (i + 1) * m] for i in range(g)]
        )
        cols = np.stack(
            [block_bit_counts(p, None, 255).sum(axis=0, dtype=np.int64)[:k] for p in parts]
        )
        return np.broadcast_to(cols, (g, k)) if len(parts) < g else cols

    @staticmethod
    def permutable(masks: OperandMasks, layer: Layer) -> bool:
        """Whether ``masks``' W is (or, unpacked, will be) a writable bool array, so that
        it can be permuted in place: a shared W broadcast over groups is not."""
        if _Lazy.packed_weight(masks):
            g, wm = masks.groups, layer.gemm.weight_mask
            return g == 1 or (wm is not None and wm.shape[0] == g * layer.k)
        w = masks.weight
        return bool(w.dtype == bool and w.flags.writeable)

    @staticmethod
    def deferred(
        masks: OperandMasks, natural: tuple[int, int], perms: tuple[Reorder, ...]
    ) -> _Lazy:
        """``masks`` reordered by ``perms`` (consumed: its W, once unpacked, is permuted
        in place), A kept natural, with the natural effectual count; nothing is unpacked
        or permuted until read."""
        get = object.__getattribute__
        lazy = isinstance(masks, _Lazy)
        pending_w = lazy and bool(get(masks, "pending_w"))
        pending_a = lazy and bool(get(masks, "pending_a"))
        out = _Lazy(
            get(masks, "weight") if not pending_w else _UNREAD,
            get(masks, "act") if not pending_a else None,
            masks.multiplier,
            masks.iid_pattern,
            masks.act_tiling,
            natural_effectual=natural,
            source=get(masks, "source") if lazy else None,
            n_groups=masks.groups,
            pending_w=pending_w,
            pending_a=pending_a,
            perms=perms,
            base=masks if pending_w or pending_a else None,
        )
        return out
