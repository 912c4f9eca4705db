"""Spec of the column-combining systolic array (Sparse-TPU / column combining).

:class:`ColumnCombiningArch` is the dense weight-stationary array whose PEs each add a
member-index register and a ``max_combine``-to-1 activation mux, fed by a
``max_combine``-times wider activation pipeline; the compiler packs sparse weight lines
(:mod:`sod.mapping.column_combining`). The model is :mod:`sod.models.column_combining`,
the design :mod:`sod.designs.column_combining`; docs/sparse-accelerators.md explains it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sod.arch.spec import Architecture


class ColumnCombiningArch(Architecture):
    """A WS systolic array running column-combined (packed) sparse weights."""

    name: str = "column-combining"
    kind: Literal["column_combining"] = "column_combining"  # type: ignore[assignment]
    dataflow: Literal["ws"] = Field(  # type: ignore[assignment]
        "ws",
        description="weight stationary only: packing combines lines of the stationary "
        "weight tile (the activations of a group's members flow along its array row)",
    )
    max_combine: int = Field(
        8,
        gt=0,
        le=64,
        description="g: most weight lines combined into one packed row (the PE's "
        "activation mux is g-to-1 and its activation pipeline g values wide)",
    )
    pack_window: int = Field(
        32,
        gt=0,
        le=4096,
        description="open groups the compiler's first-fit packing considers per weight "
        "tile (1 = next-fit); a compile-time knob, no hardware",
    )
    split_min: int = Field(
        0,
        ge=0,
        le=4096,
        description="line splitting (Sparse-TPU-style collision handling, off at 0): a line "
        "that fits no open group whole gives its non-conflicting non-zeros to the oldest open "
        "group where there are at least split_min of them; the rest is packed on its own "
        "(exact: costs rows and activation lanes, never weights)",
    )
    zero_gating: bool = Field(True, description="gate MACs on empty slots and zero operands")

    @property
    def member_index_bits(self) -> int:
        """Bits of the member index a PE keeps with its weight: ceil(log2 g), 0 for g=1."""
        return (self.max_combine - 1).bit_length()
