"""Sparse-on-Dense: the dense array with compressed operands in DRAM and the GLB, and
decompression units between the GLB and the array edge (the paper's machine)."""

from __future__ import annotations

import math
from typing import Any

from sod.arch.spec import SparseOnDenseArch
from sod.cost.area import EdgeUnit, decompressor_area_table
from sod.cost.errors import CostError
from sod.designs.dense import DenseDesign
from sod.tech import Technology

# Which decompressor datapath a storage format needs (bitmask expansion or index scatter).
FORMAT_TO_DECOMPRESSOR = {
    "bitmap": "bitmask",
    "bitmask": "bitmask",
    "csc": "csc",
    "csr": "csc",
    "coo": "csc",
    "rle": "csc",
}


def _flows(dataflow: str) -> tuple[str, ...]:
    """The dataflows an array may run: its own, or all three with ``auto``."""
    return ("ws", "os", "is") if dataflow == "auto" else (dataflow,)


class SparseOnDenseDesign(DenseDesign):
    kind = "sparse_on_dense"
    spec = SparseOnDenseArch
    title = "dense systolic array + compressed GLB/DRAM + decompressors at the array edge"

    def edge_units(self, arch: Any, tech: Technology, pe_source: str) -> tuple[EdgeUnit, ...]:
        """Decompressors for each compressed operand, on the edge that operand enters by.

        WS/OS: activations enter along the rows, weights along the columns; IS swaps them.
        With ``dataflow: auto`` a layer may run any of the three, so each compressed operand
        has its decompressors on both edges (the search uses both; the hardware pays for
        both)."""
        edges: list[EdgeUnit] = []
        for operand, fmt in (("weight", arch.weight_format), ("act", arch.act_format)):
            if fmt == "dense":
                continue
            try:
                dfmt = FORMAT_TO_DECOMPRESSOR[fmt]
            except KeyError:
                raise CostError(f"no decompressor area model for format {fmt!r}") from None
            flow = str(arch.dataflow)
            sides = {(operand == "act") != (d == "is") for d in _flows(flow)}
            table, flags, source = decompressor_area_table(tech, dfmt, arch.value_bits, pe_source)
            edges.extend(
                EdgeUnit(
                    name="decompressors",
                    edge="rows" if on_rows else "cols",
                    units=arch.decompressor_units,
                    lanes=arch.decompressor_lanes,
                    area_um2_by_log2_lanes=table,
                    extrapolated_by_log2_lanes=flags,
                    source=f"{operand} {dfmt} decompressor: {source}",
                )
                for on_rows in sorted(sides, reverse=True)
            )
        return tuple(edges)

    def operand_feed_bits(self, arch: Any, operand: str, edge_len: int) -> int:
        """A compressed operand is read by its decompressors: each unit takes
        ``decompressor_read_bits`` (default one GLB word) per cycle."""
        fmt = arch.weight_format if operand == "weight" else arch.act_format
        if fmt == "dense":
            return int(edge_len * arch.value_bits)
        read = arch.decompressor_read_bits or arch.glb_read_width_bits
        return int(arch.decompressor_units * read)

    def energy_params(self, arch: Any, tech: Technology) -> dict[str, Any]:
        kw = super().energy_params(arch, tech)
        edge = max(arch.array_rows, arch.array_cols)
        # None = the minimum index width for a tile of the array's size
        kw["idx_bits"] = arch.index_bits or max(math.ceil(math.log2(edge)), 1)
        kw["decompressor_lanes"] = arch.decompressor_lanes or max(
            -(-edge // arch.decompressor_units), 2
        )
        fmt = arch.weight_format if arch.weight_format != "dense" else arch.act_format
        kw["decompressor_format"] = "bitmask" if fmt in ("bitmap", "bitmask") else "csc"
        if not arch.zero_gating:
            kw["mac_gated_fraction"] = 1.0
        return kw
