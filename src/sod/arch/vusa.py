"""VUSA: a virtually upscaled systolic array (Helal, Garcia-Ortiz, Bamberg, MOCAST 2025,
arXiv 2506.01166).

A weight-stationary array of ``array_rows`` × ``array_cols`` physical MACs, cut along
``window_axis`` into windows of ``window_macs`` (M) MACs; each window serves up to
``window_slots`` (V) consecutive *virtual* PEs: the compiler assigns the non-zero weights
of those V positions to the M MACs (value + in-window index). Along k (the default) a
window is part of a column and serves V virtual rows, so the array behaves as
``R·V/M`` × ``C`` when the weights are sparse enough; along n it is part of a row and
serves V virtual columns (``R`` × ``C·V/M``). Windows whose weights are denser cover fewer
positions (at least M: dense weights give exactly the plain R × C array).
docs/sparse-accelerators.md ("VUSA") explains the mapping.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sod.arch.spec import Architecture
from sod.limits import MAX_ARRAY_DIM


class VUSAArch(Architecture):
    """VUSA's array: R × C physical MACs in windows of M MACs serving V virtual columns."""

    name: str = "vusa"
    kind: Literal["vusa"] = "vusa"  # type: ignore[assignment]
    array_rows: int = Field(
        30, gt=0, le=MAX_ARRAY_DIM, description="physical MAC rows (R; windows of M along k)"
    )
    dataflow: Literal["ws", "auto"] = Field(  # type: ignore[assignment]
        "ws",
        description="weight stationary only (the windows are loaded with a fold's weights); "
        "auto means ws",
    )
    window_slots: int = Field(
        5, gt=0, le=64, description="virtual columns (V) one window of MACs can serve"
    )
    window_macs: int = Field(3, gt=0, le=64, description="physical MACs (M) per window")
    window_axis: Literal["k", "n"] = Field(
        "k",
        description="k: a window is M MACs of one column serving V consecutive virtual rows "
        "(reduction positions; each MAC selects its activation, one partial sum per window); "
        "n: a window is M MACs of one row serving V consecutive virtual columns (output "
        "channels; each MAC routes its product to a column's partial sum)",
    )
    zero_gating: bool = Field(True, description="gate MAC slots left empty (energy only)")

    @field_validator("dataflow", mode="before")
    @classmethod
    def _ws_only(cls, value: object) -> object:
        if isinstance(value, str) and value not in ("ws", "auto"):
            raise ValueError(f"VUSA is weight stationary: dataflow must be ws, got {value!r}")
        return "ws" if value == "auto" else value

    @model_validator(mode="after")
    def _windows_fit(self) -> VUSAArch:
        if self.window_macs > self.window_slots:
            raise ValueError(
                f"window_macs ({self.window_macs}) must be at most window_slots "
                f"({self.window_slots})"
            )
        field = "array_rows" if self.window_axis == "k" else "array_cols"
        if getattr(self, field) < self.window_macs:
            raise ValueError(
                f"{field} ({getattr(self, field)}) must be at least window_macs "
                f"({self.window_macs}) when window_axis is {self.window_axis}"
            )
        return self

    @property
    def windows_per_fold(self) -> int:
        """Windows side by side along the window axis (⌊R/M⌋ for k, ⌊C/M⌋ for n); the
        MACs left over when that side is not a multiple of M (after iso-area sizing) idle."""
        edge = self.array_rows if self.window_axis == "k" else self.array_cols
        return edge // self.window_macs

    @property
    def virtual_shape(self) -> tuple[int, int]:
        """(rows, cols) of the array at full virtual size (every window serving V)."""
        full = self.windows_per_fold * self.window_slots
        return (full, self.array_cols) if self.window_axis == "k" else (self.array_rows, full)

    @property
    def index_bits(self) -> int:
        """In-window index width of a stored weight: ⌈log2 V⌉ (at least 1)."""
        return max(1, (self.window_slots - 1).bit_length())
