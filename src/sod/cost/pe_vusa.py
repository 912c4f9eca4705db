"""Component compositions of VUSA's windows (:mod:`sod.rtl.vusa_pe`), the fallback of
:func:`sod.cost.pe_area.pe_area` when a (V, M) was never synthesized."""

from __future__ import annotations

from sod.cost.components import Part, adder, comparator, multiplier, mux, register
from sod.cost.errors import CostError
from sod.tech import Technology


def _times(p: Part, n: int) -> Part:
    return Part(p.name, p.count * n, p.area_um2, p.energy_pj, p.kind, p.source)


def vusa_window_parts(
    tech: Technology,
    axis: str,
    slots: int = 5,
    macs: int = 3,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> tuple[dict[str, object], list[Part]]:
    """Parts of one window of ``macs`` MACs serving ``slots`` virtual PEs along ``axis``:
    k — V activation registers, M V:1 activation selects, M multipliers whose products and
    the partial sum meet in M adders, one partial-sum register; n — one activation
    register, M V:1 partial-sum selects, M multiply-adds, V (M+1):1 routing muxes with their
    index comparators, V partial-sum registers. Both hold M (value, index, valid) slots."""
    for name, v in (("slots", slots), ("macs", macs), ("a_bits", a_bits), ("acc_bits", acc_bits)):
        if not (isinstance(v, int) and v > 0):
            raise CostError(f"VUSA window parameter {name} must be a positive integer, got {v!r}")
    if macs > slots:
        raise CostError(f"VUSA window: macs ({macs}) must be at most slots ({slots})")
    ib = max(1, (slots - 1).bit_length())
    parts = [
        _times(multiplier(tech, a_bits, w_bits), macs),
        _times(adder(tech, acc_bits, "accumulate_adder"), macs),
        register(tech, macs * (w_bits + ib + 1), "weight_slots"),
    ]
    if axis == "k":
        parts += [
            register(tech, slots * a_bits, "a_registers"),
            register(tech, acc_bits, "accumulator"),
            _times(mux(tech, slots, a_bits, "activation_select"), macs),
        ]
    elif axis == "n":
        parts += [
            register(tech, a_bits, "a_register"),
            register(tech, slots * acc_bits, "accumulators"),
            _times(mux(tech, slots, acc_bits, "psum_select"), macs),
            _times(mux(tech, macs + 1, acc_bits, "psum_route"), slots),
            _times(comparator(tech, ib, "index_match"), slots * macs),
        ]
    else:
        raise CostError(f"VUSA window axis must be 'k' or 'n', got {axis!r}")
    params = {"slots": slots, "macs": macs, "a_bits": a_bits, "w_bits": w_bits}
    return {**params, "acc_bits": acc_bits}, parts
