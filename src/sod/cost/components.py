"""The component library: area (unplaced cell µm²) and energy per use (pJ) of the blocks
PEs are made of, at a given :class:`~sod.tech.Technology`.

Arithmetic comes from the technology's cited numbers (Horowitz adders and multipliers,
interpolated in width; Aladdin registers and comparators). Blocks that no paper tabulates
(muxes, popcounts, prefix sums, crossbars, priority encoders) are counted in standard
cells (NanGate 45 nm areas, scaled with the node) from a stated structure; their energy per
use is their area × the logic energy density of the Horowitz int8 multiplier and int32
adder (≈0.0007 pJ/µm² at 45 nm: both give the same ratio, see docs/cost.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sod.cost.errors import CostError
from sod.tech import Technology, sram_cost


@dataclass(frozen=True)
class Part:
    """``count`` copies of one component inside a composition."""

    name: str
    count: float
    area_um2: float  # one copy, unplaced cell area (logic) or macro area (sram)
    energy_pj: float  # one use of one copy
    kind: str  # "logic" | "register" | "sram"
    source: str

    @property
    def total_area_um2(self) -> float:
        return self.count * self.area_um2


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise CostError(f"component {name}: width/size must be positive, got {value}")


def logic_pj_per_um2(tech: Technology) -> float:
    """Energy per use per µm² of active logic (derived from Horowitz mult and add)."""
    mult = tech.e("int8_mult") / tech.a("int8_mult")
    add = tech.e("int32_add") / tech.a("int32_add")
    wire = tech.params.get("wire_energy_factor")
    return 0.5 * (mult + add) * (wire.value if wire is not None else 1.0)


def _interp_width(bits: float, points: list[tuple[float, float]]) -> float:
    """Log–log interpolation through (width, value) points; end slopes beyond."""
    xs = np.log([p[0] for p in points])
    ys = np.log([p[1] for p in points])
    x = math.log(bits)
    if x < xs[0]:
        slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
        return float(math.exp(ys[0] + slope * (x - xs[0])))
    if x > xs[-1]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(math.exp(ys[-1] + slope * (x - xs[-1])))
    return float(math.exp(np.interp(x, xs, ys)))


def adder(tech: Technology, bits: int, name: str = "adder") -> Part:
    """A ``bits``-wide integer adder (Horowitz 8/16/32-bit points, log–log in width)."""
    _positive(name, bits)
    pts = [8, 16, 32]
    area = _interp_width(bits, [(w, tech.a(f"int{w}_add")) for w in pts])
    energy = _interp_width(bits, [(w, tech.e(f"int{w}_add")) for w in pts])
    return Part(f"{name}{bits}", 1, area, energy, "logic", "Horowitz int adds, width-interpolated")


def multiplier(tech: Technology, a_bits: int, b_bits: int, name: str = "mult") -> Part:
    """An ``a_bits × b_bits`` integer multiplier: power law in a·b through the int8/int32
    Horowitz points (area ∝ (a·b)^0.91, energy ∝ (a·b)^0.99 at 45 nm)."""
    _positive(name, a_bits)
    _positive(name, b_bits)
    prod = a_bits * b_bits
    area = _interp_width(prod, [(64, tech.a("int8_mult")), (1024, tech.a("int32_mult"))])
    energy = _interp_width(prod, [(64, tech.e("int8_mult")), (1024, tech.e("int32_mult"))])
    return Part(
        f"{name}{a_bits}x{b_bits}",
        1,
        area,
        energy,
        "logic",
        "Horowitz int8/int32 mults, power law in a*b",
    )


def register(tech: Technology, bits: float, name: str = "register") -> Part:
    """``bits`` flip-flops (Aladdin 1-bit register); energy per bit written/read."""
    return Part(
        name,
        bits,
        tech.a("register_bit"),
        tech.e("register_bit"),
        "register",
        "Aladdin 1-bit register",
    )


def comparator(tech: Technology, bits: int, name: str = "comparator") -> Part:
    """A ``bits``-wide comparator, linear in width from the Aladdin 32-bit one."""
    _positive(name, bits)
    f = bits / 32
    return Part(
        f"{name}{bits}",
        1,
        tech.a("comparator_32b") * f,
        tech.e("comparator_32b") * f,
        "logic",
        "Aladdin 32-bit comparator, linear in width",
    )


def _cells(tech: Technology, name: str, area_um2: float, structure: str) -> Part:
    return Part(
        name, 1, area_um2, area_um2 * logic_pj_per_um2(tech), "logic", f"NanGate cells: {structure}"
    )


def mux(tech: Technology, inputs: int, bits: int, name: str = "mux") -> Part:
    """An ``inputs``:1 mux of ``bits`` bits as AND-OR selection with a one-hot decode
    shared by all bits: about one NAND2 per input per bit plus one AND2 per input (what
    synthesis makes of wide array-indexed selects; a 2:1 mux comes out near a MUX2)."""
    _positive(name, inputs)
    _positive(name, bits)
    if inputs == 1:
        return _cells(tech, f"{name}1:1x{bits}", 0.0, "a wire")
    area = inputs * bits * tech.a("cell_nand2") + inputs * tech.a("cell_and2")
    return _cells(
        tech, f"{name}{inputs}:1x{bits}", area, "AND-OR: inputs x bits NAND2 + inputs AND2 decode"
    )


def popcount(tech: Technology, n: int, name: str = "popcount") -> Part:
    """Count of ones in ``n`` bits: a carry-save tree of about n − ⌈log2(n+1)⌉ full adders."""
    _positive(name, n)
    fas = max(n - math.ceil(math.log2(n + 1)), 0)
    return _cells(
        tech,
        f"{name}{n}",
        fas * tech.a("cell_full_adder") + tech.a("cell_half_adder"),
        "n - log2(n+1) FA + 1 HA",
    )


def prefix_sum(tech: Technology, n: int, name: str = "prefix_sum") -> Part:
    """All ``n`` prefix popcounts of an n-bit mask (SparTen's position computation).

    Brent–Kung network: 2n − 2 − log2 n adder nodes; a node at level l adds l+1-bit
    counts, so nodes average (log2 n)/2 + 1 full adders.
    """
    _positive(name, n)
    levels = max(math.ceil(math.log2(n)), 1)
    nodes = max(2 * n - 2 - levels, 1)
    fas = nodes * (levels / 2 + 1)
    return _cells(
        tech,
        f"{name}{n}",
        fas * tech.a("cell_full_adder"),
        "Brent-Kung: (2n-2-log2 n) nodes x (log2(n)/2+1) FA",
    )


def priority_encoder(tech: Technology, n: int, name: str = "priority_encoder") -> Part:
    """Find-first-set over ``n`` bits: prefix-OR (n·log2 n / 2 gates) + one-hot→binary
    (n·log2 n / 2 gates), counted as AND2-sized cells."""
    _positive(name, n)
    gates = n * max(math.log2(n), 1)
    return _cells(tech, f"{name}{n}", gates * tech.a("cell_and2"), "n*log2(n) AND2-size gates")


def crossbar(
    tech: Technology, inputs: int, outputs: int, bits: int, name: str = "crossbar"
) -> Part:
    """An ``inputs``×``outputs`` crossbar of ``bits`` bits: one inputs:1 mux per output
    (arbitration logic not counted); energy per element transferred."""
    m = mux(tech, inputs, bits)
    return Part(
        f"{name}{inputs}x{outputs}x{bits}",
        1,
        outputs * m.area_um2,
        m.energy_pj,
        "logic",
        f"{outputs} x ({inputs}-1) MUX2 per bit",
    )


def fifo(tech: Technology, depth: int, bits: int, name: str = "fifo") -> list[Part]:
    """A ``depth``×``bits`` register FIFO: storage, read mux, two pointers and their
    incrementers."""
    _positive(name, depth)
    _positive(name, bits)
    ptr = max(math.ceil(math.log2(depth)), 1)
    store = register(tech, depth * bits, f"{name}_storage")
    read = mux(tech, depth, bits, f"{name}_read_mux")
    ptrs = register(tech, 2 * ptr, f"{name}_pointers")
    inc = adder(tech, ptr, f"{name}_pointer_inc")
    return [store, read, ptrs, Part(inc.name, 2, inc.area_um2, inc.energy_pj, "logic", inc.source)]


def sram_macro(tech: Technology, capacity_bytes: float, port_bits: int, name: str = "sram") -> Part:
    """An SRAM macro from the CACTI table (area is layout area; energy per read)."""
    s = sram_cost(tech, capacity_bytes, port_bits)
    return Part(name, 1, s.area_um2, s.read_pj, "sram", s.source)


DECOMPRESSOR_FORMATS: tuple[str, ...] = ("bitmask", "csc")


def decompressor_parts(
    tech: Technology, lanes: int, fmt: str = "bitmask", value_bits: int = 8, realign: bool = True
) -> list[Part]:
    """A decompressor that emits ``lanes`` dense elements per cycle (the structure of
    :mod:`sod.rtl.decompressor`).

    bitmask: a ripple chain of prefix popcounts over the mask, one triangular select per
    lane (lane i picks one of the first i+1 packed values), zero gating of the outputs; with
    ``realign`` also a registered value word and a log shifter over a two-word window so
    vectors may straddle GLB words. The dense output is not registered (the edge PEs do).
    csc: the same, with an index register and a one-hot decode (lanes × log2 lanes AND2
    per packed element) in place of the mask prefix chain.
    """
    _positive("decompressor", lanes)
    _positive("decompressor", value_bits)
    if fmt not in DECOMPRESSOR_FORMATS:
        raise CostError(
            f"unknown decompressor format {fmt!r} (known: {', '.join(DECOMPRESSOR_FORMATS)})"
        )
    idx = max(math.ceil(math.log2(lanes)), 1)
    # Lane i selects one of the first i+1 packed values (AND-OR, decode shared by bits).
    select = sum(i + 1 for i in range(lanes))
    parts = [
        _cells(
            tech,
            f"lane_selects{lanes}",
            select * (value_bits * tech.a("cell_nand2") + tech.a("cell_and2")),
            "lane i: (i+1) inputs x bits NAND2 + (i+1) AND2 decode",
        ),
        _cells(
            tech,
            "output_gating",
            lanes * value_bits * tech.a("cell_and2"),
            "one AND2 per output bit",
        ),
    ]
    if fmt == "bitmask":
        chain = sum(max(math.ceil(math.log2(i + 1)), 1) for i in range(1, lanes))
        parts.append(
            _cells(
                tech,
                f"prefix_chain{lanes}",
                chain * tech.a("cell_half_adder"),
                "ripple of incrementers, one HA per bit",
            )
        )
    else:
        parts += [
            register(tech, lanes * idx, "index_register"),
            _cells(
                tech,
                "index_decode",
                lanes * lanes * tech.a("cell_and2"),
                "one-hot decode: lanes x lanes AND2",
            ),
        ]
    if realign:
        parts += [
            register(tech, lanes * value_bits + 2 * idx + 1, "value_word_register"),
            # Largest shift first: level b keeps lanes + 2**b - 1 words.
            _cells(
                tech,
                f"realign_shifter{lanes}",
                sum(lanes + 2**b - 1 for b in range(idx)) * value_bits * tech.a("cell_mux2"),
                "log shifter, level b: (lanes + 2^b - 1) x bits MUX2",
            ),
        ]
    return parts
