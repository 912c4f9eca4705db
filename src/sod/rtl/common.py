"""Small Amaranth helpers shared by the generators."""

from __future__ import annotations

from amaranth.hdl import Value


def popcount(bits: Value) -> Value:
    """Population count as a balanced adder tree (a prefix-sum building block)."""
    terms = [bits[i] for i in range(len(bits))]
    if not terms:
        return Value.cast(0)
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            pairs.append(terms[-1])
        terms = pairs
    return terms[0]


def is_power_of_two(n: int) -> bool:
    return isinstance(n, int) and n >= 1 and n & (n - 1) == 0
