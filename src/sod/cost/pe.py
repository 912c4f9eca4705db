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
from sod.tech import Technology

Buffers = Literal["pe", "sram"]
PE_KINDS: tuple[str, ...] = (
    "dense_mac_pe",
    "csr_match_pe",
    "index_match_pe",
    "bitmask_join_pe",
    "scnn_pe",
    "cc_pe",
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


def nm_pe(
    tech: Technology, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32, m_group: int = 4
) -> Composition:
    """PE of the N:M array (:mod:`sod.rtl.nm_pe`): the dense MAC PE with M activations
    forwarded along the row (M x a_bits registers), a log2(M)-bit index register and an
    M-to-1 activation mux; one multiplier."""
    for n, v in (("a_bits", a_bits), ("w_bits", w_bits), ("acc_bits", acc_bits)):
        _pos(n, v)
    _pos("m_group", m_group)
    parts = [
        *_mac(tech, a_bits, w_bits, acc_bits),
        register(tech, a_bits * m_group, "a_registers"),
        register(tech, w_bits, "w_register"),
        register(tech, ceil_log2(m_group), "index_register"),
        mux(tech, m_group, a_bits, "activation_mux"),
    ]
    params = {"a_bits": a_bits, "w_bits": w_bits, "acc_bits": acc_bits, "m_group": m_group}
    return Composition("nm_pe", params, tuple(parts))


def cc_pe(
    tech: Technology, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 32, combine: int = 8
) -> Composition:
    """Column-combining PE (:mod:`sod.rtl.cc_pe`): the dense MAC PE whose activation
    register forwards ``combine`` lanes (the g-wide row feed), plus a member-index register
    (⌈log2 g⌉ bits, loaded with the weight) and a g-to-1 activation mux."""
    for n, v in (("a_bits", a_bits), ("w_bits", w_bits), ("acc_bits", acc_bits)):
        _pos(n, v)
    _pos("combine", combine)
    idx = (combine - 1).bit_length()
    parts = [
        *_mac(tech, a_bits, w_bits, acc_bits),
        register(tech, a_bits * combine, "a_register"),
        register(tech, w_bits, "w_register"),
        mux(tech, combine, a_bits, "act_select"),
    ]
    if idx:
        parts.append(register(tech, idx, "index_register"))
    params = {"a_bits": a_bits, "w_bits": w_bits, "acc_bits": acc_bits, "combine": combine}
    return Composition("cc_pe", params, tuple(parts))


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
    "nm_pe": nm_pe,
    "csr_match_pe": csr_match_pe,
    "index_match_pe": index_match_pe,
    "bitmask_join_pe": bitmask_join_pe,
    "scnn_pe": scnn_pe,
    "scnn_core": scnn_core,
    "scnn_acc_bank": scnn_acc_bank,
    "decompressor": decompressor,
    "vusa_kwindow": lambda tech, **p: _vusa_window(tech, "k", **p),
    "vusa_nwindow": lambda tech, **p: _vusa_window(tech, "n", **p),
    "cc_pe": cc_pe,
}


def _vusa_window(tech: Technology, axis: str, **params: Any) -> Composition:
    from sod.cost.pe_vusa import vusa_window_parts

    kept, parts = vusa_window_parts(tech, axis, **params)
    return Composition(f"vusa_{axis}window", kept, tuple(parts))


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


def ceil_log2(n: int) -> int:
    return max(math.ceil(math.log2(n)), 1)
