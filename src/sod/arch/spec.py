"""Architecture specifications (pydantic), loaded from and dumped to YAML.

An :class:`Architecture` says what hardware a model evaluates: the PE array (rows ×
columns and dataflow for systolic arrays), clock, and — as the models grow — buffers,
DRAM and the sparse machinery. Every field is validated, and a bad field gives a one-line
:class:`~sod.errors.ArchitectureError` naming it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sod.errors import ArchitectureError


class Dataflow(StrEnum):
    """Systolic-array dataflows (SCALE-Sim's names)."""

    WS = "ws"  # weight stationary: W tiles held in PEs, A streams through
    OS = "os"  # output stationary: O tiles accumulate in PEs, A and W stream
    IS = "is"  # input stationary: A tiles held in PEs, W streams through


class Architecture(BaseModel):
    """A dense systolic array; the base that the other architectures extend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "dense"
    kind: str = "dense"
    array_rows: int = Field(32, gt=0, description="PE rows (R)")
    array_cols: int = Field(32, gt=0, description="PE columns (C)")
    dataflow: Dataflow = Dataflow.WS
    frequency_mhz: float = Field(1000.0, gt=0, description="clock frequency")

    @property
    def pe_count(self) -> int:
        return self.array_rows * self.array_cols

    def summary(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_ARRAY_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_array(text: str) -> tuple[int, int]:
    """Parse ``"RxC"`` (e.g. ``"32x32"``, ``"16x64"``) into positive (rows, cols)."""
    match = _ARRAY_RE.match(text)
    if not match:
        raise ArchitectureError(f"array spec {text!r} is not ROWSxCOLS (e.g. 32x32)")
    rows, cols = int(match.group(1)), int(match.group(2))
    if rows <= 0 or cols <= 0:
        raise ArchitectureError(f"array spec {text!r}: rows and columns must be positive")
    return rows, cols


def validation_message(err: ValidationError, source: str) -> str:
    """One line naming the first bad field of a pydantic error."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{source}: field {where!r}: {first['msg']}"


def load_architecture(path: str | Path, cls: type[Architecture] = Architecture) -> Architecture:
    """Load an architecture from a YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ArchitectureError(f"cannot read architecture file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ArchitectureError(f"{path}: not valid YAML ({err.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ArchitectureError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise ArchitectureError(validation_message(err, str(path))) from None
