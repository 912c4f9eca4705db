"""Architecture specifications (pydantic), loaded from and dumped to YAML.

An :class:`Architecture` says what hardware a model evaluates: the PE array (rows ×
columns and dataflow for systolic arrays), clock, and — as the models grow — buffers,
DRAM and the sparse machinery. Every field is validated, and a bad field gives a one-line
:class:`~sod.errors.ArchitectureError` naming it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sod.errors import ArchitectureError
from sod.limits import MAX_ARRAY_DIM, MAX_FREQUENCY_MHZ

BIG = 1 << 16  # upper bound of counts and widths (banks, bits per cycle, PEs per side)


class Dataflow(StrEnum):
    """Systolic-array dataflows (SCALE-Sim's names)."""

    WS = "ws"  # weight stationary: W tiles held in PEs, A streams through
    OS = "os"  # output stationary: O tiles accumulate in PEs, A and W stream
    IS = "is"  # input stationary: A tiles held in PEs, W streams through


class ArchBase(BaseModel):
    """Fields every architecture has: clock, word widths, global buffer and DRAM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "arch"
    kind: str
    frequency_mhz: float = Field(1000.0, gt=0, le=MAX_FREQUENCY_MHZ, description="clock frequency")
    node_nm: int = Field(45, gt=0, le=1000, description="technology node (sod.tech)")
    value_bits: int = Field(8, gt=0, le=64, description="operand width (int8 by default)")
    acc_bits: int = Field(32, gt=0, le=128, description="accumulator / output width")
    glb_kib: float = Field(512.0, gt=0, le=1 << 30, description="global buffer capacity, KiB")
    glb_read_width_bits: int = Field(
        256, gt=0, le=BIG, description="GLB read port width per bank, bits per cycle"
    )
    glb_banks: int = Field(
        8,
        gt=0,
        le=BIG,
        description="GLB banks read in parallel: the GLB delivers at most "
        "glb_banks x glb_read_width_bits bits per cycle to the PEs",
    )
    glb_cell: Literal["lstp", "hp"] = Field(
        "lstp",
        description="GLB SRAM cell type (CACTI): 'lstp' low standby power (the default "
        "for a large buffer) or 'hp' high performance (fast, ~10^4x the leakage)",
    )
    dram_bandwidth_bytes_per_cycle: float = Field(
        32.0, gt=0, le=1e6, description="DRAM bandwidth at the accelerator clock"
    )
    dram_kind: str = Field("lpddr4", description="DRAM energy per bit (sod.tech)")
    ideal_memory: bool = Field(
        False, description="ignore GLB capacity and DRAM bandwidth (compute cycles only)"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: Any) -> Any:
        # YAML `true` is not a count: pydantic would read it as 1.
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation is not bool:
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value

    @property
    def pe_count(self) -> int:  # pragma: no cover - every concrete kind overrides it
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Architecture(ArchBase):
    """A dense (TPU-like) systolic array of int8 MAC PEs."""

    name: str = "dense"
    kind: Literal["dense"] = "dense"
    array_rows: int = Field(32, gt=0, le=MAX_ARRAY_DIM, description="PE rows (R)")
    array_cols: int = Field(32, gt=0, le=MAX_ARRAY_DIM, description="PE columns (C)")
    dataflow: Dataflow | Literal["auto"] = Field(
        "auto",
        description="ws, os or is for every layer; auto: per layer, the one with the fewest "
        "compute cycles (ties: ws, os, is)",
    )
    timing: Literal["tpu", "scalesim"] = Field(
        "tpu",
        description="tpu: double-buffered stationary loads and an accumulator buffer, the "
        "pipeline filled and drained once per run of folds; scalesim: SCALE-Sim v3's "
        "per-fold cost (load + fill + drain every fold)",
    )

    @property
    def pe_count(self) -> int:
        return self.array_rows * self.array_cols


DenseArch = Architecture


class DecompressorPlacement(StrEnum):
    """Where the decompression units sit."""

    AFTER_GLB = "after_glb"  # the paper's design: GLB holds compressed tiles
    BEFORE_GLB = "before_glb"  # ablation: DRAM → decompress → dense GLB


class SparseOnDenseArch(Architecture):
    """The paper's machine: a dense systolic array, compressed operands in DRAM and the GLB,
    and decompression units between the GLB and the array edge."""

    name: str = "sparse-on-dense"
    kind: Literal["sparse_on_dense"] = "sparse_on_dense"  # type: ignore[assignment]
    weight_format: str = Field("csc", description="format of weights in DRAM/GLB (sod.formats)")
    act_format: str = Field("dense", description="format of activations in DRAM/GLB")
    index_bits: int | None = Field(
        None, gt=0, le=32, description="index width; None = the minimum for the tile shape"
    )
    pointer_bits: int | None = Field(
        None, gt=0, le=32, description="pointer width; None = the minimum for the tile shape"
    )
    run_bits: int = Field(4, gt=0, le=16, description="RLE zero-run field width")
    dense_fallback: bool = Field(True, description="store a tile dense when that is smaller")
    decompressor_lanes: int = Field(
        0, ge=0, le=BIG, description="dense elements per cycle per unit; 0 = match the array edge"
    )
    decompressor_units: int = Field(1, gt=0, le=BIG, description="decompression units per operand")
    decompressor_read_bits: int = Field(
        0,
        ge=0,
        le=BIG,
        description="compressed bits a unit reads per cycle; 0 = glb_read_width_bits",
    )
    decompressor_tile_buffer: bool = Field(
        True, description="a tile buffer lets a unit decompress the next fold's tile early"
    )
    placement: DecompressorPlacement = DecompressorPlacement.AFTER_GLB
    zero_gating: bool = Field(True, description="gate MACs on zero operands (energy only)")
    skip_zero_tiles: bool = Field(True, description="skip weight tiles that are all zero")
    weight_reorder: Literal["none", "sort"] = Field(
        "none",
        description="none: W in its natural order; sort: the compiler permutes W's rows (k, "
        "with A's columns) and columns (n, outputs written back in place) so that zero "
        "tiles appear, and keeps the natural order when that is no slower "
        "(sod.compiler.reorder)",
    )

    @field_validator("weight_format", "act_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from sod.formats import FORMATS  # formats know nothing of architectures

        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}; choose from: {', '.join(FORMATS)}")
        return value


_ARRAY_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_array(text: str) -> tuple[int, int]:
    """Parse ``"RxC"`` (e.g. ``"32x32"``, ``"16x64"``) into positive (rows, cols)."""
    match = _ARRAY_RE.match(text)
    if not match:
        raise ArchitectureError(f"array spec {text!r} is not ROWSxCOLS (e.g. 32x32)")
    rows, cols = int(match.group(1)), int(match.group(2))
    if rows <= 0 or cols <= 0:
        raise ArchitectureError(f"array spec {text!r}: rows and columns must be positive")
    if rows > MAX_ARRAY_DIM or cols > MAX_ARRAY_DIM:
        raise ArchitectureError(
            f"array spec {text!r}: rows and columns must be at most {MAX_ARRAY_DIM:,}"
        )
    return rows, cols


def validation_message(err: ValidationError, source: str) -> str:
    """One line naming the first bad field of a pydantic error."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{source}: field {where!r}: {msg}"
