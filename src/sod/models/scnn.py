"""Analytic model of SCNN (Parashar et al., ISCA 2017), from real non-zero masks.

SCNN runs a convolution as Cartesian products. The input plane (H × W) is cut into
``pe_rows × pe_cols`` equal tiles, one per PE (planar tiling, all channels). Output
channels are processed in groups of ``Kc = out_channel_group``; for each group and input
channel c, every PE multiplies each vector of F non-zero weights (of channel c, group's
output channels, all kernel positions, in (k, r, s) order) with each vector of I non-zero
activations of its tile (in (y, x) order): one F×I product array per cycle. Each product
goes through a scatter crossbar to the accumulator bank of its output coordinate; the
``accumulator_banks`` banks take one product each per cycle, so a cycle whose products
hit one bank q times lasts q cycles (bank conflicts; same-address products conflict too).
Products whose output falls outside the plane (or between strides) are computed and
dropped (wasted). PEs synchronize after every output-channel group (the slowest PE sets
its time); images of a batch run one after another.

Kc is chosen per layer so that a group's partial sums fit the accumulator banks
(:func:`sod.mapping.scnn.accumulator_tiling`, SCNN's rule; ``out_channel_group: auto``):
Kc x the outputs a PE's tile reaches (halo included) <= banks x entries. A tile whose one
output channel does not fit is run as sub-tiles, one pass each (a barrier over the PEs
and a fresh broadcast of the weights), as on a grid of more, virtual PEs.

Per (image, PE, group, channel) block, ideal cycles are
``ceil(nnz_w / F) · ceil(nnz_a / I)`` (intra-PE fragmentation: partial vectors waste
multiplier slots); layer cycles are ``Σ_(image, group) max_PE Σ_c block cycles`` with bank
conflicts added. Everything except the conflicts is exact and costs a few small matrix
products. Bank conflicts need the coordinates of every product: they are computed exactly
(every cycle enumerated, vectorized) when the layer has at most ``conflict_cycles`` ideal
cycles; otherwise on ``conflict_cycles`` cycles drawn uniformly with a seeded Generator,
and the measured slow-down ratio is applied to every block (a stated approximation whose
error against :mod:`sod.reference.scnn` is tested).

With ``stride_mapping="polyphase"`` a strided convolution runs as its stride phases
(:func:`sod.mapping.scnn.polyphase_plane`): the channels of a stride-1 plane, so no product
falls between strides (border products of the Cartesian product remain, as in any stride-1
layer). The design's per-layer search picks direct or polyphase (and ``fc_mapping``) by
cycles (:mod:`sod.designs.scnn`).

Non-convolution GEMMs (FC, attention) are mapped as SCNN maps FC layers: a 1 × 1
convolution with k input and n output channels over a plane of the m rows (tokens), laid
out ``ceil(m / ceil(√m)) × ceil(√m)``. A batch-1 FC layer is then a 1 × 1 plane on a
single PE — SCNN's known poor FC efficiency.

Conv GEMMs need the input feature-map mask. Pass it as ``input_mask`` (batch, channels,
H, W); otherwise it is folded back from the im2col'd ``act_mask``: an input pixel is
non-zero if any window entry that reads it is (exact when ``act_mask`` is a real im2col;
for an arbitrary m × k mask this ORs the windows, a superset).

The geometry (plane, tiles, output coordinates, bank hash, im2col and its fold) is in
:mod:`sod.mapping.scnn` (the reference takes only the plane's sizes from it and re-derives
the rest); the per-cycle bank-conflict kernel is in :mod:`sod.models.scnn_banks`.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from sod.arch.sparse import SCNNArch
from sod.errors import WorkloadError
from sod.mapping.scnn import (
    AccumulatorTiling,
    SCNNPlane,
    accumulator_tiling,
    by_channel,
    channel_split_pes,
    group_size,
    im2col_counts,
    plane_operands,
    polyphase_operands,
    polyphase_plane,
    reduction_cycles,
    scnn_plane,
    uses_polyphase,
)
from sod.models.common import Counts
from sod.models.scnn_banks import (
    WEIGHT_BITS,
    bank_conflicts,
    build_layer,
    ideal_cycles,
    packed_group_counts,
)
from sod.models.sparse_masks import col_counts, distinct_repeats, mask_arrays, row_counts
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

#: Ideal cycles up to which bank conflicts are computed exactly (else sampled), with strict
#: per-cycle bank arbitration (``crossbar_buffering: none``).
DEFAULT_CONFLICT_CYCLES = 1 << 14
#: The same with queued banks (``deep``, the default) and at least two banks per product
#: slot (32 banks for 4x4 multipliers): conflicts add ~2 % of cycles, and 2,048 sampled
#: cycles keep the error within 0.8 % (measured against full enumeration on 9 conv
#: layers x 2 seeds; 4,096 cycles give 0.4 %, 16,384 give 0.2 % at 8x the time). With
#: fewer banks (8: bank-bound) the error at 4,096 reaches 12 %, so those keep the larger
#: sample.
DEEP_CONFLICT_CYCLES = 1 << 11

#: Entries of the (group, channel) weight-vector table converted to float64 at once for the
#: ideal-cycle product (bounds its scratch: 4 MB).
_IDEAL_BLOCK_ELEMENTS = 1 << 19

#: Counts of :func:`_one_repeat` that add up over repeats.
_REPEAT_COUNTS = (
    "cycles",
    "ideal",
    "issued",
    "busy_ideal",
    "pe_slots",
    "latched_w",
    "latched_a",
    "act_sends",
)
#: Totals of :func:`_run_repeats`: those, plus valid products.
_TOTALS = (*_REPEAT_COUNTS, "valid_products")


def _one_repeat(
    fmap: np.ndarray,
    weight: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    conflict_cycles: int,
    rng: np.random.Generator,
    passes: tuple[int, int] = (1, 1),
    counts: tuple[dict[Hashable, np.ndarray], Hashable] | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Cycles (with bank conflicts), ideal cycles, issued products and register latches of
    one repeat (its feature map and weight mask), and the weight non-zeros of each
    channel. ``arch`` is the virtual grid of :func:`_virtual_grid`; ``passes`` its
    sub-tile passes per PE (a barrier each); ``counts`` the weight group counts shared by
    key (:func:`sod.models.scnn_banks.build_layer`)."""
    ly = build_layer(fmap, weight, pl, arch, *(counts or (None, None)))
    # Ideal cycles per (image, kept PE, group).
    ideal = ideal_cycles(ly, _IDEAL_BLOCK_ELEMENTS)
    ideal_layer = int(ideal.max(axis=1).sum())
    na_c = ly.per_channel(ly.na.sum(axis=0))  # non-zero activations per channel
    res = {
        "cycles": 0,
        "ideal": 0,
        "issued": int(na_c @ ly.nw_sum),
        "exact": 1,
        "ratio": 1.0,
        "busy_ideal": 0,
        "pe_slots": 0,
        # PE input registers: an activation vector is latched once per block and held
        # while the block's weight vectors stream by, one per cycle.
        "latched_a": int(na_c @ ly.nw_groups),
        "latched_w": int(ly.per_channel(ly.cum_b[:, :, -1]) @ ly.nw_sum),
        "act_sends": _act_sends(ly.na, pl, arch),
    }
    total = int(ly.cum_pc[-1]) if ly.cum_pc.size else 0
    if total == 0:
        return res, ly.nw_sum
    actual, exact = bank_conflicts(ly, ideal, pl, arch, conflict_cycles, rng)
    # Back on the whole (virtual) grid: PEs holding nothing take no cycles.
    n_pe = arch.pe_rows * arch.pe_cols
    ideal, actual = (_on_grid(x, ly.pe_ids, n_pe) for x in (ideal, actual))
    if passes != (1, 1):
        ideal, actual = (_by_pass(x, arch, passes) for x in (ideal, actual))
        ideal_layer = int(ideal.max(axis=1).sum())
    res.update(
        cycles=round(float(actual.max(axis=1).sum())),
        ideal=ideal_layer,
        exact=int(exact),
        ratio=float(actual.sum() / total),
        busy_ideal=int(ideal.sum()),
        pe_slots=ideal_layer * ideal.shape[1],
    )
    return res, ly.nw_sum


def _on_grid(x: np.ndarray, pe_ids: np.ndarray, n_pe: int) -> np.ndarray:
    """(batch, kept PE, G) -> (batch, PE, G), zero for the PEs left out."""
    if len(pe_ids) == n_pe:
        return x
    out = np.zeros((x.shape[0], n_pe, x.shape[2]), x.dtype)
    out[:, pe_ids] = x
    return out


def _act_sends(na: np.ndarray, pl: SCNNPlane, arch: SCNNArch) -> int:
    """Activations the GLB sends the PEs: a PE's compressed tile (per image and pass) that
    fits its IARAM is sent once and re-read locally by every output-channel group;
    one that does not is sent again for every group."""
    tile = na.sum(axis=2)  # (batch, virtual PE) non-zeros
    groups = -(-pl.out_channels // group_size(arch))
    fits = tile * (arch.value_bits + arch.index_bits) <= 8 * arch.iaram_bytes
    return int(np.where(fits, tile, tile * groups).sum())


def _virtual_grid(arch: SCNNArch, tiling: AccumulatorTiling) -> SCNNArch:
    """The architecture as the models run it: Kc resolved, and the grid of sub-tiles
    (``pe_rows·passes_y`` x ``pe_cols·passes_x``) when a PE's tile takes several passes."""
    return arch.model_copy(
        update={
            "out_channel_group": tiling.out_channel_group,
            "pe_rows": arch.pe_rows * tiling.passes_y,
            "pe_cols": arch.pe_cols * tiling.passes_x,
        }
    )


def _by_pass(x: np.ndarray, virtual: SCNNArch, passes: tuple[int, int]) -> np.ndarray:
    """(batch, virtual PE, G) -> (batch·passes, PE, G): virtual tile (py·passes_y + i,
    px·passes_x + j) is PE (py, px)'s pass (i, j); a pass is a barrier like an image."""
    py, px = passes
    rows, cols = virtual.pe_rows // py, virtual.pe_cols // px
    b, _, g = x.shape
    x6 = x.reshape(b, rows, py, cols, px, g).transpose(0, 2, 4, 1, 3, 5)
    return x6.reshape(b * py * px, rows * cols, g)


def _conflict_budget(arch: SCNNArch, conflict_cycles: int | None) -> int:
    """The sampling budget: the caller's, or the default for this bank provisioning."""
    if conflict_cycles is None:
        # Queued banks with at least 2 banks per product slot rarely back up: a smaller
        # sample suffices. Bank-bound or strictly arbitrated crossbars need the larger one.
        light = (
            arch.crossbar_buffering == "deep"
            and arch.accumulator_banks >= 2 * arch.mult_f * arch.mult_i
        )
        conflict_cycles = DEEP_CONFLICT_CYCLES if light else DEFAULT_CONFLICT_CYCLES
    if conflict_cycles <= 0:
        raise WorkloadError(f"conflict_cycles must be positive, got {conflict_cycles}")
    return conflict_cycles


def _check_input_mask(gemm: Gemm, pl: SCNNPlane, input_mask: np.ndarray | None) -> None:
    if input_mask is None:
        return
    if gemm.conv is None:
        raise WorkloadError(f"layer {gemm.name!r}: input_mask applies to conv layers only")
    cv = gemm.conv
    want = (pl.batch, cv.in_channels, cv.in_h, cv.in_w)
    if np.shape(input_mask) != want:
        raise WorkloadError(
            f"layer {gemm.name!r}: input_mask has shape {np.shape(input_mask)}, expected {want}"
        )


def _run_repeats(
    gemm: Gemm,
    pl: SCNNPlane,
    arch: SCNNArch,
    masks: tuple[np.ndarray, np.ndarray, np.ndarray | BitMask, np.ndarray | BitMask],
    input_mask: np.ndarray | None,
    conflict_cycles: int,
    rng: np.random.Generator,
    shared: dict[Hashable, np.ndarray] | None = None,
) -> tuple[dict[str, float], list[float], bool, AccumulatorTiling]:
    """Totals over all repeats (:data:`_TOTALS`, plus ``effectual`` MACs of the GEMM masks
    and ``nnz_w`` weights), each repeat's conflict ratio, whether every repeat's
    conflicts were exact, and the accumulator tiling the layer ran with. ``masks`` = (W,
    A as bool (repeat, …), and the caller's two masks, which tell whether repeats share
    one pattern)."""
    weight, act, weight_mask, act_mask = masks
    poly = uses_polyphase(pl, arch)
    run_pl = polyphase_plane(pl) if poly else pl
    tiling = accumulator_tiling(run_pl, arch)
    run_arch = _virtual_grid(arch, tiling)
    passes = (tiling.passes_y, tiling.passes_x)
    tot: dict[str, float] = dict.fromkeys((*_TOTALS, "effectual", "nnz_w"), 0)
    ratios, exact_all = [], True
    reps, scale = distinct_repeats(gemm, weight_mask, act_mask)
    if input_mask is not None:
        reps, scale = gemm.repeat, 1  # groups read different channels
    # The sampling budget is per GEMM, shared by its distinct repeats (heads, groups).
    budget = max(1024, conflict_cycles // reps)
    # A's column non-zeros, once for a mask broadcast over the repeats.
    a_cols = col_counts(act[:1] if act.strides[0] == 0 else act)
    w_rows = np.zeros(0, np.int64)
    for rep in range(reps):
        if input_mask is not None:
            fmap = np.asarray(input_mask)[:, rep * pl.channels : (rep + 1) * pl.channels] != 0
        else:
            fmap = plane_operands(gemm, pl, weight[rep], act[rep])[0]
        run_fmap, run_w = fmap, weight[rep]
        if poly:
            run_fmap, run_w = polyphase_operands(fmap, weight[rep], pl)
        # Group counts depend on the weights, the run plane, Kc and F (their dtype) only.
        counts_key = ("group_counts", rep, run_pl, group_size(run_arch), run_arch.mult_f)
        counts = None if shared is None else (shared, counts_key)
        if shared is not None and not poly and WEIGHT_BITS in shared:
            # 1 x 1 kernels: a group's counts are popcounts of the bit-packed rows.
            if counts_key not in shared:
                packed = packed_group_counts(shared[WEIGHT_BITS], run_pl, run_arch)
                if packed is not None:
                    shared[counts_key] = packed
        res, nw_sum = _one_repeat(run_fmap, run_w, run_pl, run_arch, budget, rng, passes, counts)
        for key in _REPEAT_COUNTS:
            tot[key] += res[key]
        ratios.append(res["ratio"])
        exact_all &= bool(res["exact"])
        if rep == 0 or weight.strides[0] != 0:  # a broadcast W has the same rows
            # W's row non-zeros: a 1 x 1 kernel's rows are the channels the run counted.
            one_by_one = not poly and pl.kernel_h * pl.kernel_w == 1
            w_rows = nw_sum.astype(np.int64) if one_by_one else row_counts(weight[rep])
        a_rep = a_cols[min(rep, len(a_cols) - 1)]
        # Valid products: the feature map's im2col (not built) against W; an FC plane's
        # A is its own.
        a_valid = im2col_counts(fmap, pl) if gemm.conv is not None else a_rep
        tot["valid_products"] += int(a_valid @ w_rows)
        tot["effectual"] += int(a_rep @ w_rows)
        tot["nnz_w"] += int(w_rows.sum())
    return {key: x * scale for key, x in tot.items()}, ratios, exact_all, tiling


def _actions(
    gemm: Gemm,
    pl: SCNNPlane,
    arch: SCNNArch,
    nnz_w: int,
    tot: dict[str, float],
    tiling: AccumulatorTiling,
) -> dict[str, float]:
    """Actions priced by the energy model, from the totals of :func:`_run_repeats`."""
    reduce_adds = 0
    if by_channel(pl, arch):
        used = channel_split_pes(pl, arch)
        reduce_adds = (used - 1) * gemm.repeat * gemm.m * gemm.n
    vb, ib = arch.value_bits, arch.index_bits
    # Each sub-tile pass re-broadcasts the weights (per image); input tiles are re-sent
    # per group unless they fit the IARAM (_act_sends).
    weights_sent = pl.batch * tiling.passes * nnz_w
    valid_products, act_sends = tot["valid_products"], tot["act_sends"]
    return {
        "mac": float(tot["issued"]),
        "crossbar_transfer": float(valid_products),
        # Every valid product is accumulated into its bank; channel-split FC layers also
        # add up every PE's partial outputs (an add and an accumulator update each).
        "accumulator_access": float(valid_products + reduce_adds),
        "reduce_add": float(reduce_adds),
        # Each image (and sub-tile pass) re-broadcasts every weight group; input tiles
        # as _act_sends.
        "glb_read_bits.weight": float(weights_sent * vb),
        "glb_read_bits.act": float(act_sends * vb),
        "glb_read_bits.meta": float((weights_sent + act_sends) * ib),
        "glb_write_bits.out": float(gemm.repeat * gemm.m * gemm.n * vb),
        "pe_reg_bits.weight": float(tot["latched_w"] * vb),
        "pe_reg_bits.act": float(tot["latched_a"] * vb),
        # PE-local SRAMs (docs/cost.md): every activation (value + index) the GLB sends a
        # PE is written into its IARAM and read out once per use (each latch into the
        # multiplier array); every output is written into the OARAM and read out once to
        # go back to the GLB.
        "local_sram_write_bits.act": float(act_sends * (vb + ib)),
        "local_sram_read_bits.act": float(tot["latched_a"] * (vb + ib)),
        "local_sram_write_bits.out": float(gemm.repeat * gemm.m * gemm.n * vb),
        "local_sram_read_bits.out": float(gemm.repeat * gemm.m * gemm.n * vb),
    }


def evaluate_scnn(
    gemm: Gemm,
    arch: SCNNArch,
    weight_mask: np.ndarray | BitMask,
    act_mask: np.ndarray | BitMask,
    *,
    input_mask: np.ndarray | None = None,
    conflict_cycles: int | None = None,
    rng: np.random.Generator | None = None,
    shared: dict[Hashable, np.ndarray] | None = None,
) -> Counts:
    """Cycles, MACs and actions of one GEMM (all repeats) on SCNN, from its masks.

    ``weight_mask`` bool (k, n) or (repeat, k, n); ``act_mask`` bool (m, k) or
    (repeat, m, k). ``input_mask`` (conv only): the input feature-map mask (batch,
    channels, H, W) with all groups' channels, used instead of folding ``act_mask``.
    ``rng`` draws the bank-conflict sample of large layers (default: seeded with 0).
    ``shared``: scratch kept by the caller across evaluations of the SAME weight mask
    (the design's mapping candidates of one GEMM): weight-only tables are computed once.
    It may hold that (k, n) mask bit-packed (``BitMask.packed``) under
    :data:`WEIGHT_BITS`, which an FC layer's group counts are taken from.
    Compute cycles only (DRAM stalls are the memory model's).
    """
    conflict_cycles = _conflict_budget(arch, conflict_cycles)
    weight, act = mask_arrays(gemm, weight_mask, act_mask)
    rng = rng if rng is not None else np.random.default_rng(0)
    pl = scnn_plane(gemm)
    _check_input_mask(gemm, pl, input_mask)
    tot, ratios, exact_all, tiling = _run_repeats(
        gemm,
        pl,
        arch,
        (weight, act, weight_mask, act_mask),
        input_mask,
        conflict_cycles,
        rng,
        shared,
    )
    cycles, ideal, issued, valid_products = (
        tot[key] for key in ("cycles", "ideal", "issued", "valid_products")
    )
    # Channel-split FC layers add up their PEs' partial outputs after every group.
    kc_arch = arch.model_copy(update={"out_channel_group": tiling.out_channel_group})
    reduce_cycles = gemm.repeat * pl.batch * reduction_cycles(pl, kc_arch, gemm.n)
    cycles += reduce_cycles
    busy_ideal, pe_slots = tot["busy_ideal"], tot["pe_slots"]
    # With input_mask the feature map defines the work (valid products); otherwise the
    # GEMM masks do (folding ORs windows, so valid products ≥ effectual).
    effectual = tot["effectual"]
    actions = _actions(gemm, pl, arch, int(tot["nnz_w"]), tot, tiling)
    details = {
        "model": "scnn",
        "ideal_cycles": ideal,
        "bank_conflict_cycles": cycles - ideal - reduce_cycles,
        "reduction_cycles": reduce_cycles,
        "bank_conflicts": "exact" if exact_all else f"sampled ({conflict_cycles} cycles)",
        "conflict_ratio": float(np.mean(ratios)) if ratios else 1.0,
        "wasted_products": issued - valid_products,
        # Fraction of multiplier slots filled in issued cycles (intra-PE fragmentation).
        "multiplier_slot_use": issued / (busy_ideal * arch.mult_f * arch.mult_i)
        if busy_ideal
        else 0.0,
        # Mean PE work over the slowest PE's, per group barrier (inter-PE balance).
        "pe_balance": busy_ideal / pe_slots if pe_slots else 0.0,
        # Units of work DRAM transfers overlap with (sod.models.accelerators): one
        # (image, output-channel group) block, the PEs' barrier, which needs only its
        # group's kernels and the image's tiles.
        "work_units": gemm.repeat
        * pl.batch
        * tiling.passes
        * -(-gemm.n // tiling.out_channel_group),
        "out_channel_group": tiling.out_channel_group,
        "tile_passes": tiling.passes,
        "accumulator_positions": tiling.positions,
    }
    return Counts(
        compute_cycles=int(cycles),
        stall_cycles=0,
        macs_dense=gemm.macs,
        macs_issued=int(issued),
        macs_effectual=int(valid_products if input_mask is not None else effectual),
        pe_count=arch.pe_count,
        actions=actions,
        details=details,
    )
