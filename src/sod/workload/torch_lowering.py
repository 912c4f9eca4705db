"""What ATen ops and torch functions mean to sod (labels, activation tags, ops that do
MACs), and the lowering of PyTorch convolutions, for the dispatch capture of
:mod:`sod.workload.torch_import`; and loading a ``module:callable`` model target.

**Convolution k ordering** (im2col): ``k`` runs over (input channel of the group, kernel
depth, kernel row, kernel column) — exactly ``torch_weight[g·n:(g+1)·n].reshape(n, -1).T``
is group g's ``W``. conv1d is a 2-D convolution of height 1 (``ConvShape`` with
``in_h = kernel_h = 1``); conv3d has no ``ConvShape`` (``conv`` None, ``kind=CONV``):
m = batch·Dout·Hout·Wout, k = (Cin/groups)·kd·kh·kw. A transposed convolution is lowered
as col2im (the MACs it really does, as ``FlopCounterMode`` counts them): m =
batch·(input pixels), k = Cin/groups, n = (Cout/groups)·(kernel volume), repeat = groups,
``W_g = torch_weight[g·k:(g+1)·k].reshape(k, -1)`` (n ordered (output channel, kernel
…)); the scatter-add of col2im is additions only; ``conv`` is None.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sod.errors import WorkloadError

try:
    import torch
    import torch.nn.functional as F
except ImportError as err:  # the optional extra: one clear error, not a traceback
    raise WorkloadError(
        "importing PyTorch models needs torch: pip install 'sparse-on-dense[torch]'"
    ) from err

from sod.workload.gemm import Activation, Gemm, LayerKind, conv2d
from sod.workload.mask import BitMask, im2col_mask

aten = torch.ops.aten

# --- what the function-level mode labels ------------------------------------------------

_FUNC_LABELS: dict[Any, str] = {
    F.linear: "linear",
    F.bilinear: "bilinear",
    F.conv1d: "conv",
    F.conv2d: "conv",
    F.conv3d: "conv",
    F.conv_transpose1d: "conv",
    F.conv_transpose2d: "conv",
    F.conv_transpose3d: "conv",
    torch.conv1d: "conv",
    torch.conv2d: "conv",
    torch.conv3d: "conv",
    torch.matmul: "matmul",
    torch.Tensor.matmul: "matmul",
    torch.Tensor.__matmul__: "matmul",
    torch.Tensor.__rmatmul__: "matmul",
    torch.bmm: "matmul",
    torch.Tensor.bmm: "matmul",
    torch.mm: "matmul",
    torch.Tensor.mm: "matmul",
    torch.mv: "matmul",
    torch.Tensor.mv: "matmul",
    torch.einsum: "einsum",
    torch.tensordot: "tensordot",
    F.scaled_dot_product_attention: "sdpa",
}

# --- activation tags --------------------------------------------------------------------

_ACT_OPS: dict[Any, Activation] = {
    aten.relu.default: Activation.RELU,
    aten.relu_.default: Activation.RELU,
    aten.gelu.default: Activation.GELU,
    aten.gelu_.default: Activation.GELU,
    aten.silu.default: Activation.SWIGLU,
    aten.silu_.default: Activation.SWIGLU,
    aten._softmax.default: Activation.SOFTMAX,
    aten.softmax.int: Activation.SOFTMAX,
}
_HARDTANH = {aten.hardtanh.default, aten.hardtanh_.default}
# Non-view ops whose (first) output keeps the sparsity class of their first input.
_PASS_OPS = {
    aten.clone.default,
    aten._unsafe_view.default,
    aten._to_copy.default,
    aten.max_pool1d.default,
    aten.max_pool2d.default,
    aten.max_pool3d.default,
    aten.max_pool2d_with_indices.default,
    aten.max_pool3d_with_indices.default,
    aten.adaptive_max_pool2d.default,
    aten.adaptive_max_pool3d.default,
}

# --- ops that do MACs but are not lowered: warn ------------------------------------------

_MAC_OP_NAME = re.compile(
    r"(conv|mm$|_mm|matmul|rnn|lstm|gru|attention|transformer|linear|trilinear|cdist|addr$)"
)
_NOT_MAC_OPS = re.compile(
    r"(backward|upsample|convert|_thnn_fused|_transform_bias_rescale|grid_sampler)"
)


_MODULE_ACTS = (
    (re.compile(r"gelu", re.I), Activation.GELU),
    (re.compile(r"(?<![a-z])relu", re.I), Activation.RELU),  # not PReLU / LeakyReLU
    (re.compile(r"silu|swish", re.I), Activation.SWIGLU),
)


def _module_activation(mod: torch.nn.Module) -> Activation | None:
    """The activation an activation module (by class name, ``NewGELUActivation``) makes."""
    if any(True for _ in mod.children()):
        return None
    cls = type(mod).__name__
    return next((act for pat, act in _MODULE_ACTS if pat.search(cls)), None)


def _is_view(schema: Any) -> bool:
    return bool(schema.returns) and any(
        r.alias_info is not None and not r.alias_info.is_write for r in schema.returns
    )


def _np(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    return t.numpy()


def _nz(t: torch.Tensor) -> np.ndarray:
    return (t.detach() != 0).cpu().numpy()


def _tuple(v: Any, dims: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * dims
    v = tuple(int(x) for x in v)
    return v * dims if len(v) == 1 else v


def _mac_formula(name: str, args: tuple, out: Any) -> int | None:
    """MACs of the unlowered ops whose cost is known (None otherwise)."""
    if name == "mkldnn_rnn_layer":
        x, w_ih, w_hh = args[0], args[1], args[2]
        return int(x.numel() // x.shape[-1] * (w_ih.numel() + w_hh.numel()))
    if name == "conv_tbc":
        w = args[1]  # (kernel, Cin, Cout)
        return int(out.shape[0] * out.shape[1] * w.numel())
    if name == "_cdist_forward":
        x1, x2 = args[0], args[1]
        return int(x1.numel() * x2.shape[-2])
    if name == "_native_multi_head_attention":
        q, k = args[0], args[1]
        b, lq, e = q.shape
        lk = k.shape[1]
        return int(b * (2 * lq * e * e + 2 * lk * e * e + 2 * lq * lk * e))
    return None


def _conv2d(
    name: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    act: Activation,
) -> Gemm:
    """conv2d, or conv1d as a conv2d of height 1 (ConvShape in_h = kernel_h = 1)."""
    if weight.dim() == 3:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, padding, dilation = (1, *stride), (0, *padding), (1, *dilation)
    b, c, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    gemm = conv2d(
        name,
        h,
        w,
        c,
        out_ch,
        (kh, kw),
        stride=(stride[0], stride[1]),
        padding=(padding[0], padding[1]),
        dilation=(dilation[0], dilation[1]),
        groups=groups,
        batch=b,
        input_activation=act,
    )
    weights, wmask = _group_weights(weight, groups)
    amask = im2col_mask(_nz(x), gemm.conv)  # type: ignore[arg-type]
    return gemm.with_(
        weights=weights,
        weight_mask=wmask,
        weight_density=wmask.density,
        act_mask=amask,
        act_density=amask.density,
    )


def _group_weights(weight: torch.Tensor, groups: int) -> tuple[np.ndarray, BitMask]:
    """torch (O, C/g, *kernel) -> per group (k, n), k in (c, *kernel) order."""
    n = weight.shape[0] // groups
    wt = _np(weight).reshape(groups, n, -1).transpose(0, 2, 1)
    weights = np.ascontiguousarray(wt[0] if groups == 1 else wt)
    return weights, BitMask.from_bool(wt.reshape(-1, n) != 0)


def _conv_nd(
    name: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    act: Activation,
) -> Gemm:
    """conv3d (any N-d convolution without a ConvShape): im2col, k = (c, kd, kh, kw)."""
    b, c = int(x.shape[0]), int(x.shape[1])
    kernel = tuple(int(d) for d in weight.shape[2:])
    fmap = _nz(x)
    fmap = np.pad(fmap, [(0, 0), (0, 0), *((p, p) for p in padding)])
    eff = tuple(d * (kk - 1) + 1 for kk, d in zip(kernel, dilation, strict=True))
    if any(e > s for e, s in zip(eff, fmap.shape[2:], strict=True)):
        raise WorkloadError(f"layer {name!r}: kernel {kernel} does not fit input {x.shape[2:]}")
    dims = len(kernel)
    win = sliding_window_view(fmap, eff, axis=tuple(range(2, 2 + dims)))
    steps = [slice(None, None, s) for s in stride] + [slice(None, None, d) for d in dilation]
    sl = (slice(None), slice(None), *steps)
    win = win[sl]  # (B, C, *out, *kernel)
    out = win.shape[2 : 2 + dims]
    perm = (0, *range(2, 2 + dims), 1, *range(2 + dims, 2 + 2 * dims))
    cols = win.transpose(perm).reshape(b * prod(out), c * prod(kernel))
    m, k = cols.shape[0], cols.shape[1] // groups
    amask = BitMask.from_bool(cols.reshape(m, groups, k).transpose(1, 0, 2).reshape(-1, k))
    weights, wmask = _group_weights(weight, groups)
    return Gemm(
        name=name,
        m=int(m),
        k=int(k),
        n=int(weight.shape[0]) // groups,
        repeat=groups,
        kind=LayerKind.CONV,
        input_activation=act,
        weights=weights,
        weight_mask=wmask,
        weight_density=wmask.density,
        act_mask=amask,
        act_density=amask.density,
    )


def _conv_transposed(
    name: str, x: torch.Tensor, weight: torch.Tensor, groups: int, act: Activation
) -> Gemm:
    """col2im lowering: A = input pixels × Cin/g, W_g = weight[g] as (Cin/g, Cout/g·kernel)."""
    b, c = int(x.shape[0]), int(x.shape[1])
    k = c // groups
    n = int(weight[0].numel())
    pixels = prod(int(d) for d in x.shape[2:])
    m = b * pixels
    a = _nz(x).reshape(b, c, pixels).transpose(0, 2, 1).reshape(m, groups, k)
    amask = BitMask.from_bool(a.transpose(1, 0, 2).reshape(-1, k))
    wt = _np(weight).reshape(groups, k, n)
    wmask = BitMask.from_bool(wt.reshape(-1, n) != 0)
    return Gemm(
        name=name,
        m=m,
        k=k,
        n=n,
        repeat=groups,
        kind=LayerKind.CONV,
        input_activation=act,
        weights=np.ascontiguousarray(wt[0] if groups == 1 else wt),
        weight_mask=wmask,
        weight_density=wmask.density,
        act_mask=amask,
        act_density=amask.density,
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def load_torch_target(spec: str) -> tuple[Any, Any]:
    """Resolve ``module:callable`` or ``path/to/file.py:callable`` and call it.

    The callable takes no arguments and returns ``(model, example_inputs)``.
    """
    if ":" not in spec:
        raise WorkloadError(f"--torch needs MODULE:CALLABLE or FILE.py:CALLABLE, got {spec!r}")
    target, attr = spec.rsplit(":", 1)
    try:
        if target.endswith(".py") or Path(target).is_file():
            path = Path(target)
            if not path.is_file():
                raise WorkloadError(f"torch model file {target!r} does not exist")
            mod_name = f"_sod_torch_{abs(hash(path.resolve()))}"
            loader = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
            sys.modules[mod_name] = module
            loader.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(target)
        fn = getattr(module, attr)
    except WorkloadError:
        raise
    except Exception as err:
        raise WorkloadError(f"cannot load torch model {spec!r}: {_first_line(err)}") from None
    try:
        result = fn()
    except Exception as err:
        raise WorkloadError(f"torch callable {spec!r} failed: {_first_line(err)}") from None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise WorkloadError(f"torch callable {spec!r} must return (model, example_inputs)")
    return result
