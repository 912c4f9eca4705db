"""Import an ONNX model: every Conv / Gemm / MatMul becomes a GEMM with its real weights.

:func:`from_onnx` reads the graph (``onnx`` only; nothing is executed, so activation
masks are not measured — :func:`sod.sparsity.apply_sparsity` fills them from the
``input_activation`` of each GEMM, found by walking back from its data input through
shape-only ops to the Relu / Gelu / Softmax / graph input that produced it). Weights come
from initializers or ``Constant`` nodes (also through ``Identity``/``Cast``/``Transpose``
of a constant); a weight exactly 0.0 is a pruned weight. Shapes come from ONNX shape
inference; symbolic dimensions (a dynamic batch) take the value ``batch``.

Lowering follows :mod:`sod.workload.gemm`: Conv -> im2col GEMM (groups -> repeat, weights
(groups, k, n)); Gemm/MatMul with a constant operand -> linear (k × n weights); MatMul of
two activations -> an attention GEMM (``w_is_weight=False``), batch dims -> repeat.
Importing this module imports onnx (a :class:`WorkloadError` with the install hint when it
is missing); ``sod.workload.from_onnx`` imports it lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sod.errors import WorkloadError

try:
    import onnx
    from onnx import numpy_helper
except ImportError as err:  # the optional extra: one clear error, not a traceback
    raise WorkloadError("reading ONNX needs onnx: pip install 'sparse-on-dense[onnx]'") from err

from sod.workload.gemm import Activation, Gemm, LayerKind, Workload, conv2d
from sod.workload.mask import BitMask

_PASS_OPS = {
    "Flatten",
    "Reshape",
    "MaxPool",
    "Identity",
    "Dropout",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "GlobalMaxPool",
    "Cast",
}
_ACT_OPS = {
    "Relu": Activation.RELU,
    "Clip": Activation.RELU,
    "Gelu": Activation.GELU,
    "Softmax": Activation.SOFTMAX,
    "Sigmoid": Activation.SWIGLU,
}


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            a = _attrs(node)
            if "value" in a:
                consts[node.output[0]] = numpy_helper.to_array(a["value"])
            elif "value_float" in a or "value_int" in a:
                consts[node.output[0]] = np.array(a.get("value_float", a.get("value_int")))
            elif "value_floats" in a or "value_ints" in a:
                consts[node.output[0]] = np.array(a.get("value_floats", a.get("value_ints")))
        elif node.op_type in ("Identity", "Cast") and node.input[0] in consts:
            consts[node.output[0]] = consts[node.input[0]]
        elif node.op_type == "Transpose" and node.input[0] in consts:
            perm = _attrs(node).get("perm")
            consts[node.output[0]] = np.transpose(consts[node.input[0]], perm)
    return consts


def _fix_batch_dims(model: onnx.ModelProto, batch: int) -> None:
    """Give each graph input's leading symbolic dimension (the batch) the value ``batch``,
    so shape inference can propagate concrete shapes through the graph."""
    consts = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in consts or not dims:
            continue
        first = dims[0]
        if not (first.HasField("dim_value") and first.dim_value > 0):
            first.dim_value = batch


def _shapes(model: onnx.ModelProto, batch: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    g = model.graph
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            continue
        dims = []
        for d in t.shape.dim:
            dims.append(int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else batch)
        out[vi.name] = dims
    return out


def _producer_activation(
    name: str, producers: dict[str, onnx.NodeProto], graph_inputs: set[str]
) -> Activation:
    """Walk back through shape-only ops to the non-linearity that made ``name``."""
    for _ in range(32):
        if name in graph_inputs:
            return Activation.NONE
        node = producers.get(name)
        if node is None:
            return Activation.OTHER
        if node.op_type in _ACT_OPS:
            return _ACT_OPS[node.op_type]
        if node.op_type == "Mul" and _is_erf_gelu(node, producers):
            return Activation.GELU
        if node.op_type not in _PASS_OPS:
            return Activation.OTHER
        name = node.input[0]
    return Activation.OTHER


def _is_erf_gelu(node: onnx.NodeProto, producers: dict[str, onnx.NodeProto]) -> bool:
    """Exporters without a Gelu op emit x·0.5·(1 + erf(x/√2)): look two ops back."""
    for inp in node.input:
        p = producers.get(inp)
        for _ in range(3):
            if p is None:
                break
            if p.op_type == "Erf":
                return True
            p = producers.get(p.input[0]) if p.input else None
    return False


def _clean_name(raw: str) -> str:
    """torch-exported ``/features/conv1/Conv`` -> ``features.conv1`` (matches from_torch)."""
    parts = [p for p in raw.split("/") if p]
    if len(parts) > 1 and parts[-1].split("_")[0] in ("Conv", "Gemm", "MatMul"):
        parts = parts[:-1]
    return ".".join(parts)


def _weight_gemm(name: str, m: int, w: np.ndarray, act: Activation) -> Gemm:
    wt = np.ascontiguousarray(w)
    mask = BitMask.from_array(wt)
    return Gemm(
        name=name,
        m=int(m),
        k=int(wt.shape[0]),
        n=int(wt.shape[1]),
        kind=LayerKind.LINEAR,
        input_activation=act,
        weights=wt,
        weight_mask=mask,
        weight_density=mask.density,
    )


def from_onnx(path: str | Path, batch: int = 1, name: str | None = None) -> Workload:
    """Read an ONNX file and lower its Conv / Gemm / MatMul nodes to GEMMs."""
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"ONNX file {str(path)!r} does not exist")
    if batch <= 0:
        raise WorkloadError(f"batch must be positive, got {batch}")
    try:
        model = onnx.load(str(path))
        _fix_batch_dims(model, batch)
        # data_prop: shapes computed in the graph (BERT's head split view(b, s, heads, d)
        # via Shape/Gather/Concat) become concrete once the inputs' dims are.
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise WorkloadError(
            f"cannot parse ONNX file {str(path)!r}: {type(err).__name__}: {first}"
        ) from None
    graph = model.graph
    if not graph.node:
        raise WorkloadError(f"ONNX file {str(path)!r} has an empty graph")
    try:
        consts = _constants(graph)
    except (ValueError, TypeError) as err:  # e.g. an initializer's data disagrees with its dims
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise WorkloadError(f"ONNX file {str(path)!r}: bad constant ({first})") from None
    shapes = _shapes(model, batch)
    producers = {o: n for n in graph.node for o in n.output}
    graph_inputs = {i.name for i in graph.input} - set(consts)
    gemms: list[Gemm] = []
    used: dict[str, int] = {}

    def label(node: onnx.NodeProto) -> str:
        base = _clean_name(node.name) or f"{node.op_type.lower()}{len(gemms)}"
        used[base] = used.get(base, 0) + 1
        return base if used[base] == 1 else f"{base}#{used[base]}"

    def shape_of(tensor: str, node: onnx.NodeProto) -> list[int]:
        if tensor in consts:
            return list(consts[tensor].shape)
        if tensor not in shapes:
            raise WorkloadError(
                f"ONNX node {node.name or node.op_type!r}: unknown shape of "
                f"input {tensor!r} (shape inference failed)"
            )
        return shapes[tensor]

    for node in graph.node:
        op = node.op_type
        if op not in ("Conv", "Gemm", "MatMul"):
            continue
        a_name, b_name = node.input[0], node.input[1]
        act = _producer_activation(a_name, producers, graph_inputs)
        if op == "Conv":
            gemms.append(_conv(node, label(node), shape_of(a_name, node), consts, act))
        elif op == "Gemm":
            at = _attrs(node)
            a_shape = shape_of(a_name, node)
            m = a_shape[1] if at.get("transA", 0) else a_shape[0]
            if b_name in consts:
                w = consts[b_name]
                gemms.append(_weight_gemm(label(node), m, w.T if at.get("transB", 0) else w, act))
            else:
                b_shape = shape_of(b_name, node)
                k, n = (b_shape[1], b_shape[0]) if at.get("transB", 0) else b_shape
                gemms.append(
                    Gemm(
                        label(node),
                        m=int(m),
                        k=int(k),
                        n=int(n),
                        kind=LayerKind.ATTENTION,
                        w_is_weight=False,
                        input_activation=act,
                    )
                )
        else:
            gemms.append(
                _matmul(
                    node, label(node), shape_of(a_name, node), shape_of(b_name, node), consts, act
                )
            )
    if not gemms:
        raise WorkloadError(f"ONNX file {str(path)!r} has no Conv, Gemm or MatMul node")
    return Workload(name=name or path.stem, gemms=tuple(gemms), batch=batch)


def _conv(
    node: onnx.NodeProto,
    name: str,
    x_shape: list[int],
    consts: dict[str, np.ndarray],
    act: Activation,
) -> Gemm:
    if node.input[1] not in consts:
        raise WorkloadError(f"ONNX Conv {name!r}: weights are not a constant")
    w = consts[node.input[1]]
    if w.ndim != 4 or len(x_shape) != 4:
        raise WorkloadError(f"ONNX Conv {name!r}: only 2-D convolutions are supported")
    at = _attrs(node)
    out_ch, _, kh, kw = w.shape
    groups = int(at.get("group", 1))
    strides = list(at.get("strides", [1, 1]))
    dil = list(at.get("dilations", [1, 1]))
    auto_pad = at.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    pads = list(at.get("pads", [0, 0, 0, 0]))
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        tot = [d * (k - 1) for k, d in zip((kh, kw), dil, strict=True)]
        if strides != [1, 1] or any(t % 2 for t in tot):
            raise WorkloadError(f"ONNX Conv {name!r}: asymmetric auto_pad is not supported")
        pads = [tot[0] // 2, tot[1] // 2] * 2
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise WorkloadError(f"ONNX Conv {name!r}: asymmetric pads {pads} are not supported")
    b, c, h, wd = x_shape
    gemm = conv2d(
        name,
        h,
        wd,
        c,
        out_ch,
        (kh, kw),
        stride=tuple(strides),
        padding=(pads[0], pads[1]),
        dilation=tuple(dil),
        groups=groups,
        batch=b,
        input_activation=act,
    )
    n = out_ch // groups
    wt = w.reshape(groups, n, -1).transpose(0, 2, 1)
    weights = np.ascontiguousarray(wt[0] if groups == 1 else wt)
    mask = BitMask.from_bool(wt.reshape(groups * gemm.k, n) != 0)
    return gemm.with_(weights=weights, weight_mask=mask, weight_density=mask.density)


def _matmul(
    node: onnx.NodeProto,
    name: str,
    a_shape: list[int],
    b_shape: list[int],
    consts: dict[str, np.ndarray],
    act: Activation,
) -> Gemm:
    a_name, b_name = node.input[0], node.input[1]
    if b_name in consts and consts[b_name].ndim == 2:
        m = int(np.prod(a_shape[:-1])) if len(a_shape) > 1 else 1
        return _weight_gemm(name, m, consts[b_name], act)
    if a_name in consts and consts[a_name].ndim == 2:
        # W·X: transpose to Xᵀ·Wᵀ so the constant is sod's k × n weight operand.
        n_rows = int(np.prod(b_shape[:-2])) * b_shape[-1] if len(b_shape) > 1 else 1
        return _weight_gemm(name, n_rows, consts[a_name].T, Activation.OTHER)
    a2 = [1, *a_shape] if len(a_shape) == 1 else a_shape
    b2 = [*b_shape, 1] if len(b_shape) == 1 else b_shape
    if len(b2) == 2:
        a2 = [int(np.prod(a2[:-1])), a2[-1]]  # x(..., k) @ B(k, n): one GEMM, more rows
    batch = np.broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2]))
    reps = int(np.prod(batch)) if batch else 1
    return Gemm(
        name,
        m=int(a2[-2]),
        k=int(a2[-1]),
        n=int(b2[-1]),
        repeat=reps,
        kind=LayerKind.ATTENTION,
        w_is_weight=False,
        input_activation=act,
    )
