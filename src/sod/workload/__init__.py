"""Workloads: networks lowered to GEMMs (``O[m,n] = A[m,k] · W[k,n]``)."""

from sod.workload.gemm import (
    Activation,
    ConvShape,
    Gemm,
    LayerKind,
    Workload,
    attention_matmuls,
    conv2d,
    linear,
)
from sod.workload.mask import BitMask

__all__ = [
    "Activation",
    "BitMask",
    "ConvShape",
    "Gemm",
    "LayerKind",
    "Workload",
    "attention_matmuls",
    "conv2d",
    "linear",
]
