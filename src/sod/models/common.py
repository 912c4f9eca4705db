"""What every performance model returns: :class:`Counts`.

A model is a pure function ``evaluate(gemm, arch) -> Counts``. Counts hold cycles, MACs
(dense-equivalent, issued, effectual) and named **action counts** that the energy model
(:mod:`sod.cost.energy`) prices. All counts cover every ``repeat`` of the GEMM.

Action names are dotted: ``<action>[.<operand>]``. The base name selects the energy per
action; the operand suffix (``weight``, ``act``, ``out``, ``meta``) only labels the
breakdown. Names in use:

=============================  ==========================================================
``mac``                        a full multiply-accumulate (operands may be zero)
``mac_gated``                  a MAC whose datapath is gated because an operand is zero
``pe_reg_bits.<op>``           bits written into PE-array pipeline/stationary registers
``glb_read_bits.<op>``         bits read from the global buffer (compressed where stored so)
``glb_write_bits.<op>``        bits written into the global buffer
``dram_read_bits.<op>``        bits read from DRAM (compressed where stored so)
``dram_write_bits.<op>``       bits written to DRAM
``decompress_elements``        dense elements emitted by decompression units
``decompress_words``           compressed words consumed by decompression units
``index_compare``              one index comparison (comparator-based matching)
``prefix_sum_bits``            bits of bitmask pushed through a prefix-sum/popcount tree
``crossbar_transfer``          one product routed through a scatter crossbar
``accumulator_access``         one accumulator update (acc_bits written), per accumulated
                               product, every design (docs/cost.md: one accumulator rule)
``reduce_add``                 one add of two partial sums outside a MAC
``fifo_access``                one FIFO push or pop
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OPERANDS = ("weight", "act", "out", "meta")


@dataclass(frozen=True)
class Counts:
    """Cycles, MACs and action counts of one GEMM (all repeats) on one architecture."""

    compute_cycles: int
    stall_cycles: int
    macs_dense: int  # m·k·n·repeat: the dense-equivalent work
    macs_issued: int  # MACs the hardware actually performs (dense arrays: all of them)
    macs_effectual: int  # MACs whose both operands are non-zero
    pe_count: int
    actions: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)  # model-specific extras

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    @property
    def utilization(self) -> float:
        """Issued MACs per PE-cycle (hardware busy fraction)."""
        return self.macs_issued / (self.pe_count * self.cycles) if self.cycles else 0.0

    @property
    def effective_utilization(self) -> float:
        """Effectual MACs per PE-cycle: useful work over peak; never above 1."""
        return self.macs_effectual / (self.pe_count * self.cycles) if self.cycles else 0.0

    def action(self, name: str) -> float:
        """Sum of an action over operands (``glb_read_bits`` sums all ``glb_read_bits.*``)."""
        return float(
            sum(v for k, v in self.actions.items() if k == name or k.startswith(name + "."))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "compute_cycles": self.compute_cycles,
            "stall_cycles": self.stall_cycles,
            "cycles": self.cycles,
            "macs": self.macs_dense,
            "macs_issued": self.macs_issued,
            "macs_effectual": self.macs_effectual,
            "utilization": self.utilization,
            "effective_utilization": self.effective_utilization,
            "actions": dict(self.actions),
            **dict(self.details),
        }


def add_actions(*parts: Mapping[str, float]) -> dict[str, float]:
    """Sum several action dictionaries."""
    out: dict[str, float] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out.get(key, 0.0) + float(value)
    return out


def sum_counts(parts: Sequence[Counts], pe_count: int) -> Counts:
    """The counts of several GEMMs run one after another on ``pe_count`` PEs (details,
    which are per-GEMM, are left out)."""
    return Counts(
        compute_cycles=sum(c.compute_cycles for c in parts),
        stall_cycles=sum(c.stall_cycles for c in parts),
        macs_dense=sum(c.macs_dense for c in parts),
        macs_issued=sum(c.macs_issued for c in parts),
        macs_effectual=sum(c.macs_effectual for c in parts),
        pe_count=pe_count,
        actions=add_actions(*(c.actions for c in parts)),
    )


# Details that add up over parts of a GEMM (batch as a repeat: docs/large-batch.md); the
# other details (ratios, labels) are kept from the first part.
_ADDITIVE_DETAILS = ("work_units", "ideal_cycles", "bank_conflict_cycles", "wasted_products")


def scale_counts(counts: Counts, times: int) -> Counts:
    """``counts`` of a GEMM part run ``times`` times in a row (cycles, MACs, actions and
    additive details times ``times``)."""
    if times == 1:
        return counts
    details = dict(counts.details)
    for key in _ADDITIVE_DETAILS:
        if isinstance(details.get(key), int | float) and not isinstance(details[key], bool):
            details[key] = details[key] * times
    return Counts(
        counts.compute_cycles * times,
        counts.stall_cycles * times,
        counts.macs_dense * times,
        counts.macs_issued * times,
        counts.macs_effectual * times,
        counts.pe_count,
        {key: value * times for key, value in counts.actions.items()},
        details,
    )


def combine_counts(first: Counts, second: Counts) -> Counts:
    """Two parts of one GEMM run one after another (details: additive ones summed, the
    others the first part's)."""
    details = dict(first.details)
    for key in _ADDITIVE_DETAILS:
        a, b = details.get(key), second.details.get(key)
        if isinstance(a, int | float) and isinstance(b, int | float):
            details[key] = a + b
    return Counts(
        first.compute_cycles + second.compute_cycles,
        first.stall_cycles + second.stall_cycles,
        first.macs_dense + second.macs_dense,
        first.macs_issued + second.macs_issued,
        first.macs_effectual + second.macs_effectual,
        first.pe_count,
        add_actions(first.actions, second.actions),
        details,
    )
