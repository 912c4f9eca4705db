"""from_onnx: a pruned torch model exported to ONNX imports with the same shapes,
weights and densities as from_torch; Constant-node weights; bad files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch not installed (pip install 'sparse-on-dense[torch]')"
)
onnx = pytest.importorskip(
    "onnx", reason="onnx not installed (pip install 'sparse-on-dense[onnx]')"
)
nn = torch.nn
prune = pytest.importorskip("torch.nn.utils.prune")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from sod.errors import WorkloadError  # noqa: E402
from sod.sparsity import apply_sparsity  # noqa: E402
from sod.workload import from_onnx, from_torch  # noqa: E402
from sod.workload.gemm import Activation, LayerKind  # noqa: E402


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = nn.functional.gelu(self.fc1(x.flatten(1)))
        return self.fc2(x)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    torch.manual_seed(1)
    net = Net()
    for mod, amount in ((net.conv1, 0.3), (net.conv2, 0.6), (net.fc1, 0.9), (net.fc2, 0.5)):
        prune.l1_unstructured(mod, "weight", amount=amount)
    x = torch.randn(2, 1, 8, 8)
    path = tmp_path_factory.mktemp("onnx") / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
        )
    return net, x, path


def test_onnx_matches_torch(exported):
    net, x, path = exported
    wo = from_onnx(path, batch=2)
    wt = from_torch(net, x)
    assert [g.name for g in wo] == [g.name for g in wt] == ["conv1", "conv2", "fc1", "fc2"]
    for go, gt in zip(wo, wt, strict=True):
        assert (go.m, go.k, go.n, go.repeat, go.kind) == (gt.m, gt.k, gt.n, gt.repeat, gt.kind)
        assert go.conv == gt.conv
        np.testing.assert_array_equal(go.weights, gt.weights)
        assert go.weight_density == gt.weight_density
        np.testing.assert_array_equal(go.weight_mask.packed, gt.weight_mask.packed)
        mod = getattr(net, go.name)
        assert go.weight_density == mod.weight_mask.sum().item() / mod.weight_mask.numel()
        assert go.act_mask is None  # ONNX graphs are not executed
    acts = [g.input_activation for g in wo]
    assert acts == [Activation.NONE, Activation.RELU, Activation.RELU, Activation.GELU]


def test_dynamic_batch_and_synthetic_acts(exported):
    _, _, path = exported
    w = from_onnx(path, batch=5)
    assert w.gemms[0].m == 5 * 64 and w.gemms[2].m == 5
    filled = apply_sparsity(w, "keep,act=0.3", seed=0)
    relu_fed = [g for g in filled if g.input_activation == Activation.RELU]
    assert all(g.act_mask is not None for g in relu_fed)
    assert filled.gemms[2].act_density == pytest.approx(0.3, abs=1e-3)
    assert filled.gemms[3].act_mask is None  # GELU input: dense
    for a, b in zip(w, filled, strict=True):
        assert a.weight_density == b.weight_density  # keep: weights untouched


def test_constant_node_weights_and_attention(tmp_path):
    w1 = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]], dtype=np.float32)  # (k=2, n=3)
    w2 = np.array(
        [[0.0, 1.0, 0.0, 0.0]] * 3, dtype=np.float32
    )  # k=3 × n=4; stored transposed (transB)
    nodes = [
        helper.make_node("Constant", [], ["W1"], value=numpy_helper.from_array(w1, "W1")),
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="mm"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2"], ["y"], name="fc", transB=1),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("q", TensorProto.FLOAT, [3, 7, 5]),
            helper.make_tensor_value_info("kt", TensorProto.FLOAT, [3, 5, 7]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, [3, 7, 7]),
        ],
        initializer=[numpy_helper.from_array(w2.T.copy(), "W2")],
    )
    path = tmp_path / "c.onnx"
    onnx.save(helper.make_model(graph), str(path))
    w = from_onnx(path, batch=4)
    mm, fc, qk = w.gemms
    assert (mm.m, mm.k, mm.n) == (4, 2, 3) and mm.weight_density == 0.5
    assert mm.input_activation == Activation.NONE
    np.testing.assert_array_equal(fc.weights, w2)  # transB undone: k × n
    assert fc.input_activation == Activation.RELU and fc.weight_density == 0.25
    assert (qk.m, qk.k, qk.n, qk.repeat, qk.kind) == (7, 5, 7, 3, LayerKind.ATTENTION)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07this is not a protobuf\xff\xff")
    with pytest.raises(WorkloadError, match="cannot parse ONNX file") as err:
        from_onnx(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(WorkloadError, match="does not exist"):
        from_onnx(tmp_path / "missing.onnx")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    empty = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(empty))
    with pytest.raises(WorkloadError, match="no Conv, Gemm or MatMul"):
        from_onnx(empty)


def test_exported_bert_attention_has_batch_times_heads_repeats(tmp_path):
    """BERT's head split is computed in the graph (Shape/Gather/Concat): with the batch
    fixed, shape inference propagates it, so the attention GEMMs get seq x head_dim x seq
    and repeat = batch x heads, as from_torch measures them."""
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=32,
        attn_implementation="eager",
    )

    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = transformers.BertModel(cfg).eval()

        def forward(self, ids):
            return self.bert(input_ids=ids).last_hidden_state

    model, ids = Wrapper().eval(), torch.randint(0, 64, (2, 8))
    path = tmp_path / "bert.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (ids,),
            str(path),
            dynamo=False,
            input_names=["ids"],
            dynamic_axes={"ids": {0: "batch"}},
        )
    for batch in (2, 3):
        onnx_w = from_onnx(path, batch=batch)
        # The pooler runs in torch but its output is unused, so the export drops it.
        torch_w = [
            g for g in from_torch(model, torch.randint(0, 64, (batch, 8))) if "pooler" not in g.name
        ]
        shapes = lambda w: sorted((g.kind, g.m, g.k, g.n, g.repeat) for g in w)  # noqa: E731
        assert shapes(onnx_w) == shapes(torch_w)
        attention = [g for g in onnx_w if g.kind == LayerKind.ATTENTION]
        assert len(attention) == 2
        assert all((g.m, g.k, g.n, g.repeat) == (8, 8, 8, batch * 4) for g in attention)
