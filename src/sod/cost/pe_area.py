"""The area a model uses for one PE: synthesized gate-equivalents where a design (or a
close variant) was synthesized, else its component composition (:mod:`sod.cost.pe`).
docs/cost.md explains the lookup order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sod.cost.errors import CostError
from sod.cost.pe import (
    Composition,
    _scnn_weight_fifo,
    compose,
    dense_mac_pe,
    scnn_pe,
)
from sod.tech import Technology, load_synth_table
from sod.tech.synth import SynthTable


def um2_per_synth_ge(tech: Technology, table: SynthTable | None = None) -> float:
    """Cell µm² per synthesized gate equivalent at ``tech``.

    Anchor: the int8 dense MAC PE. Its cited component area (Horowitz multiplier and
    adder, Aladdin registers) divided by its synthesized GE count. Every synthesized design
    then keeps its synthesized area ratio to the dense PE.
    """
    table = table or load_synth_table()
    ge = table.ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    if ge is None:
        raise CostError(
            "synthesis table has no dense_mac_pe {a_bits: 8, w_bits: 8, "
            "acc_bits: 32}: cannot convert GE to um2"
        )
    return dense_mac_pe(tech).cell_area_um2 / ge


# Which parameter each synthesized design may be interpolated along.
_SYNTH_AXIS = {
    "bitmask_join_pe": "chunk",
    "csr_match_pe": "fifo_depth",
    "index_match_pe": "fifo_depth",
    "decompressor": "lanes",
    "cc_pe": "combine",
}
# A second size axis: log-log between the first-axis interpolations at its synthesized values.
_SYNTH_AXIS2 = {"index_match_pe": "idx_bits"}
# Synthesized parts scaled from their nearest synthesized variant by composition ratio.
_SYNTH_NEAREST = ("scnn_core", "scnn_acc_bank", "nm_pe")


@dataclass(frozen=True)
class PeArea:
    """The area a model uses for one PE (or decompressor)."""

    kind: str
    params: dict[str, Any]
    area_um2: float  # placed logic (÷ utilization) + any SRAM macros inside the PE
    cell_area_um2: float
    source: str  # "synth: ..." or "components"
    shared_sram_bits: float = 0.0
    extrapolated: bool = False


def pe_area(
    tech: Technology,
    kind: str,
    source: Literal["synth", "components"] = "synth",
    table: SynthTable | None = None,
    **params: object,
) -> PeArea:
    """Area of one PE of ``kind`` with ``params``.

    ``source="synth"`` (default) takes the synthesized GE (interpolated log–log along the
    design's size parameter when that exact size was not synthesized, flagged) times
    :func:`um2_per_synth_ge`; kinds that were never synthesized, or ``buffers="sram"``
    (the synthesized PEs hold their buffers in flip-flops), fall back to the component
    composition, and ``source`` says so.

    ``csr_match_pe`` with ``w_window=W`` and ``comparators=W²`` (the window PE of
    :class:`sod.arch.sparse.IndexMatchArch`) is answered by ``index_match_pe``, its own RTL.
    ``scnn_pe`` is the synthesized ``scnn_core`` + ``acc_banks`` × ``scnn_acc_bank`` plus the
    composed weight FIFO and the CACTI IARAM/OARAM macros (:func:`_scnn_synth_area`).
    """
    comp = compose(tech, kind, **params)
    util = tech.p("logic_utilization")
    if source not in ("synth", "components"):
        raise CostError(f"PE area source must be 'synth' or 'components', got {source!r}")
    if kind == "csr_match_pe":
        ww, cmps = params.get("w_window", 1), params.get("comparators", 1)
        if isinstance(ww, int) and ww > 1 and cmps == ww * ww:
            rest = {k: v for k, v in params.items() if k not in ("w_window", "comparators")}
            return pe_area(tech, "index_match_pe", source, table, window=ww, **rest)
    if kind == "scnn_pe" and source == "synth":
        return _scnn_synth_area(tech, comp, table or load_synth_table(), params)
    if source == "synth" and params.get("buffers", "pe") == "pe":
        table = table or load_synth_table()
        key_params = {k: v for k, v in comp.params.items() if k in _synth_keys(kind)}
        ge = table.ge(kind, **key_params)
        extrapolated = False
        how = f"synth: {kind} {key_params}"
        if ge is None and kind in _SYNTH_AXIS:
            axis = _SYNTH_AXIS[kind]
            fixed = {k: v for k, v in key_params.items() if k != axis}
            hit = table.interpolate(kind, axis, float(key_params[axis]), **fixed)
            if hit is not None:
                ge, extrapolated = hit
                how = (
                    f"synth: {kind} {key_params}, "
                    f"{'extrapolated' if extrapolated else 'interpolated'} along {axis}"
                )
        if ge is None and kind in _SYNTH_AXIS2:
            hit2 = _interp_two_axes(table, kind, key_params)
            if hit2 is not None:
                ge, extrapolated = hit2
                how = (
                    f"synth: {kind} {key_params}, "
                    f"{'extrapolated' if extrapolated else 'interpolated'} along "
                    f"{_SYNTH_AXIS[kind]} and {_SYNTH_AXIS2[kind]}"
                )
        if ge is None and kind in _SYNTH_NEAREST:
            near = _nearest_scaled(tech, table, kind, comp, key_params, params)
            if near is not None:
                ge, extrapolated, how = near
        if ge is None and kind in _SYNTH_AXIS:
            # A variant never synthesized (e.g. another format or comparator count):
            # the synthesized anchor variant × the composition ratio variant/anchor.
            anchored = _anchor(tech, table, kind, comp, key_params, params)
            if anchored is not None:
                ge, extrapolated, how = anchored
        if ge is not None:
            cell = ge * um2_per_synth_ge(tech, table)
            return PeArea(kind, comp.params, cell / util, cell, how, 0.0, extrapolated)
    return PeArea(
        kind,
        comp.params,
        comp.placed_area_um2(tech),
        comp.cell_area_um2,
        "components",
        comp.shared_sram_bits,
    )


def _anchor(
    tech: Technology,
    table: SynthTable,
    kind: str,
    comp: Composition,
    key_params: dict[str, Any],
    params: dict[str, Any],
) -> tuple[float, bool, str] | None:
    axis = _SYNTH_AXIS[kind]
    combos = sorted(
        {
            tuple(sorted((k, v) for k, v in d.params.items() if k != axis))
            for d in table.designs
            if d.name == kind and axis in d.params
        },
        key=str,
    )
    if not combos:
        return None
    # The synthesized variant sharing most parameter values with the one asked for.
    fixed = dict(max(combos, key=lambda c: sum(key_params.get(k) == v for k, v in c)))
    hit = table.interpolate(kind, axis, float(key_params[axis]), **fixed)
    if hit is None:
        return None
    # The anchor variant: the synthesized parameters, defaults for the unsynthesized ones.
    keep = {k: v for k, v in params.items() if k not in _synth_keys(kind) or k == axis}
    anchor_comp = compose(tech, kind, **{**keep, **fixed})
    ratio = comp.cell_area_um2 / anchor_comp.cell_area_um2
    how = (
        f"synth: {kind} {fixed} at {axis}={key_params[axis]} x composition ratio "
        f"{ratio:.3f} for {key_params}"
    )
    return hit[0] * ratio, hit[1], how


def _interp_two_axes(
    table: SynthTable, kind: str, key_params: dict[str, Any]
) -> tuple[float, bool] | None:
    """GE at (axis1, axis2): along axis1 at every synthesized axis2 value, then log–log
    along axis2 (end slope beyond the range, flagged)."""
    a1, a2 = _SYNTH_AXIS[kind], _SYNTH_AXIS2[kind]
    fixed = {k: v for k, v in key_params.items() if k not in (a1, a2)}
    values = sorted(
        {
            float(d.params[a2])
            for d in table.designs
            if d.name == kind
            and a2 in d.params
            and all(d.params.get(k) == v for k, v in fixed.items())
        }
    )
    pts, flag = [], False
    for v2 in values:
        v2_key = int(v2) if v2.is_integer() else v2
        hit = table.interpolate(kind, a1, float(key_params[a1]), **fixed, **{a2: v2_key})
        if hit is not None:
            pts.append((math.log(v2), math.log(hit[0])))
            flag |= hit[1]
    if not pts:
        return None
    x = math.log(float(key_params[a2]))
    if len(pts) == 1:
        return math.exp(pts[0][1]), flag or x != pts[0][0]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if xs[0] <= x <= xs[-1]:
        return float(math.exp(float(np.interp(x, xs, ys)))), flag
    lo, hi = (0, 1) if x < xs[0] else (-2, -1)
    slope = (ys[hi] - ys[lo]) / (xs[hi] - xs[lo])
    end = 0 if x < xs[0] else -1
    return math.exp(ys[end] + slope * (x - xs[end])), True


def _nearest_scaled(
    tech: Technology,
    table: SynthTable,
    kind: str,
    comp: Composition,
    key_params: dict[str, Any],
    params: dict[str, Any],
) -> tuple[float, bool, str] | None:
    """The synthesized variant of ``kind`` sharing most parameter values with the one asked
    for (then the closest in log size) × the composition ratio asked/variant."""
    cands = [d for d in table.designs if d.name == kind]
    if not cands:
        return None

    def distance(d) -> tuple[int, float]:
        same = sum(int(key_params.get(k) == v) for k, v in d.params.items())
        far: float = sum(
            abs(math.log(float(key_params[k]) / float(v)))
            for k, v in d.params.items()
            if isinstance(v, int | float) and isinstance(key_params.get(k), int | float)
        )
        return (-same, far)

    best = min(cands, key=distance)
    keep = {k: v for k, v in params.items() if k not in _synth_keys(kind)}
    ratio = comp.cell_area_um2 / compose(tech, kind, **{**keep, **best.params}).cell_area_um2
    how = f"synth: {kind} {dict(best.params)} x composition ratio {ratio:.3f} for {key_params}"
    return best.ge * ratio, False, how


def _scnn_synth_area(
    tech: Technology, comp: Composition, table: SynthTable, params: dict[str, Any]
) -> PeArea:
    """SCNN PE from its synthesized parts: ``scnn_core`` + ``acc_banks`` × ``scnn_acc_bank``
    (the RTL of :mod:`sod.rtl.scnn_pe`), plus the weight FIFO (composition: no RTL) and the
    IARAM/OARAM (CACTI macros, or shared SRAM bits with ``buffers="sram"``)."""
    p = {**_defaults(scnn_pe), **params}
    core_keys = (*_synth_keys("scnn_core"), "coord_bits")
    core = pe_area(tech, "scnn_core", "synth", table, **{k: p[k] for k in core_keys})
    bank = pe_area(
        tech, "scnn_acc_bank", "synth", table, acc_entries=p["acc_entries"], acc_bits=p["acc_bits"]
    )
    if core.source == "components" or bank.source == "components":
        return PeArea(
            "scnn_pe",
            comp.params,
            comp.placed_area_um2(tech),
            comp.cell_area_um2,
            "components",
            comp.shared_sram_bits,
        )
    banks = int(p["acc_banks"])  # type: ignore[call-overload]
    wfifo = _scnn_weight_fifo(
        tech,
        int(p["f"]),  # type: ignore[call-overload]
        int(p["value_bits"]),  # type: ignore[call-overload]
        int(p["coord_bits"]),  # type: ignore[call-overload]
        int(p["weight_fifo_entries"]),  # type: ignore[call-overload]
    )
    cell = core.cell_area_um2 + banks * bank.cell_area_um2 + sum(x.total_area_um2 for x in wfifo)
    rams = "IARAM/OARAM in shared SRAM" if p["buffers"] == "sram" else "IARAM/OARAM CACTI"
    how = f"{core.source} + {banks} x [{bank.source}]; weight FIFO composed; {rams}"
    return PeArea(
        "scnn_pe",
        comp.params,
        cell / tech.p("logic_utilization") + comp.sram_area_um2,
        cell,
        how,
        comp.shared_sram_bits,
        core.extrapolated or bank.extrapolated,
    )


def _defaults(fn) -> dict[str, object]:
    import inspect

    return {
        k: v.default
        for k, v in inspect.signature(fn).parameters.items()
        if v.default is not inspect.Parameter.empty
    }


def _synth_keys(kind: str) -> tuple[str, ...]:
    return {
        "dense_mac_pe": ("a_bits", "w_bits", "acc_bits"),
        "nm_pe": ("a_bits", "w_bits", "acc_bits", "m_group"),
        "cc_pe": ("a_bits", "w_bits", "acc_bits", "combine"),
        "csr_match_pe": ("fifo_depth", "comparators", "w_window"),
        "index_match_pe": ("window", "fifo_depth", "idx_bits", "value_bits", "acc_bits"),
        "bitmask_join_pe": ("chunk",),
        "decompressor": ("lanes", "format", "realign"),
        "scnn_core": ("f", "i", "value_bits", "acc_bits", "acc_banks", "acc_entries"),
        "scnn_acc_bank": ("acc_entries", "acc_bits"),
        "vusa_kwindow": ("slots", "macs", "a_bits", "w_bits", "acc_bits"),
        "vusa_nwindow": ("slots", "macs", "a_bits", "w_bits", "acc_bits"),
    }.get(kind, ())


def synth_ratio(kind: str, table: SynthTable | None = None, **params: object) -> float:
    """Synthesized GE of a design over the int8 dense MAC PE's."""
    table = table or load_synth_table()
    ge = table.ge(kind, **params)
    dense = table.ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    if ge is None or dense is None:
        raise CostError(f"synthesis table has no {kind} {params} (or no dense_mac_pe)")
    return ge / dense
