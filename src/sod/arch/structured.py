"""Structured-sparsity systolic arrays: the N:M array (``kind: nm_systolic``).

A TPU-like weight-stationary array whose weights are stored N:M-compressed along the
reduction dimension k (N kept values of every M, each with a ``log2(M)``-bit index) and
whose PEs each hold one (value, index) pair and pick their activation with an M-to-1 mux
from the M activations broadcast along their row (Systolic Tensor Array, S2TA's DBB,
NVIDIA's sparse tensor cores). N consecutive PE rows share one group of M activations,
so an R-row array covers ``(R // N) * M`` reduction indices per fold: up to M/N x the MAC
throughput of the dense array on N:M-pruned weights. A fold whose weights are not N:M
(some group of M in some column holds more than N non-zeros) runs as a plain dense
array. The model is :mod:`sod.models.nm_systolic`, the design
:mod:`sod.designs.nm_systolic`, the PE :mod:`sod.rtl.nm_pe`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sod.arch.spec import Architecture, Dataflow


class NMSystolicArch(Architecture):
    """A weight-stationary systolic array with N:M-compressed weights and one M-to-1
    activation mux per multiplier."""

    name: str = "nm-systolic"
    kind: Literal["nm_systolic"] = "nm_systolic"  # type: ignore[assignment]
    dataflow: Dataflow | Literal["auto"] = Field(
        Dataflow.WS,
        description="weight stationary only (the weight's index selects the activation); "
        "'auto' is accepted and means ws",
    )
    n_keep: int = Field(2, gt=0, le=256, description="N: non-zeros kept per group of M")
    m_group: int = Field(4, gt=0, le=256, description="M: group length along k (power of 2)")
    fallback: Literal["dense", "split"] = Field(
        "dense",
        description="a span that is not N:M: 'dense' runs it as the plain array "
        "(ceil(span / R) folds, muxes idle); 'split' runs ceil(c / N) N:M folds for its "
        "fullest group of c non-zeros (fold j takes each group's non-zeros ranked "
        "jN..jN+N-1)",
    )
    zero_gating: bool = Field(
        True, description="gate MACs on a zero operand (padding slots, zero activations)"
    )

    @field_validator("dataflow", mode="before")
    @classmethod
    def _weight_stationary(cls, value: Any) -> Any:
        if str(getattr(value, "value", value)) not in ("ws", "auto"):
            raise ValueError(
                f"an N:M array is weight stationary: dataflow must be ws (or auto), got {value!r}"
            )
        return Dataflow.WS

    @field_validator("m_group")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"M must be a power of 2, got {value}")
        return value

    @model_validator(mode="after")
    def _n_le_m(self) -> NMSystolicArch:
        if self.n_keep > self.m_group:
            raise ValueError(f"N ({self.n_keep}) must be at most M ({self.m_group})")
        if self.n_keep > self.array_rows:
            raise ValueError(
                f"N ({self.n_keep}) must be at most the array rows ({self.array_rows}): "
                "N rows share one group of M activations"
            )
        return self

    @property
    def index_bits(self) -> int:
        """Bits of one kept weight's position in its group: log2(M) (at least 1)."""
        return max(1, (self.m_group - 1).bit_length())

    @property
    def groups_per_fold(self) -> int:
        """Groups of M one fold covers: R // N (N PE rows per group)."""
        return self.array_rows // self.n_keep

    @property
    def k_per_fold(self) -> int:
        """Reduction indices one N:M fold covers: (R // N) * M."""
        return self.groups_per_fold * self.m_group
