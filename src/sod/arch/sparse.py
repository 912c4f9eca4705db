"""Specifications of the dedicated sparse accelerators the study compares against.

Each is a pydantic model extending :class:`~sod.arch.spec.ArchBase`; presets live in
``sod/arch/presets/*.yaml``. Defaults follow the published designs (REFERENCES.md §5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sod.arch.spec import ArchBase


class SCNNArch(ArchBase):
    """SCNN (Parashar et al., ISCA 2017): a grid of PEs, each an F×I Cartesian-product
    multiplier array feeding accumulator banks through a scatter crossbar."""

    name: str = "scnn"
    kind: Literal["scnn"] = "scnn"
    pe_rows: int = Field(8, gt=0)
    pe_cols: int = Field(8, gt=0)
    mult_f: int = Field(4, gt=0, description="weights per cycle per PE (F)")
    mult_i: int = Field(4, gt=0, description="activations per cycle per PE (I)")
    accumulator_banks: int = Field(32, gt=0, description="accumulator banks per PE")

    @property
    def pe_count(self) -> int:
        """Multipliers (the unit utilization is measured against)."""
        return self.pe_rows * self.pe_cols * self.mult_f * self.mult_i


class SparTenArch(ArchBase):
    """SparTen (Gondimalla et al., MICRO 2019): bitmask inner join with prefix sums,
    clusters of asynchronous compute units, greedy load balancing."""

    name: str = "sparten"
    kind: Literal["sparten"] = "sparten"
    clusters: int = Field(32, gt=0)
    units_per_cluster: int = Field(32, gt=0, description="compute units (one MAC each)")
    chunk_bits: int = Field(128, gt=0, description="bitmask chunk length")
    load_balance: Literal["none", "gb-s", "gb-h"] = "gb-s"

    @property
    def pe_count(self) -> int:
        return self.clusters * self.units_per_cluster


class IndexMatchArch(ArchBase):
    """A comparator-based CSR-intersection PE array (SNAP/SPRITE-like)."""

    name: str = "index-match"
    kind: Literal["index_match"] = "index_match"
    pe_rows: int = Field(16, gt=0)
    pe_cols: int = Field(16, gt=0)
    comparators_per_cycle: int = Field(4, gt=0, description="index comparisons per cycle per PE")
    fifo_depth: int = Field(4, gt=0, description="operand FIFO entries per PE")

    @property
    def pe_count(self) -> int:
        return self.pe_rows * self.pe_cols
