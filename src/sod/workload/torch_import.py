"""Import a real PyTorch model: every Conv2d / Linear / matmul becomes a GEMM.

:func:`from_torch` runs the model once on example inputs under a
:class:`torch.overrides.TorchFunctionMode` that sees every ``conv2d``, ``linear``,
``matmul``/``@``, ``bmm`` and ``mm`` call (module or functional), with forward hooks
naming each call after the module that made it. For every call it records:

* the shape, lowered with sod's convention (:mod:`sod.workload.gemm`);
* the real weights as used by the forward pass — so ``torch.nn.utils.prune``
  re-parametrisations (``weight = weight_orig * weight_mask``) and exact zeros are both
  honoured — as ``Gemm.weights`` (k × n, or (groups, k, n) for grouped convolutions) with
  ``weight_mask``/``weight_density`` from their non-zeros;
* the measured input-activation mask (im2col'd for convolutions, padding zeros included)
  as ``act_mask``/``act_density``;
* which non-linearity produced the input (ReLU/GELU/SiLU/softmax calls are tagged and
  the tag follows pooling, dropout and reshapes), as ``input_activation``.

For activation × activation matmuls (attention) ``w_is_weight`` is False, ``weights`` is
None and ``weight_mask`` is the measured mask of the second operand. A grouped
convolution carries stacked masks (rows ``g·k … (g+1)·k − 1`` of the weight mask,
``g·m …`` of the activation mask belong to group g); a batched matmul (``repeat`` = the
batch dims) carries the masks of its FIRST batch element as the representative shared by
all repeats, the contract of :mod:`sod.sparsity.apply`. Not captured: conv1d/conv3d,
transposed convolutions, einsum, fused attention kernels
(``scaled_dot_product_attention``); a module calling those is imported without them.

Importing this module imports torch (a :class:`WorkloadError` with the install hint when it
is missing); ``sod.workload.from_torch`` imports it lazily.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sod.errors import WorkloadError

try:
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode
except ImportError as err:  # the optional extra: one clear error, not a traceback
    raise WorkloadError(
        "importing PyTorch models needs torch: pip install 'sparse-on-dense[torch]'"
    ) from err

from sod.workload.gemm import Activation, Gemm, LayerKind, Workload, conv2d
from sod.workload.mask import BitMask, im2col_mask

_ACT_FUNCS: dict[Any, Activation] = {
    F.relu: Activation.RELU,
    torch.relu: Activation.RELU,
    torch.relu_: Activation.RELU,
    torch.Tensor.relu: Activation.RELU,
    torch.Tensor.relu_: Activation.RELU,
    F.relu6: Activation.RELU,
    F.hardtanh: Activation.RELU,
    F.gelu: Activation.GELU,
    F.silu: Activation.SWIGLU,
    F.softmax: Activation.SOFTMAX,
    torch.softmax: Activation.SOFTMAX,
    torch.Tensor.softmax: Activation.SOFTMAX,
}
# Ops whose output keeps the sparsity class of their input.
_PASS_FUNCS = {
    F.max_pool2d,
    F.dropout,
    torch.flatten,
    torch.Tensor.flatten,
    torch.Tensor.view,
    torch.Tensor.reshape,
    torch.reshape,
    torch.Tensor.contiguous,
    torch.Tensor.permute,
    torch.Tensor.transpose,
    torch.transpose,
    F.adaptive_max_pool2d,
}
_CONV = {F.conv2d, torch.conv2d}
_LINEAR = {F.linear}
_MATMUL = {
    torch.matmul,
    torch.Tensor.matmul,
    torch.Tensor.__matmul__,
    torch.bmm,
    torch.Tensor.bmm,
    torch.mm,
    torch.Tensor.mm,
}


def _np(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    return t.numpy()


def _nz(t: torch.Tensor) -> np.ndarray:
    return (t.detach() != 0).cpu().numpy()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Capture(TorchFunctionMode):
    """Records every GEMM-like call; names come from the module stack."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.records: list[Gemm] = []
        self.tags: dict[tuple[int, tuple[int, ...]], tuple[Activation, torch.Tensor]] = {}
        self.names: dict[str, int] = {}
        self.batch = 1

    # --- naming and activation tags -------------------------------------------------
    def pop(self) -> None:
        # A forward hook that returned a value would replace the module's output.
        self.stack.pop()

    def _name(self, op: str) -> str:
        base = self.stack[-1] if self.stack else "model"
        base = f"{base}.{op}" if op else base
        count = self.names.get(base, 0) + 1
        self.names[base] = count
        return base if count == 1 else f"{base}#{count}"

    def _tag(self, out: Any, act: Activation) -> None:
        if isinstance(out, torch.Tensor):
            self.tags[(out.data_ptr(), tuple(out.shape))] = (act, out)

    def _tag_of(self, t: torch.Tensor) -> Activation:
        hit = self.tags.get((t.data_ptr(), tuple(t.shape)))
        if hit is None:
            # Reshapes keep the pointer but not the shape: match on the pointer alone.
            hit = next((v for (p, _), v in self.tags.items() if p == t.data_ptr()), None)
        return hit[0] if hit is not None else Activation.OTHER

    # --- the interception ---------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CONV:
            self._conv(*args, **kwargs)
        elif func in _LINEAR:
            self._linear(*args, **kwargs)
        elif func in _MATMUL:
            self._matmul(args[0], args[1])
        out = func(*args, **kwargs)
        if func in _ACT_FUNCS:
            self._tag(out, _ACT_FUNCS[func])
        elif func in _PASS_FUNCS and args and isinstance(args[0], torch.Tensor):
            act = self._tag_of(args[0])
            if act != Activation.OTHER:
                self._tag(out, act)
        return out

    def _conv(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Any = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> None:
        name = self._name("")
        if x.dim() == 3:
            x = x.unsqueeze(0)
        b, c, h, w = x.shape
        out_ch, _, kh, kw = weight.shape
        pad = _conv_padding(padding, (kh, kw), _pair(dilation), name)
        gemm = conv2d(
            name,
            h,
            w,
            c,
            out_ch,
            (kh, kw),
            stride=_pair(stride),
            padding=pad,
            dilation=_pair(dilation),
            groups=groups,
            batch=b,
            input_activation=self._tag_of(x),
        )
        g, n = groups, out_ch // groups
        # torch (O, C/g, kh, kw) -> per group (k, n) with k in (c, kh, kw) order.
        wt = _np(weight).reshape(g, n, -1).transpose(0, 2, 1)
        weights = wt[0] if g == 1 else np.ascontiguousarray(wt)
        wmask = BitMask.from_bool(wt.reshape(g * gemm.k, n) != 0)
        assert gemm.conv is not None  # conv2d() always sets it
        amask = im2col_mask(_nz(x), gemm.conv)
        self.records.append(
            gemm.with_(
                weights=np.ascontiguousarray(weights),
                weight_mask=wmask,
                weight_density=wmask.density,
                act_mask=amask,
                act_density=amask.density,
            )
        )

    def _linear(self, x: torch.Tensor, weight: torch.Tensor, bias: Any = None) -> None:
        name = self._name("")
        k = weight.shape[-1]
        n = weight.shape[0] if weight.dim() == 2 else 1
        a = _nz(x).reshape(-1, k)
        wt = np.ascontiguousarray(_np(weight).reshape(n, k).T)
        wmask = BitMask.from_array(wt)
        amask = BitMask.from_bool(a)
        self.records.append(
            Gemm(
                name=name,
                m=a.shape[0],
                k=k,
                n=n,
                kind=LayerKind.LINEAR,
                input_activation=self._tag_of(x),
                weights=wt,
                weight_mask=wmask,
                weight_density=wmask.density,
                act_mask=amask,
                act_density=amask.density,
            )
        )

    def _matmul(self, a: torch.Tensor, b: torch.Tensor) -> None:
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return
        name = self._name("matmul")
        a2 = a.unsqueeze(0) if a.dim() == 1 else a
        b2 = b.unsqueeze(-1) if b.dim() == 1 else b
        if b2.dim() == 2:
            # x(..., k) @ B(k, n): batch dims are just more rows of one GEMM.
            a2 = a2.reshape(-1, a2.shape[-1])
        batch = torch.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        m, k = a2.shape[-2:]
        n = b2.shape[-1]
        reps = int(np.prod(batch)) if len(batch) else 1
        # Masks of the first batch element only: sod's contract is one representative
        # mask for a non-grouped GEMM with repeat > 1 (see sod.sparsity.apply).
        am = _nz(a2.expand(*batch, m, k).reshape(reps, m, k)[0])
        bm = _nz(b2.expand(*batch, k, n).reshape(reps, k, n)[0])
        is_weight = isinstance(b, torch.nn.Parameter) and b.dim() == 2 and reps == 1
        weights = np.ascontiguousarray(_np(b2)) if is_weight else None
        self.records.append(
            Gemm(
                name=name,
                m=int(m),
                k=int(k),
                n=int(n),
                repeat=reps,
                kind=LayerKind.LINEAR if is_weight else LayerKind.ATTENTION,
                w_is_weight=is_weight,
                input_activation=self._tag_of(a),
                weights=weights,
                weight_mask=BitMask.from_bool(bm),
                weight_density=float(bm.mean()),
                act_mask=BitMask.from_bool(am),
                act_density=float(am.mean()),
            )
        )


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    v = tuple(int(x) for x in v)
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def _conv_padding(
    padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], name: str
) -> tuple[int, int]:
    if padding == "valid":
        return 0, 0
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if any(t % 2 for t in totals):
            raise WorkloadError(f"layer {name!r}: asymmetric 'same' padding is not supported")
        return totals[0] // 2, totals[1] // 2
    return _pair(padding)


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


def from_torch(
    module_or_callable: torch.nn.Module | Callable[..., Any] | str,
    example_inputs: torch.Tensor | Sequence[Any] | None = None,
    name: str | None = None,
) -> Workload:
    """Run the model once and return its GEMMs with real weights and activation masks.

    ``module_or_callable`` is an ``nn.Module``, any callable of the inputs, or a
    ``"module:callable"`` string (see :func:`load_torch_target`; then ``example_inputs``
    may be None). ``example_inputs`` is a tensor or a tuple of positional inputs.
    """
    if isinstance(module_or_callable, str):
        model, inputs = load_torch_target(module_or_callable)
        if example_inputs is None:
            example_inputs = inputs
        name = name or module_or_callable.rsplit(":", 1)[-1]
    else:
        model = module_or_callable
    if example_inputs is None:
        raise WorkloadError("from_torch needs example inputs")
    if not callable(model):
        raise WorkloadError(f"torch model must be callable, got {type(model).__name__}")
    inputs = (
        (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    )
    name = name or type(model).__name__.lower()
    cap = _Capture()
    for t in inputs:
        cap._tag(t, Activation.NONE)  # network inputs are dense, not ReLU outputs
    handles = []
    if isinstance(model, torch.nn.Module):
        for mod_name, mod in model.named_modules():
            label = mod_name or "model"
            handles.append(
                mod.register_forward_pre_hook(lambda _m, _i, label=label: cap.stack.append(label))
            )
            handles.append(mod.register_forward_hook(lambda _m, _i, _o: cap.pop()))
    try:
        with torch.no_grad(), cap:
            model(*inputs)
    except WorkloadError:
        raise
    except Exception as err:
        raise WorkloadError(
            f"torch model {name!r} failed on the example inputs: {_first_line(err)}"
        ) from None
    finally:
        for h in handles:
            h.remove()
    if not cap.records:
        raise WorkloadError(f"torch model {name!r} has no Conv2d, Linear or matmul to import")
    first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
    batch = int(first.shape[0]) if first is not None and first.dim() > 1 else 1
    return Workload(name=name, gemms=tuple(cap.records), batch=batch)
