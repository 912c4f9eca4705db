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
    "from_huggingface",
    "from_onnx",
    "from_torch",
    "linear",
]


def __getattr__(name: str) -> object:
    # Lazy: importing sod.workload must not import torch or onnx (optional extras).
    if name == "from_torch":
        from sod.workload.torch_import import from_torch

        return from_torch
    if name == "from_huggingface":
        from sod.workload.hf_import import from_huggingface

        return from_huggingface
    if name == "from_onnx":
        from sod.workload.onnx_import import from_onnx

        return from_onnx
    raise AttributeError(f"module 'sod.workload' has no attribute {name!r}")
