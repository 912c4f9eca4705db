"""Import a real PyTorch model: every GEMM it executes becomes a :class:`Gemm`.

:func:`from_torch` runs the model once on example inputs under a
:class:`~torch.utils._python_dispatch.TorchDispatchMode`, so it sees the ATen ops that
actually run — after ``matmul``, ``linear``, ``einsum``, ``conv*d`` and friends have been
decomposed — and nothing that does multiply-accumulates can hide behind a Python-level
call it does not know. Lowered (sod's convention, :mod:`sod.workload.gemm`):

* ``aten.mm`` / ``addmm`` / ``bmm`` / ``baddbmm`` / ``addbmm`` / ``mv`` / ``addmv`` /
  ``dot`` / ``vdot`` / ``_int_mm`` — so ``nn.Linear``, ``F.linear``, ``@``, ``matmul``,
  ``einsum`` and ``tensordot`` (which decompose to them); bmm batch dims -> ``repeat``;
* ``aten.convolution``: conv1d/2d/3d, grouped and depthwise (im2col, groups ->
  ``repeat``), and transposed convolutions (col2im, below);
* ``aten._scaled_dot_product_*attention*`` (fused SDPA kernels, e.g. transformers'
  default attention): ``Q·Kᵀ`` and ``P·V``, ``w_is_weight=False``, repeat = batch × heads.

A :class:`torch.overrides.TorchFunctionMode` on top only *names* the calls, and forward
hooks name each GEMM after the module that made it: ``nn.Linear``/``F.linear`` and
convolutions get the module's name (``encoder.layer.0.attention.self.query``); matmuls
``<module>.matmul``, einsums ``<module>.einsum``, SDPA ``<module>.qk`` and
``<module>.pv``, other ops ``<module>.<aten op>``, except that a GEMM with a weight
operand outside any of these calls (``torch.addmm`` in GPT-2's ``Conv1D``, ``F.linear``
inside ``F.multi_head_attention_forward``) is named after its module; a repeated name
gets ``#2``, ``#3`` …

For every GEMM it records the real operands as the forward pass used them — so
``torch.nn.utils.prune`` re-parametrisations (``weight = weight_orig * weight_mask``) and
exact zeros are both honoured — ``Gemm.weights`` (k × n, or (groups, k, n)) with
``weight_mask``/``weight_density``, the measured input-activation mask (im2col'd for
convolutions, padding zeros included) as ``act_mask``/``act_density``, and the
non-linearity that produced the input (ReLU/GELU/SiLU/softmax; the tag follows views,
reshapes, copies, max-pooling) as ``input_activation``.

The second operand of ``linear``/``conv`` is always a weight. Of a matmul, it is a weight
when it is derived from the model's parameters/buffers only (not from the inputs) and the
GEMM is not batched; otherwise the GEMM is activation × activation (``w_is_weight`` False,
``weights`` None, ``weight_mask`` = the measured mask of the second operand,
``kind=ATTENTION``). A grouped convolution carries stacked masks (group g = rows
``g·k …`` of the weight mask, ``g·m …`` of the activation mask); a batched matmul and SDPA
carry the masks of their FIRST batch element (and head) as the representative shared by
all repeats, the contract of :mod:`sod.sparsity.apply`. SDPA's ``P`` mask is recomputed
for that head (softmax of the scaled, masked scores — exact zeros where masked).

Convolution lowering (im2col k ordering, conv1d/3d, transposed convolutions as col2im):
:mod:`sod.workload.torch_lowering`.

**Never silently dropped**: an op that does MACs but that sod cannot lower (an RNN
kernel, ``conv_tbc``, ``_native_multi_head_attention``, ``cdist``, quantized kernels …,
and any op FLOP-counted by :mod:`torch.utils.flop_counter` that is not lowered above)
raises an :class:`UnloweredOpWarning` naming the op, the module and its MACs when known,
and is appended to the ``unlowered`` list passed to :func:`from_torch` (for a CLI to
print). Elementwise ops, normalization, pooling and embedding look-ups are not GEMMs.

Importing this module imports torch (a :class:`WorkloadError` with the install hint when it
is missing); ``sod.workload.from_torch`` imports it lazily.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from sod.errors import WorkloadError

try:
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves
    from torch.utils.weak import WeakIdKeyDictionary
except ImportError as err:  # the optional extra: one clear error, not a traceback
    raise WorkloadError(
        "importing PyTorch models needs torch: pip install 'sparse-on-dense[torch]'"
    ) from err

from sod.workload.gemm import Activation, Gemm, LayerKind, Workload
from sod.workload.mask import BitMask
from sod.workload.torch_lowering import (
    _ACT_OPS,
    _FUNC_LABELS,
    _HARDTANH,
    _MAC_OP_NAME,
    _NOT_MAC_OPS,
    _PASS_OPS,
    _conv2d,
    _conv_nd,
    _conv_transposed,
    _first_line,
    _is_view,
    _mac_formula,
    _module_activation,
    _np,
    _nz,
    _tuple,
    load_torch_target,
)

aten = torch.ops.aten


class UnloweredOpWarning(UserWarning):
    """An op that does multiply-accumulates was executed but is not in the workload."""


@dataclass(frozen=True)
class UnloweredOp:
    """One call of an op sod could not lower (``macs`` None when unknown)."""

    name: str  # the GEMM-style name it would have had (module path)
    op: str  # e.g. "aten.mkldnn_rnn_layer.default"
    macs: int | None

    def __str__(self) -> str:
        macs = f"{self.macs:,} MACs" if self.macs is not None else "unknown MACs"
        return f"{self.op} in {self.name!r} ({macs}) cannot be lowered to a GEMM: NOT counted"


def _bind(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The op's arguments by schema name (defaults filled in)."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(func._schema.arguments):
        if i < len(args) and not arg.kwarg_only:
            out[arg.name] = args[i]
        elif arg.name in kwargs:
            out[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
    return out


_ACT, _PARAM = 1, 2  # provenance: derived from the inputs / from parameters only


class _Names(TorchFunctionMode):
    """Labels the outermost torch function being run (for naming the GEMMs under it)."""

    def __init__(self, cap: _Capture) -> None:
        super().__init__()
        self.cap = cap

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        label = _FUNC_LABELS.get(func)
        if label is None or self.cap.context is not None:
            return func(*args, **kwargs)
        self.cap.context, self.cap.context_name = label, None
        try:
            return func(*args, **kwargs)
        finally:
            self.cap.context, self.cap.context_name = None, None


class _Capture(TorchDispatchMode):
    """Lowers every GEMM-like ATen op; names come from the module stack."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.records: list[Gemm] = []
        self.unlowered: list[UnloweredOp] = []
        self.prov: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.tags: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.names: dict[str, int] = {}
        self.context: str | None = None
        self.context_name: str | None = None

    # --- naming, provenance and activation tags --------------------------------------
    def pop(self, out: Any = None, act: Activation | None = None) -> None:
        # A forward hook that returned a value would replace the module's output.
        if self.stack:
            self.stack.pop()
        # Activation modules written with elementwise ops (transformers' NewGELU, …).
        if act is not None and isinstance(out, torch.Tensor):
            self.tags[out] = act

    def _name(self, op: str) -> str:
        base = self.stack[-1] if self.stack else "model"
        base = f"{base}.{op}" if op else base
        count = self.names.get(base, 0) + 1
        self.names[base] = count
        return base if count == 1 else f"{base}#{count}"

    def _call_name(self, default: str) -> str:
        """One name per torch-function call (``linear``/``conv`` get the module's name)."""
        label = self.context
        if label in ("linear", "conv"):
            if self.context_name is None:
                self.context_name = self._name("")
            return self.context_name
        return self._name(label if label is not None else default)

    def mark(self, t: Any, prov: int, act: Activation | None = None) -> None:
        if isinstance(t, torch.Tensor):
            self.prov[t] = prov
            if act is not None:
                self.tags[t] = act

    def _tag_of(self, t: torch.Tensor) -> Activation:
        return self.tags.get(t, Activation.OTHER)

    def _is_weight(self, t: torch.Tensor) -> bool:
        prov = self.prov.get(t)
        # A plain callable's parameters were not registered: an nn.Parameter still counts.
        return prov == _PARAM or (prov is None and isinstance(t, torch.nn.Parameter))

    # --- the interception ---------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            self._lower(func, args, kwargs, out)
        finally:
            self._propagate(func, args, kwargs, out)
        return out

    def _propagate(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        provs = {self.prov.get(t) for t in ins}
        prov = _ACT if _ACT in provs else _PARAM if _PARAM in provs else None
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        in_ids = {id(t) for t in ins}
        for t in outs:
            if prov is not None:
                self.prov[t] = prov
            elif id(t) not in in_ids:
                self.prov.pop(t, None)
        first = outs[0] if outs else None
        if first is None:
            return
        schema = func._schema
        src = args[0] if args and isinstance(args[0], torch.Tensor) else None
        act: Activation | None = None
        if func in _ACT_OPS:
            act = _ACT_OPS[func]
        elif func in _HARDTANH:
            low = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
            act = Activation.RELU if low >= 0 else Activation.OTHER
        elif src is not None and (func in _PASS_OPS or _is_view(schema)):
            act = self.tags.get(src)
        if act is not None:
            self.tags[first] = act
        elif schema.is_mutable or first in self.tags:
            # Written in place (x += y) or a fresh tensor reusing an id: no longer tagged.
            self.tags.pop(first, None)

    def _lower(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        packet = func._overloadpacket
        if packet in (aten.mm, aten._int_mm):
            self._gemm(func, args[0], args[1])
        elif packet in (aten.addmm, aten.addmv):
            self._gemm(func, args[1], args[2])
        elif packet in (aten.bmm, aten.mv, aten.dot, aten.vdot):
            self._gemm(func, args[0], args[1])
        elif packet in (aten.baddbmm, aten.addbmm):
            self._gemm(func, args[1], args[2])
        elif packet in (aten.convolution, aten._convolution):
            self._conv(func, args, kwargs)
        elif packet.__name__.startswith("_scaled_dot_product") and "backward" not in str(func):
            self._sdpa(func, args, kwargs)
        else:
            self._check_unlowered(func, args, kwargs, out)

    def _check_unlowered(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        from torch.utils.flop_counter import flop_registry

        packet = func._overloadpacket
        name = func._schema.name.split("::")[-1]
        counted = packet in flop_registry
        if not counted and (not _MAC_OP_NAME.search(name) or _NOT_MAC_OPS.search(name)):
            return
        macs: int | None = None
        try:
            if counted:
                macs = int(flop_registry[packet](*args, **kwargs, out_val=out)) // 2
            else:
                macs = _mac_formula(name, args, out)
        except Exception:
            macs = None
        base = self.stack[-1] if self.stack else "model"
        item = UnloweredOp(base, str(func), macs)
        self.unlowered.append(item)
        warnings.warn(f"sod: {item}", UnloweredOpWarning, stacklevel=2)

    # --- GEMMs --------------------------------------------------------------------------
    def _gemm(self, func: Any, a: torch.Tensor, b: torch.Tensor) -> None:
        a2 = a.unsqueeze(0) if a.dim() == 1 else a
        b2 = b.unsqueeze(-1) if b.dim() == 1 else b
        if a2.dim() == 2:
            a3, b3 = a2[None], b2[None]
        else:
            a3, b3 = a2, b2
        reps, m, k = a3.shape
        n = b3.shape[-1]
        weight_op = self.context in ("linear", "conv", "bilinear")
        is_weight = reps == 1 and (weight_op or self._is_weight(b))
        # Outside any known torch function (torch.addmm in GPT-2's Conv1D, F.linear inside
        # F.multi_head_attention_forward) a GEMM with a weight operand is named after its
        # module like a linear layer; otherwise after its op.
        if self.context is None and is_weight:
            name = self._name("")
        else:
            name = self._call_name(func._overloadpacket.__name__)
        # Masks of the first batch element only: sod's contract is one representative
        # mask for a non-grouped GEMM with repeat > 1 (see sod.sparsity.apply).
        am, bm = _nz(a3[0]), _nz(b3[0])
        self.records.append(
            Gemm(
                name=name,
                m=int(m),
                k=int(k),
                n=int(n),
                repeat=int(reps),
                kind=LayerKind.LINEAR if is_weight else LayerKind.ATTENTION,
                w_is_weight=is_weight,
                input_activation=self._tag_of(a),
                weights=np.ascontiguousarray(_np(b3[0])) if is_weight else None,
                weight_mask=BitMask.from_bool(bm),
                weight_density=float(bm.mean()),
                act_mask=BitMask.from_bool(am),
                act_density=float(am.mean()),
            )
        )

    def _conv(self, func: Any, args: tuple, kwargs: dict) -> None:
        p = _bind(func, args, kwargs)
        x, weight = p["input"], p["weight"]
        groups, dims = int(p["groups"]), weight.dim() - 2
        name = self._call_name("conv")
        stride = _tuple(p["stride"], dims)
        padding = _tuple(p["padding"], dims)
        dilation = _tuple(p["dilation"], dims)
        if x.dim() == dims + 1:
            x = x.unsqueeze(0)
        act = self._tag_of(p["input"])
        if p["transposed"]:
            self.records.append(_conv_transposed(name, x, weight, groups, act))
        elif dims in (1, 2):
            self.records.append(_conv2d(name, x, weight, stride, padding, dilation, groups, act))
        else:
            self.records.append(_conv_nd(name, x, weight, stride, padding, dilation, groups, act))

    def _sdpa(self, func: Any, args: tuple, kwargs: dict) -> None:
        p = _bind(func, args, kwargs)
        q, k, v = p["query"], p["key"], p["value"]
        mask = p.get("attn_mask", p.get("attn_bias"))
        causal = bool(p.get("is_causal", False))
        scale = p.get("scale")
        *batch, length, e = q.shape
        s, ev = k.shape[-2], v.shape[-1]
        reps = prod(int(d) for d in batch)
        q0 = q.reshape(-1, length, e)[0].float()
        k0 = k.reshape(-1, s, e)[0].float()
        v0 = v.reshape(-1, s, ev)[0]
        scores = (q0 @ k0.T) * (scale if scale is not None else e**-0.5)
        if mask is not None:
            m0 = mask.expand(*batch, length, s).reshape(-1, length, s)[0]
            if m0.dtype == torch.bool:
                scores = scores.masked_fill(~m0, float("-inf"))
            else:
                scores = scores + m0.float()
        if causal:
            keep = torch.ones(length, s, dtype=torch.bool).tril()
            scores = scores.masked_fill(~keep, float("-inf"))
        pm = _nz(torch.softmax(scores, dim=-1))
        base = self.stack[-1] if self.stack else "model"
        qm, km, vm = _nz(q0), _nz(k0.T), _nz(v0)
        for suffix, (mm, kk, nn), am, wm, act in (
            ("qk", (length, e, s), qm, km, self._tag_of(q)),
            ("pv", (length, s, ev), pm, vm, Activation.SOFTMAX),
        ):
            self.records.append(
                Gemm(
                    name=self._dedup(f"{base}.{suffix}"),
                    m=int(mm),
                    k=int(kk),
                    n=int(nn),
                    repeat=int(reps),
                    kind=LayerKind.ATTENTION,
                    w_is_weight=False,
                    input_activation=act,
                    weight_mask=BitMask.from_bool(wm),
                    weight_density=float(wm.mean()),
                    act_mask=BitMask.from_bool(am),
                    act_density=float(am.mean()),
                )
            )

    def _dedup(self, name: str) -> str:
        count = self.names.get(name, 0) + 1
        self.names[name] = count
        return name if count == 1 else f"{name}#{count}"


def from_torch(
    module_or_callable: torch.nn.Module | Callable[..., Any] | str,
    example_inputs: torch.Tensor | Sequence[Any] | None = None,
    name: str | None = None,
    *,
    example_kwargs: dict[str, Any] | None = None,
    unlowered: list[UnloweredOp] | None = None,
) -> Workload:
    """Run the model once and return its GEMMs with real weights and activation masks.

    ``module_or_callable`` is an ``nn.Module``, any callable of the inputs, or a
    ``"module:callable"`` string (see :func:`load_torch_target`; then ``example_inputs``
    may be None). ``example_inputs`` is a tensor or a tuple of positional inputs;
    ``example_kwargs`` are passed as keyword inputs. Every executed op that does MACs but
    cannot be lowered raises an :class:`UnloweredOpWarning` and, when ``unlowered`` is a
    list, is appended to it (:class:`UnloweredOp`: module, op, MACs).
    """
    if isinstance(module_or_callable, str):
        model, inputs = load_torch_target(module_or_callable)
        if example_inputs is None:
            example_inputs = inputs
        name = name or module_or_callable.rsplit(":", 1)[-1]
    else:
        model = module_or_callable
    if example_inputs is None and example_kwargs:
        example_inputs = ()
    if example_inputs is None:
        raise WorkloadError("from_torch needs example inputs")
    if not callable(model):
        raise WorkloadError(f"torch model must be callable, got {type(model).__name__}")
    inputs = (
        (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    )
    name = name or type(model).__name__.lower()
    cap = _Capture()
    for t in tree_leaves((inputs, example_kwargs)):
        cap.mark(t, _ACT, Activation.NONE)  # network inputs are dense, not ReLU outputs
    handles = []
    if isinstance(model, torch.nn.Module):
        for t in (*model.parameters(), *model.buffers()):
            cap.mark(t, _PARAM)
        for mod_name, mod in model.named_modules():
            label = mod_name or "model"
            handles.append(
                mod.register_forward_pre_hook(lambda _m, _i, label=label: cap.stack.append(label))
            )
            act = _module_activation(mod)
            handles.append(
                mod.register_forward_hook(lambda _m, _i, out, act=act: cap.pop(out, act))
            )
    # nn.MultiheadAttention / TransformerEncoderLayer have fused eval fast paths
    # (aten._native_multi_head_attention …): take the decomposed path, whose GEMMs lower.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), _Names(cap), cap:
            model(*inputs, **(example_kwargs or {}))
    except WorkloadError:
        raise
    except Exception as err:
        raise WorkloadError(
            f"torch model {name!r} failed on the example inputs: {_first_line(err)}"
        ) from None
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for h in handles:
            h.remove()
    if unlowered is not None:
        unlowered.extend(cap.unlowered)
    if not cap.records:
        raise WorkloadError(f"torch model {name!r} has no Conv2d, Linear or matmul to import")
    tensors = [t for t in tree_leaves((inputs, example_kwargs)) if isinstance(t, torch.Tensor)]
    first = tensors[0] if tensors else None
    batch = int(first.shape[0]) if first is not None and first.dim() > 1 else 1
    return Workload(name=name, gemms=tuple(cap.records), batch=batch)
