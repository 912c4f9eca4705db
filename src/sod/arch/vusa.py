"""VUSA: a virtually upscaled systolic array (Helal, Garcia-Ortiz, Bamberg, MOCAST 2025,
arXiv 2506.01166).

A weight-stationary array of ``array_rows`` × ``array_cols`` physical MACs. Along a row,
the MACs are cut into windows of ``window_macs`` (M) MACs; each window serves up to
``window_slots`` (V) consecutive *virtual* columns: the compiler assigns the non-zero
weights of those V columns to the M MACs (value + in-window index), so a window whose
loaded weights have at most M non-zeros in every row of the fold covers V columns, and the
array behaves as ``array_rows`` × ``array_cols·V/M`` when the weights are sparse enough.
Windows whose weights are denser cover fewer columns (at least M: dense weights give
exactly the plain R × C array). docs/sparse-accelerators.md ("VUSA") explains the mapping.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sod.arch.spec import Architecture


class VUSAArch(Architecture):
    """VUSA's array: R × C physical MACs in windows of M MACs serving V virtual columns."""

    name: str = "vusa"
    kind: Literal["vusa"] = "vusa"  # type: ignore[assignment]
    dataflow: Literal["ws", "auto"] = Field(  # type: ignore[assignment]
        "ws",
        description="weight stationary only (the windows are loaded with a fold's weights); "
        "auto means ws",
    )
    window_slots: int = Field(
        5, gt=0, le=64, description="virtual columns (V) one window of MACs can serve"
    )
    window_macs: int = Field(3, gt=0, le=64, description="physical MACs (M) per window")
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
        if self.array_cols % self.window_macs:
            raise ValueError(
                f"array_cols ({self.array_cols}) must be a multiple of window_macs "
                f"({self.window_macs})"
            )
        return self

    @property
    def windows_per_row(self) -> int:
        return self.array_cols // self.window_macs

    @property
    def virtual_cols(self) -> int:
        """Columns of the array at full virtual width (every window serving V)."""
        return self.windows_per_row * self.window_slots

    @property
    def index_bits(self) -> int:
        """In-window index width of a stored weight: ⌈log2 V⌉ (at least 1)."""
        return max(1, (self.window_slots - 1).bit_length())
