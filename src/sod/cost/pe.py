"""Processing elements: compositions from components, and areas from synthesized RTL.

Each PE kind has a composition (:class:`Composition`, a list of :class:`Part`) whose
operand buffers are explicit: ``buffers="pe"`` keeps them as flip-flops inside the PE,
``buffers="sram"`` moves their bits into a shared SRAM (``shared_sram_bits`` per PE, which
the chip adds as one macro). :func:`pe_area` gives the area the models use: by default
from the synthesized gate-equivalent table, converted to µm² with
:func:`um2_per_synth_ge` (the dense MAC PE is the anchor: its GE count maps onto its
cited component area, so every synthesized PE keeps its synthesized ratio to it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from sod.cost.components import (
    Part,
    adder,
    comparator,
    crossbar,
    decompressor_parts,
    fifo,
    logic_pj_per_um2,
    multiplier,
    mux,
    popcount,
    register,
    sram_macro,
)
from sod.cost.errors import CostError
from sod.tech import Technology, load_synth_table
from sod.tech.synth import SynthTable

Buffers = Literal["pe", "sram"]
PE_KINDS: tuple[str, ...] = (
    "dense_mac_pe",
    "csr_match_pe",
    "index_match_pe",
    "bitmask_join_pe",
    "scnn_pe",
)


@dataclass(frozen=True)
class Composition:
    """A block made of parts, with its operand storage made explicit."""

    name: str
    params: dict[str, Any]
    parts: tuple[Part, ...]
    shared_sram_bits: float = 0.0  # operand storage moved to a shared SRAM (per copy)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cell_area_um2(self) -> float:
        """Unplaced standard-cell area of the logic and registers."""
        return sum(p.total_area_um2 for p in self.parts if p.kind != "sram")

    @property
    def sram_area_um2(self) -> float:
        return sum(p.total_area_um2 for p in self.parts if p.kind == "sram")

    @property
    def register_bits(self) -> float:
        return sum(p.count for p in self.parts if p.kind == "register")

    def placed_area_um2(self, tech: Technology) -> float:
        """Logic placed at the technology's utilization, plus SRAM macros."""
        return self.cell_area_um2 / tech.p("logic_utilization") + self.sram_area_um2

    def breakdown_um2(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in self.parts:
            out[p.name] = out.get(p.name, 0.0) + p.total_area_um2
        return out


def _check_buffers(buffers: str) -> None:
    if buffers not in ("pe", "sram"):
        raise CostError(f"buffers must be 'pe' or 'sram', got {buffers!r}")


def _pos(name: str, value: int) -> None:
    if not (isinstance(value, int) and value > 0):
        raise CostError(f"PE parameter {name} must be a positive integer, got {value!r}")


def _mac(tech: Technology, a_bits: int, w_bits: int, acc_bits: int) -> list[Part]:
    return [
        multiplier(tech, a_bits, w_bits),
        adder(tech, acc_bits, "accumulate_adder"),
        register(tech, acc_bits, "accumulator"),
    ]


def dense_mac_pe(
    tech: Technology, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32
) -> Composition:
    """TPU-style systolic MAC PE: multiplier, accumulate adder, the accumulator register
    and the two operand registers (one passes activations on, one holds the weight);
    48 flip-flops at int8/int32, as in the synthesized RTL."""
    for n, v in (("a_bits", a_bits), ("w_bits", w_bits), ("acc_bits", acc_bits)):
        _pos(n, v)
    parts = [
        *_mac(tech, a_bits, w_bits, acc_bits),
        register(tech, a_bits, "a_register"),
        register(tech, w_bits, "w_register"),
    ]
    return Composition(
        "dense_mac_pe", {"a_bits": a_bits, "w_bits": w_bits, "acc_bits": acc_bits}, tuple(parts)
    )


def csr_match_pe(
    tech: Technology,
    fifo_depth: int = 4,
    comparators: int = 1,
    idx_bits: int = 8,
    value_bits: int = 8,
    acc_bits: int = 32,
    buffers: Buffers = "pe",
    w_window: int = 1,
) -> Composition:
    """Comparator-based CSR index-matching PE (SNAP/SPRITE-like).

    Two operand FIFOs (A and W) of (index, value) entries. Each cycle a window of
    ``w_window`` W entries is compared with a window of ``comparators / w_window`` A
    entries (one comparator per pair; each extra window entry is one more FIFO read
    port), and each of min(windows) multipliers takes one match. ``w_window=1`` is the
    RTL of :mod:`sod.rtl.csr_pe` (the W head against ``comparators`` A entries, one MAC);
    ``w_window=comparators**0.5`` is the window PE of :class:`sod.arch.sparse.IndexMatchArch`.
    With several multipliers each selects its operands from the windows and their
    products are added before the accumulator.
    """
    for n, v in (
        ("fifo_depth", fifo_depth),
        ("comparators", comparators),
        ("idx_bits", idx_bits),
        ("value_bits", value_bits),
        ("acc_bits", acc_bits),
        ("w_window", w_window),
    ):
        _pos(n, v)
    _check_buffers(buffers)
    if comparators % w_window:
        raise CostError(f"comparators ({comparators}) must be a multiple of w_window ({w_window})")
    a_window = comparators // w_window
    mults = min(a_window, w_window)
    entry = idx_bits + value_bits
    parts: list[Part] = []
    shared = 0.0
    for side in ("a", "w"):
        f = fifo(tech, fifo_depth, entry, f"{side}_fifo")
        if buffers == "sram":
            shared += f[0].count  # storage bits leave the PE; pointers and muxes stay
            f = f[1:]
        parts += f
    extra_ports = (a_window - 1) + (w_window - 1)
    if extra_ports:
        port = mux(tech, fifo_depth, entry, "fifo_extra_read_port")
        parts.append(
            Part(port.name, extra_ports, port.area_um2, port.energy_pj, "logic", port.source)
        )
    cmp_ = comparator(tech, idx_bits, "index_comparator")
    parts.append(Part(cmp_.name, comparators, cmp_.area_um2, cmp_.energy_pj, "logic", cmp_.source))
    adv = adder(tech, idx_bits, "pointer_advance")
    parts.append(Part(adv.name, 2, adv.area_um2, adv.energy_pj, "logic", adv.source))
    parts += _mac(tech, value_bits, value_bits, acc_bits)
    if mults > 1:
        m = multiplier(tech, value_bits, value_bits)
        add = adder(tech, acc_bits, "product_adder")
        sel = mux(tech, max(a_window, w_window), value_bits, "match_select")
        parts += [
            Part(m.name, mults - 1, m.area_um2, m.energy_pj, "logic", m.source),
            Part(add.name, mults - 1, add.area_um2, add.energy_pj, "logic", add.source),
            Part(sel.name, 2 * mults, sel.area_um2, sel.energy_pj, "logic", sel.source),
        ]
    params: dict[str, object] = {"fifo_depth": fifo_depth, "comparators": comparators}
    if w_window != 1:
        params["w_window"] = w_window
    return Composition("csr_match_pe", params, tuple(parts), shared)


def index_match_pe(
    tech: Technology,
    window: int = 4,
    fifo_depth: int = 8,
    idx_bits: int = 8,
    value_bits: int = 8,
    acc_bits: int = 32,
    buffers: Buffers = "pe",
) -> Composition:
    """The windowed PE of :class:`sod.arch.sparse.IndexMatchArch`, with the structure of
    its RTL (:mod:`sod.rtl.index_match_pe`): two FIFOs of whole windows
    (⌈fifo_depth/window⌉ slots of ``window`` (index, value) entries + valid and last bits,
    one slot read per cycle), ``window²`` index comparators, two window-end comparators,
    one ``window``:1 W-value select per A entry, ``window`` multipliers, their adder tree
    and the accumulator."""
    for n, v in (
        ("window", window),
        ("fifo_depth", fifo_depth),
        ("idx_bits", idx_bits),
        ("value_bits", value_bits),
        ("acc_bits", acc_bits),
    ):
        _pos(n, v)
    _check_buffers(buffers)
    slots = math.ceil(fifo_depth / window)
    slot_bits = window * (idx_bits + value_bits) + window + 1
    parts: list[Part] = []
    shared = 0.0
    for side in ("a", "w"):
        f = fifo(tech, slots, slot_bits, f"{side}_fifo")
        if buffers == "sram":
            shared += f[0].count  # storage bits leave the PE; pointers and muxes stay
            f = f[1:]
        parts += f
    cmp_ = comparator(tech, idx_bits, "index_comparator")
    parts.append(
        Part(cmp_.name, window * window + 2, cmp_.area_um2, cmp_.energy_pj, "logic", cmp_.source)
    )
    parts += _mac(tech, value_bits, value_bits, acc_bits)
    if window > 1:
        m = multiplier(tech, value_bits, value_bits)
        add = adder(tech, 2 * value_bits + 2, "product_adder")
        sel = mux(tech, window, value_bits, "match_select")
        parts += [
            Part(m.name, window - 1, m.area_um2, m.energy_pj, "logic", m.source),
            Part(add.name, window - 1, add.area_um2, add.energy_pj, "logic", add.source),
            Part(sel.name, window, sel.area_um2, sel.energy_pj, "logic", sel.source),
        ]
    params: dict[str, object] = {
        "window": window,
        "fifo_depth": fifo_depth,
        "idx_bits": idx_bits,
        "value_bits": value_bits,
        "acc_bits": acc_bits,
    }
    return Composition("index_match_pe", params, tuple(parts), shared)


def bitmask_join_pe(
    tech: Technology,
    chunk: int = 16,
    value_bits: int = 8,
    acc_bits: int = 32,
    buffers: Buffers = "pe",
) -> Composition:
    """SparTen-like bitmask inner-join PE for one ``chunk`` of the reduction dimension
    (the structure of :mod:`sod.rtl.bitmask_pe`).

    Mask registers (A, W and the remaining matches), the lowest remaining match isolated
    (``rem & -rem``, a chunk-wide negate) and the masks below it (a decrement), two
    popcounts of the masked operand masks (SparTen's prefix sum at the one position in
    use), the last-match test, two packed value buffers of ``chunk`` values with chunk:1
    read selects, and a MAC.
    """
    for n, v in (("chunk", chunk), ("value_bits", value_bits), ("acc_bits", acc_bits)):
        _pos(n, v)
    _check_buffers(buffers)
    c = chunk
    find = Part(
        "lowest_match",
        1,
        3 * c * (tech.a("cell_half_adder") + tech.a("cell_and2")),
        0.0,
        "logic",
        "NanGate cells: negate, decrement, last test: 3c (HA + AND2)",
    )
    find = Part(
        find.name, 1, find.area_um2, find.area_um2 * logic_pj_per_um2(tech), "logic", find.source
    )
    pc = popcount(tech, c, "offset_popcount")
    masking = Part("mask_below", 2 * c, tech.a("cell_and2"), 0.0, "logic", "NanGate AND2")
    parts: list[Part] = [
        register(tech, 3 * c, "mask_registers"),
        find,
        masking,
        Part(pc.name, 2, pc.area_um2, pc.energy_pj, "logic", pc.source),
    ]
    shared = 0.0
    if buffers == "pe":
        parts.append(register(tech, 2 * c * value_bits, "value_buffers"))
    else:
        shared = 2 * c * value_bits
    rd = mux(tech, c, value_bits, "value_read_mux")
    parts.append(Part(rd.name, 2, rd.area_um2, rd.energy_pj, "logic", rd.source))
    parts += _mac(tech, value_bits, value_bits, acc_bits)
    return Composition("bitmask_join_pe", {"chunk": chunk}, tuple(parts), shared)


def _scaled(parts: list[Part] | tuple[Part, ...], n: float) -> list[Part]:
    return [Part(p.name, p.count * n, p.area_um2, p.energy_pj, p.kind, p.source) for p in parts]


def _check_scnn(**values: int) -> None:
    for n, v in values.items():
        _pos(n, v)


def scnn_core(
    tech: Technology,
    f: int = 4,
    i: int = 4,
    value_bits: int = 16,
    acc_bits: int = 24,
    acc_banks: int = 32,
    acc_entries: int = 32,
    coord_bits: int = 8,
) -> Composition:
    """SCNN PE datapath without accumulator storage (RTL: :class:`sod.rtl.scnn_pe.ScnnCore`):
    F×I multipliers, 2·F·I output-coordinate adders, the F·I → ``acc_banks`` scatter
    crossbar (each product with its entry address) and the operand registers."""
    _check_scnn(
        f=f,
        i=i,
        value_bits=value_bits,
        acc_bits=acc_bits,
        acc_banks=acc_banks,
        acc_entries=acc_entries,
        coord_bits=coord_bits,
    )
    prods = f * i
    # Each product crosses with its bank entry address; a product wider than the
    # accumulator keeps its top acc_bits (as in the RTL).
    xbar_bits = min(2 * value_bits, acc_bits) + ceil_log2(acc_entries)
    m = multiplier(tech, value_bits, value_bits)
    coord = adder(tech, coord_bits, "coordinate_adder")
    parts = [
        Part(m.name, prods, m.area_um2, m.energy_pj, "logic", m.source),
        Part(coord.name, 2 * prods, coord.area_um2, coord.energy_pj, "logic", coord.source),
        crossbar(tech, prods, acc_banks, xbar_bits, "scatter_crossbar"),
        register(tech, prods * 2 * value_bits, "operand_registers"),
    ]
    params = {
        "f": f,
        "i": i,
        "value_bits": value_bits,
        "acc_bits": acc_bits,
        "acc_banks": acc_banks,
        "acc_entries": acc_entries,
    }
    return Composition("scnn_core", params, tuple(parts))


def scnn_acc_bank(tech: Technology, acc_entries: int = 32, acc_bits: int = 24) -> Composition:
    """One double-buffered SCNN accumulator bank (RTL: :class:`sod.rtl.scnn_pe.ScnnAccBank`):
    its adder and 2 × ``acc_entries`` × ``acc_bits`` flip-flops."""
    _check_scnn(acc_entries=acc_entries, acc_bits=acc_bits)
    parts = [
        adder(tech, acc_bits, "bank_adder"),
        register(tech, 2 * acc_entries * acc_bits, "accumulator_banks"),
    ]
    params = {"acc_entries": acc_entries, "acc_bits": acc_bits}
    return Composition("scnn_acc_bank", params, tuple(parts))


def scnn_pe(
    tech: Technology,
    f: int = 4,
    i: int = 4,
    value_bits: int = 16,
    acc_bits: int = 24,
    acc_banks: int = 32,
    acc_entries: int = 32,
    coord_bits: int = 8,
    iaram_bytes: int = 10240,
    oaram_bytes: int = 10240,
    weight_fifo_entries: int = 50,
    buffers: Buffers = "pe",
) -> Composition:
    """SCNN PE (Parashar et al., ISCA 2017): an F×I multiplier array (Cartesian product of
    non-zero weights and activations), F·I output-coordinate adders, a scatter crossbar
    from F·I products to ``acc_banks`` accumulator banks, one adder per bank,
    double-buffered accumulator banks, the IARAM/OARAM activation SRAMs and a weight FIFO.
    Defaults follow the paper: 16-bit values, 24-bit accumulators, 32 banks of 32 entries,
    10 KB IARAM and OARAM, 50-entry weight FIFO (R: re-quoted, not re-read).

    Accumulator banks (96 B each) are far below CACTI's smallest macro, so they are
    counted as flip-flops; the 10 KB RAMs are CACTI macros (``buffers="pe"``) or moved to
    the shared SRAM (``buffers="sram"``). :func:`scnn_core` + ``acc_banks`` ×
    :func:`scnn_acc_bank` are the parts that were synthesized (:func:`pe_area` uses them).
    """
    _check_scnn(
        iaram_bytes=iaram_bytes,
        oaram_bytes=oaram_bytes,
        weight_fifo_entries=weight_fifo_entries,
    )
    _check_buffers(buffers)
    core = scnn_core(tech, f, i, value_bits, acc_bits, acc_banks, acc_entries, coord_bits)
    bank = scnn_acc_bank(tech, acc_entries, acc_bits)
    parts: list[Part] = [
        *core.parts,
        *_scaled(bank.parts, acc_banks),
        *_scnn_weight_fifo(tech, f, value_bits, coord_bits, weight_fifo_entries),
    ]
    shared = 0.0
    if buffers == "pe":
        parts += _scnn_rams(tech, i, value_bits, coord_bits, iaram_bytes, oaram_bytes)
    else:
        shared = 8.0 * (iaram_bytes + oaram_bytes)
    params = {"f": f, "i": i, "value_bits": value_bits, "acc_banks": acc_banks}
    return Composition("scnn_pe", params, tuple(parts), shared)


def _scnn_weight_fifo(
    tech: Technology, f: int, value_bits: int, coord_bits: int, entries: int
) -> list[Part]:
    return fifo(tech, entries, f * (value_bits + coord_bits), "weight_fifo")


def _scnn_rams(
    tech: Technology, i: int, value_bits: int, coord_bits: int, iaram: int, oaram: int
) -> list[Part]:
    port = i * (value_bits + coord_bits)
    return [sram_macro(tech, iaram, port, "iaram"), sram_macro(tech, oaram, port, "oaram")]


def decompressor(
    tech: Technology,
    lanes: int = 16,
    format: str = "bitmask",
    value_bits: int = 8,
    realign: bool = True,
) -> Composition:
    """The decompression unit at the array edge (see :func:`decompressor_parts`)."""
    return Composition(
        "decompressor",
        {"lanes": lanes, "format": format, "realign": realign},
        tuple(decompressor_parts(tech, lanes, format, value_bits, realign)),
    )


COMPOSERS: dict[str, Callable[..., Composition]] = {
    "dense_mac_pe": dense_mac_pe,
    "csr_match_pe": csr_match_pe,
    "index_match_pe": index_match_pe,
    "bitmask_join_pe": bitmask_join_pe,
    "scnn_pe": scnn_pe,
    "scnn_core": scnn_core,
    "scnn_acc_bank": scnn_acc_bank,
    "decompressor": decompressor,
}


def compose(tech: Technology, kind: str, **params: object) -> Composition:
    """The component composition of a PE kind (or ``decompressor``)."""
    try:
        fn = COMPOSERS[kind]
    except KeyError:
        raise CostError(f"unknown PE kind {kind!r} (known: {', '.join(COMPOSERS)})") from None
    try:
        return fn(tech, **params)
    except TypeError as err:
        raise CostError(f"{kind}: bad parameters {params} ({err})") from None


# ---------------------------------------------------------------------------- synthesis


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
}
# A second size axis: log-log between the first-axis interpolations at its synthesized values.
_SYNTH_AXIS2 = {"index_match_pe": "idx_bits"}
# Synthesized parts scaled from their nearest synthesized variant by composition ratio.
_SYNTH_NEAREST = ("scnn_core", "scnn_acc_bank")


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
        "csr_match_pe": ("fifo_depth", "comparators", "w_window"),
        "index_match_pe": ("window", "fifo_depth", "idx_bits", "value_bits", "acc_bits"),
        "bitmask_join_pe": ("chunk",),
        "decompressor": ("lanes", "format", "realign"),
        "scnn_core": ("f", "i", "value_bits", "acc_bits", "acc_banks", "acc_entries"),
        "scnn_acc_bank": ("acc_entries", "acc_bits"),
    }.get(kind, ())


def synth_ratio(kind: str, table: SynthTable | None = None, **params: object) -> float:
    """Synthesized GE of a design over the int8 dense MAC PE's."""
    table = table or load_synth_table()
    ge = table.ge(kind, **params)
    dense = table.ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    if ge is None or dense is None:
        raise CostError(f"synthesis table has no {kind} {params} (or no dense_mac_pe)")
    return ge / dense


def ceil_log2(n: int) -> int:
    return max(math.ceil(math.log2(n)), 1)
