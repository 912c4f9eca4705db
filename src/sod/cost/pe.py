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
from dataclasses import dataclass, field
from typing import Literal

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
PE_KINDS: tuple[str, ...] = ("dense_mac_pe", "csr_match_pe", "bitmask_join_pe", "scnn_pe")


@dataclass(frozen=True)
class Composition:
    """A block made of parts, with its operand storage made explicit."""

    name: str
    params: dict[str, object]
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
    the shared SRAM (``buffers="sram"``).
    """
    for n, v in (
        ("f", f),
        ("i", i),
        ("value_bits", value_bits),
        ("acc_bits", acc_bits),
        ("acc_banks", acc_banks),
        ("acc_entries", acc_entries),
        ("iaram_bytes", iaram_bytes),
        ("oaram_bytes", oaram_bytes),
        ("weight_fifo_entries", weight_fifo_entries),
    ):
        _pos(n, v)
    _check_buffers(buffers)
    prods = f * i
    m = multiplier(tech, value_bits, value_bits)
    coord = adder(tech, coord_bits, "coordinate_adder")
    xbar = crossbar(tech, prods, acc_banks, acc_bits, "scatter_crossbar")
    bank_add = adder(tech, acc_bits, "bank_adder")
    parts: list[Part] = [
        Part(m.name, prods, m.area_um2, m.energy_pj, "logic", m.source),
        Part(coord.name, 2 * prods, coord.area_um2, coord.energy_pj, "logic", coord.source),
        xbar,
        Part(
            bank_add.name,
            acc_banks,
            bank_add.area_um2,
            bank_add.energy_pj,
            "logic",
            bank_add.source,
        ),
        register(tech, 2 * acc_banks * acc_entries * acc_bits, "accumulator_banks"),
        *fifo(tech, weight_fifo_entries, f * (value_bits + coord_bits), "weight_fifo"),
        register(tech, prods * 2 * value_bits, "operand_registers"),
    ]
    shared = 0.0
    if buffers == "pe":
        port = i * (value_bits + coord_bits)
        parts += [
            sram_macro(tech, iaram_bytes, port, "iaram"),
            sram_macro(tech, oaram_bytes, port, "oaram"),
        ]
    else:
        shared = 8.0 * (iaram_bytes + oaram_bytes)
    params = {"f": f, "i": i, "value_bits": value_bits, "acc_banks": acc_banks}
    return Composition("scnn_pe", params, tuple(parts), shared)


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


COMPOSERS = {
    "dense_mac_pe": dense_mac_pe,
    "csr_match_pe": csr_match_pe,
    "bitmask_join_pe": bitmask_join_pe,
    "scnn_pe": scnn_pe,
    "decompressor": decompressor,
}


def compose(tech: Technology, kind: str, **params: object) -> Composition:
    """The component composition of a PE kind (or ``decompressor``)."""
    try:
        fn = COMPOSERS[kind]
    except KeyError:
        raise CostError(f"unknown PE kind {kind!r} (known: {', '.join(COMPOSERS)})") from None
    try:
        return fn(tech, **params)  # type: ignore[arg-type]
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
_SYNTH_AXIS = {"bitmask_join_pe": "chunk", "csr_match_pe": "fifo_depth", "decompressor": "lanes"}


@dataclass(frozen=True)
class PeArea:
    """The area a model uses for one PE (or decompressor)."""

    kind: str
    params: dict[str, object]
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
    :func:`um2_per_synth_ge`; kinds that were never synthesized (e.g. ``scnn_pe``), or
    ``buffers="sram"`` (the synthesized PEs hold their buffers in flip-flops), fall back
    to the component composition, and ``source`` says so.
    """
    comp = compose(tech, kind, **params)
    util = tech.p("logic_utilization")
    if source not in ("synth", "components"):
        raise CostError(f"PE area source must be 'synth' or 'components', got {source!r}")
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
        if ge is None and kind in _SYNTH_AXIS:
            # A variant never synthesized (e.g. another format or comparator count):
            # the synthesized anchor variant × the composition ratio variant/anchor.
            hit = _anchor(tech, table, kind, comp, key_params, params)
            if hit is not None:
                ge, extrapolated, how = hit
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
    key_params: dict[str, object],
    params: dict[str, object],
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


def _synth_keys(kind: str) -> tuple[str, ...]:
    return {
        "dense_mac_pe": ("a_bits", "w_bits", "acc_bits"),
        "csr_match_pe": ("fifo_depth", "comparators", "w_window"),
        "bitmask_join_pe": ("chunk",),
        "decompressor": ("lanes", "format", "realign"),
        "scnn_pe": ("f", "i"),
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
