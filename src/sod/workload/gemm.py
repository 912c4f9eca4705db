"""GEMM workloads: the one convention every model in ``sod`` shares.

Every layer is lowered to ``O[m, n] = A[m, k] · W[k, n]``:

* ``A`` (m × k) is the *activation* operand: m = batch × output pixels (or tokens),
  k = the reduction dimension (input channels × kernel positions for a convolution);
* ``W`` (k × n) is the *weight* operand: n = output channels (or output features);
* ``O`` (m × n) is the output.

This is SCALE-Sim's (Sr, T, Sc) convention, so cross-checking against it is direct.
A :class:`Gemm` with ``repeat > 1`` stands for ``repeat`` independent GEMMs of the same
shape (the groups of a grouped convolution, the heads of an attention layer, the blocks of
a repeated decoder). In attention's ``Q·Kᵀ`` and ``P·V`` both operands are activations:
``w_is_weight`` is then False and there are no stored weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from sod.errors import WorkloadError
from sod.limits import MAX_GEMM_DIM, MAX_GEMM_MACS
from sod.workload.mask import BitMask, as_operand_mask, stack_mask


class LayerKind(StrEnum):
    """What a GEMM was lowered from."""

    CONV = "conv"
    LINEAR = "linear"
    ATTENTION = "attention"  # activation × activation (Q·Kᵀ or P·V)


class Activation(StrEnum):
    """The non-linearity that *produced* a GEMM's input activations (sets their sparsity)."""

    NONE = "none"  # network input, or a linear output consumed directly
    RELU = "relu"
    GELU = "gelu"
    SWIGLU = "swiglu"
    SOFTMAX = "softmax"
    OTHER = "other"


@dataclass(frozen=True)
class ConvShape:
    """The convolution a GEMM came from (kept for topology export and im2col)."""

    in_h: int
    in_w: int
    in_channels: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1

    @property
    def out_h(self) -> int:
        return conv_out_size(self.in_h, self.kernel_h, self.stride_h, self.pad_h, self.dilation_h)

    @property
    def out_w(self) -> int:
        return conv_out_size(self.in_w, self.kernel_w, self.stride_w, self.pad_w, self.dilation_w)


def conv_out_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output extent of a convolution along one axis (floor division, as PyTorch/Caffe)."""
    effective = dilation * (kernel - 1) + 1
    span = size + 2 * pad - effective
    if span < 0:
        raise WorkloadError(
            f"kernel {kernel} (dilation {dilation}) does not fit input {size} with padding {pad}"
        )
    return span // stride + 1


@dataclass(frozen=True, eq=False)
class Gemm:
    """One GEMM ``O[m,n] = A[m,k] · W[k,n]``, executed ``repeat`` times.

    Optional operand data (filled by ``sod.sparsity`` or the importers, never required by
    the dense model): ``weights`` is a real k × n array (one copy shared by all repeats
    unless its leading axis is ``repeat``), ``weight_mask``/``act_mask`` are the non-zero
    masks of W and A, always :class:`~sod.workload.mask.BitMask` (a boolean array given
    to the constructor is packed; its shape is checked), and
    ``weight_density``/``act_density`` summarize them when only densities are known.

    A mask is shared by all repeats (``k × n`` / ``m × k``) or stacked, one per repeat
    (``(repeat·k) × n`` / ``(repeat·m) × k``); :attr:`operand_groups` and
    :meth:`stacked_weight_mask` / :meth:`stacked_act_mask` apply that rule
    (:mod:`sod.workload.mask`).
    """

    name: str
    m: int
    k: int
    n: int
    repeat: int = 1
    kind: LayerKind = LayerKind.LINEAR
    w_is_weight: bool = True
    input_activation: Activation = Activation.NONE
    conv: ConvShape | None = None
    weight_density: float = 1.0
    act_density: float = 1.0
    weights: np.ndarray | None = field(default=None, repr=False)
    weight_mask: BitMask | None = field(default=None, repr=False)
    act_mask: BitMask | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for dim in ("m", "k", "n", "repeat"):
            value = getattr(self, dim)
            if not isinstance(value, int | np.integer) or value <= 0:
                raise WorkloadError(
                    f"layer {self.name!r}: {dim} must be a positive integer, got {value!r}"
                )
            if value > MAX_GEMM_DIM:
                raise WorkloadError(
                    f"layer {self.name!r}: {dim} = {value:,} is larger than {MAX_GEMM_DIM:,}"
                )
        if int(self.m) * int(self.k) * int(self.n) * int(self.repeat) > MAX_GEMM_MACS:
            raise WorkloadError(
                f"layer {self.name!r}: {self.m}x{self.k}x{self.n} (x{self.repeat}) is more "
                f"than {MAX_GEMM_MACS:.2e} MACs; a smaller batch or sequence length?"
            )
        for dens in ("weight_density", "act_density"):
            value = getattr(self, dens)
            if not 0.0 <= value <= 1.0:
                raise WorkloadError(f"layer {self.name!r}: {dens} must be in [0, 1], got {value!r}")
        for attr, rows, cols in (("weight_mask", self.k, self.n), ("act_mask", self.m, self.k)):
            mask = getattr(self, attr)
            if mask is not None:
                what = f"layer {self.name!r}: {attr}"
                object.__setattr__(self, attr, as_operand_mask(mask, rows, cols, self.repeat, what))

    @property
    def operand_groups(self) -> int:
        """Repeats with operands of their own: ``repeat`` when each repeat has its own
        weights (the groups of a grouped convolution, or a mask stacked one per repeat),
        else 1 (one pattern shared by every repeat: stacked blocks, attention heads)."""
        if self.repeat == 1:
            return 1
        if self.conv is not None and self.conv.groups == self.repeat:
            return self.repeat
        w, a = self.weight_mask, self.act_mask
        if (w is not None and w.shape[0] != self.k) or (a is not None and a.shape[0] != self.m):
            return self.repeat
        return 1

    def stacked_weight_mask(self, groups: int | None = None) -> np.ndarray | None:
        """W's mask as a ``(groups, k, n)`` bool array (None when there is no mask);
        ``groups`` defaults to :attr:`operand_groups` (a shared mask is broadcast)."""
        if self.weight_mask is None:
            return None
        g = self.operand_groups if groups is None else groups
        return stack_mask(self.weight_mask, g, self.k, self.n, f"layer {self.name!r}: weight_mask")

    def stacked_act_mask(self, groups: int | None = None) -> np.ndarray | None:
        """A's mask as a ``(groups, m, k)`` bool array (None when there is no mask)."""
        if self.act_mask is None:
            return None
        g = self.operand_groups if groups is None else groups
        return stack_mask(self.act_mask, g, self.m, self.k, f"layer {self.name!r}: act_mask")

    @property
    def macs(self) -> int:
        """Dense multiply-accumulates of all repeats."""
        return self.m * self.k * self.n * self.repeat

    @property
    def weight_count(self) -> int:
        """Stored weights (0 for activation × activation GEMMs)."""
        return self.k * self.n * self.repeat if self.w_is_weight else 0

    @property
    def act_storage_ratio(self) -> float:
        """Activation elements kept in DRAM and the GLB over the im2col'd ``A`` the array
        reads: a convolution stores its input feature map (each pixel once, not once per
        kernel position it feeds; expanding it into ``A`` is the array feeder's job), so
        ``batch·in_h·in_w·(in_channels/groups) / (m·k)`` per group, at most 1. Other
        GEMMs store ``A`` as it is (1)."""
        c = self.conv
        if c is None or self.m * self.k == 0:
            return 1.0
        pixels = c.out_h * c.out_w
        batch = self.m / pixels if pixels else 1.0
        fmap = batch * c.in_h * c.in_w * (c.in_channels / c.groups)
        return min(1.0, fmap / (self.m * self.k))

    def with_(self, **changes: Any) -> Gemm:
        """A copy with some fields changed (Gemm is immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Workload:
    """An ordered list of GEMMs: one network (or one topology file) at one batch size."""

    name: str
    gemms: tuple[Gemm, ...]
    batch: int = 1
    seq_len: int | None = None

    def __post_init__(self) -> None:
        if not self.gemms:
            raise WorkloadError(f"workload {self.name!r} has no layers")

    def __iter__(self) -> Iterator[Gemm]:
        return iter(self.gemms)

    def __len__(self) -> int:
        return len(self.gemms)

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)

    @property
    def weight_count(self) -> int:
        return sum(g.weight_count for g in self.gemms)

    def shapes(self) -> dict[str, np.ndarray]:
        """Per-GEMM ``m, k, n, repeat`` as int64 arrays, for vectorized models."""
        return {
            "m": np.array([g.m for g in self.gemms], dtype=np.int64),
            "k": np.array([g.k for g in self.gemms], dtype=np.int64),
            "n": np.array([g.n for g in self.gemms], dtype=np.int64),
            "repeat": np.array([g.repeat for g in self.gemms], dtype=np.int64),
        }

    def with_gemms(self, gemms: Sequence[Gemm]) -> Workload:
        return replace(self, gemms=tuple(gemms))


# --- lowering ---------------------------------------------------------------------------


def conv2d(
    name: str,
    in_h: int,
    in_w: int,
    in_channels: int,
    out_channels: int,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    batch: int = 1,
    input_activation: Activation = Activation.RELU,
) -> Gemm:
    """Lower a 2-D convolution to a GEMM by im2col.

    m = batch × out_h × out_w, k = (in_channels / groups) × kernel_h × kernel_w,
    n = out_channels / groups, repeat = groups. A depthwise convolution is
    ``groups == in_channels``: k = kernel area, n = channel multiplier.
    """
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    for what, value in (
        ("in_channels", in_channels),
        ("out_channels", out_channels),
        ("groups", groups),
        ("batch", batch),
        ("in_h", in_h),
        ("in_w", in_w),
        ("kernel", min(kh, kw)),
        ("stride", min(sh, sw)),
        ("dilation", min(dh, dw)),
    ):
        if value <= 0:
            raise WorkloadError(f"layer {name!r}: {what} must be positive, got {value}")
    if min(ph, pw) < 0:
        raise WorkloadError(f"layer {name!r}: padding must be non-negative")
    if in_channels % groups or out_channels % groups:
        raise WorkloadError(
            f"layer {name!r}: groups={groups} must divide in_channels={in_channels} "
            f"and out_channels={out_channels}"
        )
    shape = ConvShape(in_h, in_w, in_channels, out_channels, kh, kw, sh, sw, ph, pw, dh, dw, groups)
    try:
        out_h, out_w = shape.out_h, shape.out_w
    except WorkloadError as err:
        raise WorkloadError(f"layer {name!r}: {err}") from None
    return Gemm(
        name=name,
        m=batch * out_h * out_w,
        k=(in_channels // groups) * kh * kw,
        n=out_channels // groups,
        repeat=groups,
        kind=LayerKind.CONV,
        input_activation=input_activation,
        conv=shape,
    )


def linear(
    name: str,
    in_features: int,
    out_features: int,
    tokens: int = 1,
    input_activation: Activation = Activation.NONE,
    repeat: int = 1,
) -> Gemm:
    """A fully connected layer applied to ``tokens`` rows (batch × sequence)."""
    return Gemm(
        name=name,
        m=tokens,
        k=in_features,
        n=out_features,
        repeat=repeat,
        kind=LayerKind.LINEAR,
        input_activation=input_activation,
    )


def attention_matmuls(
    name: str,
    seq_len: int,
    kv_len: int,
    head_dim: int,
    heads: int,
    batch: int = 1,
    repeat: int = 1,
) -> tuple[Gemm, Gemm]:
    """Attention's two activation × activation matmuls per head.

    ``Q·Kᵀ``: m = seq_len, k = head_dim, n = kv_len; ``P·V``: m = seq_len, k = kv_len,
    n = head_dim; each repeated batch × heads (× ``repeat`` for stacked blocks) times.
    Neither operand is a weight, so neither can be pruned offline.
    """
    reps = batch * heads * repeat
    qk = Gemm(
        f"{name}.qk",
        m=seq_len,
        k=head_dim,
        n=kv_len,
        repeat=reps,
        kind=LayerKind.ATTENTION,
        w_is_weight=False,
        input_activation=Activation.NONE,
    )
    pv = Gemm(
        f"{name}.pv",
        m=seq_len,
        k=kv_len,
        n=head_dim,
        repeat=reps,
        kind=LayerKind.ATTENTION,
        w_is_weight=False,
        input_activation=Activation.SOFTMAX,
    )
    return qk, pv


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, tuple):
        return int(value[0]), int(value[1])
    return int(value), int(value)
