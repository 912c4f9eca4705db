"""The `sod models` / `sod run` commands, run as a user would (subprocess)."""

import csv
import importlib.util
import io
import json
import subprocess
import sys

import pytest

# Every test here starts `sod` in a subprocess.
pytestmark = pytest.mark.slow


def sod(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sod", *args], capture_output=True, text=True, timeout=120
    )


def test_models_lists_the_zoo():
    out = sod("models")
    assert out.returncode == 0
    for name in ("alexnet", "vgg16", "resnet50", "bert-base", "llama2-7b"):
        assert name in out.stdout


def test_run_table():
    out = sod("run", "--model", "vgg16", "--array", "32x32", "--dataflow", "ws")
    assert out.returncode == 0, out.stderr
    assert "conv1_1" in out.stdout and "fc8" in out.stdout and "total" in out.stdout


def test_run_json_shape():
    out = sod("run", "--model", "alexnet", "--array", "16x64", "-d", "os", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["workload"] == "alexnet"
    assert data["arch"]["array_rows"] == 16 and data["arch"]["array_cols"] == 64
    layer = data["layers"][0]
    for key in (
        "name",
        "m",
        "k",
        "n",
        "macs",
        "compute_cycles",
        "stall_cycles",
        "cycles",
        "utilization",
    ):
        assert key in layer
    assert data["total"]["macs"] == sum(x["macs"] for x in data["layers"])
    assert data["total"]["cycles"] == sum(x["cycles"] for x in data["layers"])
    assert all(0 < x["utilization"] <= 1 for x in data["layers"])


def test_run_csv_and_topology(tmp_path):
    topo = tmp_path / "net.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 7, 13, 5,\nfc2, 100, 3, 257,\n")
    out = sod("run", "--topology", str(topo), "--array", "8x8", "-d", "is", "-f", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["name"] for r in rows] == ["fc1", "fc2", "TOTAL"]


def test_batch_and_seq_len():
    a = json.loads(sod("run", "-m", "bert-base", "--seq-len", "64", "-f", "json").stdout)
    b = json.loads(
        sod("run", "-m", "bert-base", "--seq-len", "64", "--batch", "2", "-f", "json").stdout
    )
    assert b["total"]["macs"] == 2 * a["total"]["macs"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--model", "resnet51"], "unknown model 'resnet51'"),
        (["run", "--model", "vgg16", "--array", "0x4"], "array spec '0x4'"),
        (["run", "--model", "vgg16", "--array", "abc"], "array spec 'abc'"),
        (["run", "--model", "vgg16", "--dataflow", "xs"], "dataflow"),
        (["run", "--model", "vgg16", "--batch", "-1"], "--batch must be positive"),
        (["run"], "exactly one of --model, --topology"),
        (["run", "--topology", "/nonexistent.csv"], "cannot read topology file"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    out = sod(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_truncated_topology(tmp_path):
    topo = tmp_path / "bad.csv"
    topo.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
        "Channels, Num Filter, Strides,\nConv1, 227, 227, 11,"
    )
    out = sod("run", "--topology", str(topo))
    assert out.returncode == 2 and "line 2" in out.stderr and "Traceback" not in out.stderr


def test_run_onnx_file(tmp_path):
    onnx = pytest.importorskip(
        "onnx", reason="onnx not installed (pip install 'sparse-on-dense[onnx]')"
    )
    from onnx import TensorProto, helper, numpy_helper

    rng = __import__("numpy").random.default_rng(0)
    w = rng.standard_normal((64, 32)).astype("float32")
    w[rng.random(w.shape) < 0.8] = 0.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 32])],
        [numpy_helper.from_array(w, "w")],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    out = sod("run", "--onnx", str(path), "--arch", "sparse-on-dense", "-f", "json")
    assert out.returncode == 0, out.stderr
    layer = json.loads(out.stdout)["layers"][0]
    assert (layer["m"], layer["k"], layer["n"]) == (4, 64, 32)
    assert layer["weight_density"] == pytest.approx(float((w != 0).mean()))


def test_run_torch_callable(tmp_path):
    pytest.importorskip(
        "torch", reason="torch not installed (pip install 'sparse-on-dense[torch]')"
    )
    (tmp_path / "net.py").write_text(
        "import torch\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(),\n"
        "                              torch.nn.Linear(30, 5))\n"
        "    return net, (torch.randn(3, 20),)\n"
    )
    out = sod("run", "--torch", f"{tmp_path / 'net.py'}:build", "-f", "json")
    assert out.returncode == 0, out.stderr
    layers = json.loads(out.stdout)["layers"]
    assert [(x["m"], x["k"], x["n"]) for x in layers] == [(3, 20, 30), (3, 30, 5)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--onnx", "/nonexistent.onnx"], "onnx"),
        pytest.param(
            ["run", "--torch", "no_such_module_xyz:build"],
            "no_such_module_xyz",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("torch") is None,
                reason="torch not installed (pip install 'sparse-on-dense[torch]')",
            ),
        ),
        (["run", "--model", "vgg16", "--onnx", "x.onnx"], "exactly one"),
        (["run", "--model", "vgg16", "--sparsity", "uniform:1.5"], "1.5"),
        (["run", "--model", "vgg16", "--arch", "nope"], "unknown architecture 'nope'"),
    ],
)
def test_import_and_arch_errors(args, message):
    out = sod(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
