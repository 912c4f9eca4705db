"""Specifications of the dedicated sparse accelerators the study compares against.

Each is a pydantic model extending :class:`~sod.arch.spec.ArchBase`; presets live in
``sod/arch/presets/*.yaml``. Defaults follow the published designs (REFERENCES.md §5).
``pe_count`` is always the number of MULTIPLIERS, the unit effective utilization is
measured against. The performance models are in :mod:`sod.models.scnn`,
:mod:`sod.models.sparten` and :mod:`sod.models.index_match`; docs/sparse-accelerators.md
explains each field's role.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sod.arch.spec import ArchBase
from sod.errors import ArchitectureError


def min_index_bits(fiber_length: int) -> int:
    """Smallest CSR index width that addresses every position of a fiber of
    ``fiber_length`` positions (the reduction dimension k): ⌈log2 k⌉, at least 1."""
    if not (isinstance(fiber_length, int) and fiber_length > 0):
        raise ArchitectureError(f"fiber length must be a positive integer, got {fiber_length!r}")
    return max(1, (fiber_length - 1).bit_length())


class SCNNArch(ArchBase):
    """SCNN (Parashar et al., ISCA 2017): a grid of PEs, each an F×I Cartesian-product
    multiplier array feeding accumulator banks through a scatter crossbar."""

    name: str = "scnn"
    kind: Literal["scnn"] = "scnn"
    pe_rows: int = Field(
        8, gt=0, le=1 << 16, description="PE grid rows (planar tiling of the input)"
    )
    pe_cols: int = Field(8, gt=0, le=1 << 16, description="PE grid columns")
    mult_f: int = Field(4, gt=0, le=1 << 16, description="weights per cycle per PE (F)")
    mult_i: int = Field(4, gt=0, le=1 << 16, description="activations per cycle per PE (I)")
    accumulator_banks: int = Field(32, gt=0, le=1 << 16, description="accumulator banks per PE")
    accumulator_bits: int = Field(
        24,
        gt=0,
        le=128,
        description="accumulator bank word width (the SCNN paper: 24 bits); sets the "
        "banks, bank adders and scatter crossbar of the PE (area and energy)",
    )
    crossbar_buffering: Literal["deep", "none"] = Field(
        "deep",
        description="accumulator-bank input queues: 'deep' (a bank retires one "
        "product per cycle from a queue; conflicts cost only when a bank falls behind and "
        "the final drain) or 'none' (a cycle lasts as long as its most loaded bank)",
    )
    fc_mapping: Literal["auto", "plane", "channels"] = Field(
        "auto",
        description="FC/attention GEMMs: 'plane' = a 1x1 convolution over a plane "
        "of the m rows, tiled like any plane (a batch-1 FC layer runs on one PE); "
        "'channels' = input channels split over the PEs, each PE holding the whole plane of "
        "its slice, partial outputs added up (not SCNN's published mapping); 'auto' = the "
        "per-layer mapping search picks the faster (sod.designs.scnn; a model called "
        "directly with 'auto' runs 'plane')",
    )
    stride_mapping: Literal["auto", "direct", "polyphase"] = Field(
        "auto",
        description="strided convolutions: 'direct' = SCNN's published Cartesian product "
        "over the input plane (off-stride products are computed and dropped); 'polyphase' "
        "= the stride-s convolution as s*s stride-1 convolutions of input and kernel "
        "phases, every product useful; 'auto' = the per-layer mapping search picks the "
        "faster (a model called directly with 'auto' runs 'direct')",
    )
    accumulator_entries: int = Field(
        32,
        gt=0,
        le=1 << 16,
        description="entries per accumulator bank in each of its two buffers (SCNN: 32); "
        "Kc x a PE's output tile (halo included) must fit banks x entries",
    )
    iaram_bytes: int = Field(
        10240,
        gt=0,
        le=1 << 30,
        description="per-PE input activation RAM (SCNN: 10 KiB): a PE's compressed input "
        "tile that fits is fetched from the GLB once, else once per output-channel group",
    )
    oaram_bytes: int = Field(
        10240, gt=0, le=1 << 30, description="per-PE output activation RAM (SCNN: 10 KiB)"
    )
    out_channel_group: Annotated[int, Field(gt=0, le=1 << 16)] | Literal["auto"] = Field(
        "auto",
        description="output channels per group (Kc; PEs synchronize per group): 'auto' = "
        "per layer, the largest Kc whose partial sums fit the accumulator banks (SCNN's "
        "rule), after the fewest sub-tile passes that make one output channel fit; an "
        "integer is kept and the passes chosen for it (sod.mapping.scnn.accumulator_tiling)",
    )
    index_bits: int = Field(
        4,
        gt=0,
        le=32,
        description="zero-run index width of the compressed weight/activation streams",
    )

    @property
    def pe_count(self) -> int:
        """Multipliers (the unit utilization is measured against)."""
        return self.pe_rows * self.pe_cols * self.mult_f * self.mult_i


class SparTenArch(ArchBase):
    """SparTen (Gondimalla et al., MICRO 2019): bitmask inner join with prefix sums,
    clusters of asynchronous compute units, greedy load balancing."""

    name: str = "sparten"
    kind: Literal["sparten"] = "sparten"
    clusters: int = Field(32, gt=0, le=1 << 16)
    units_per_cluster: int = Field(32, gt=0, le=1 << 16, description="compute units (one MAC each)")
    chunk_bits: int = Field(128, gt=0, le=1 << 16, description="bitmask chunk length")
    load_balance: Literal["auto", "none", "gb-s"] = Field(
        "gb-s",
        description="filter-to-unit assignment: GB-S (the published design: sort filters "
        "by density, deal them boustrophedon), or natural order; 'auto' = the per-layer "
        "mapping search tries both (GB-S won every layer of AlexNet and BERT-base, so the "
        "default does not pay for the search; a model called directly with 'auto' runs GB-S)",
    )
    orientation: Literal["auto", "gemm", "transposed"] = Field(
        "auto",
        description="which operand the compute units hold: 'gemm' = filters (columns of "
        "W) in the units, activation rows broadcast (SparTen's); 'transposed' = O^T = "
        "W^T A^T, activation rows in the units, filters broadcast; 'auto' = the per-layer "
        "mapping search picks the faster (a model called directly runs 'gemm')",
    )

    @property
    def pe_count(self) -> int:
        return self.clusters * self.units_per_cluster


class IndexMatchArch(ArchBase):
    """A comparator-based CSR-intersection PE array (SNAP/SPRITE-like).

    Each PE intersects one activation row fiber with one weight column fiber: every cycle
    it compares a window of ``window`` activation indices with a window of ``window``
    weight indices (``window²`` comparators), multiplies every match (``window``
    multipliers, since a window holds at most ``window`` matches) and advances the
    window(s) whose last index is smaller.
    """

    name: str = "index-match"
    kind: Literal["index_match"] = "index_match"
    pe_rows: int = Field(16, gt=0, le=1 << 16)
    pe_cols: int = Field(16, gt=0, le=1 << 16)
    window: int = Field(
        4,
        gt=0,
        le=64,
        description="index entries per operand compared "
        "per cycle per PE (window² comparators, window multipliers)",
    )
    fifo_depth: int = Field(
        8,
        gt=0,
        description="operand FIFO entries per PE; below "
        "2·window the next fiber cannot be prefetched (1 bubble/pair)",
    )
    orientation: Literal["auto", "gemm", "transposed"] = Field(
        "auto",
        description="which operand runs along the array rows: 'gemm' = activation fibers "
        "along rows, weight fibers along columns (tiles of min(m, pe_rows) rows); "
        "'transposed' = O^T = W^T A^T, weight fibers along rows (tiles of min(n, pe_rows) "
        "rows); 'auto' = the per-layer mapping search picks the faster (a model called "
        "directly runs 'gemm')",
    )
    index_bits: int = Field(
        16,
        gt=0,
        le=32,
        description="CSR index width; addresses fibers of up to 2^index_bits positions. "
        "16 bits (k <= 65,536) covers every zoo layer (VGG-16 fc6 needs 15, BERT 10-12); "
        "check_fiber_length(k) refuses longer fibers; min_index_bits(k) is the width a "
        "layer needs",
    )

    def check_fiber_length(self, k: int) -> None:
        """Refuse a reduction dimension ``k`` the CSR indices cannot address."""
        need = min_index_bits(k)
        if need > self.index_bits:
            raise ArchitectureError(
                f"{self.name}: fibers of k={k} positions need {need}-bit indices, "
                f"index_bits is {self.index_bits} (addresses k <= {1 << self.index_bits})"
            )

    @property
    def comparators_per_cycle(self) -> int:
        """Index comparisons per cycle per PE."""
        return self.window * self.window

    @property
    def pe_count(self) -> int:
        return self.pe_rows * self.pe_cols * self.window
