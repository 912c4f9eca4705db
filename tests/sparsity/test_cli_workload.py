"""`sod workload`: table and JSON output, imports, one-line errors with exit code 2."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from sod.cli.workload import register
from sod.errors import SodError

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:  # keeps `workload` a sub-command
    pass


def run(*args: str):
    return CliRunner().invoke(app, ["workload", *args])


def test_table_lists_every_layer():
    res = run("--model", "lenet5", "--sparsity", "han2015", "--seed", "1")
    assert res.exit_code == 0, res.output
    for name in ("conv1", "conv2", "ip1", "ip2", "empty kern", "p99 0-run"):
        assert name in res.output


def test_json_densities():
    res = run("-m", "lenet300", "-s", "han2015", "--json")
    data = json.loads(res.output)
    dens = {row["layer"]: row["weight_density"] for row in data["layers"]}
    assert dens == pytest.approx({"ip1": 0.08, "ip2": 0.09, "ip3": 0.26}, abs=1e-4)
    acts = {row["layer"]: row["act_density"] for row in data["layers"]}
    assert acts == pytest.approx({"ip1": 1.0, "ip2": 0.38, "ip3": 0.65}, abs=1e-2)
    assert data["total"]["weights"] == 784 * 300 + 300 * 100 + 100 * 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "lenet300", "-s", "uniform:0"], "density must be in (0, 1]"),
        (["-m", "lenet300", "-s", "nm:4:2"], "N <= M"),
        (["-m", "lenet300", "-s", "block:200:0.5"], "larger than"),
        (["-m", "lenet300", "--tile", "3by3"], "--tile"),
        (["-m", "lenet300", "--onnx", "x.onnx"], "exactly one"),
    ],
)
def test_bad_input_raises_sod_error(args, message):
    res = run(*args)
    assert isinstance(res.exception, SodError)
    assert message in str(res.exception)


@pytest.mark.slow
def test_console_script_exit_code_2(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    proc = subprocess.run(
        [sys.executable, "-c", "from sod.cli import main; main()", "workload", "--onnx", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    if importlib.util.find_spec("onnx") is None:
        assert proc.stderr.startswith("error: reading ONNX needs onnx: pip install")
    else:
        assert proc.stderr.startswith("error: cannot parse ONNX file")
    assert proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_importing_sod_workload_and_sparsity_does_not_import_torch_or_onnx():
    code = (
        "import sys\n"
        "import sod.cli.workload, sod.sparsity, sod.workload as w\n"
        "from sod.errors import WorkloadError\n"
        "bad = [m for m in ('torch', 'onnx') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "has_onnx = sys.argv[1] == 'yes'\n"
        "try:\n"
        "    from_onnx = w.from_onnx\n"
        "except WorkloadError as err:  # onnx missing: one error with the install hint\n"
        "    assert not has_onnx and '[onnx]' in str(err), err\n"
        "else:\n"
        "    assert has_onnx and callable(from_onnx)\n"
    )
    has_onnx = "yes" if importlib.util.find_spec("onnx") else "no"
    subprocess.run([sys.executable, "-c", code, has_onnx], check=True, timeout=120)


def test_torch_and_onnx_sources(tmp_path):
    pytest.importorskip(
        "torch", reason="torch not installed (pip install 'sparse-on-dense[torch]')"
    )
    src = tmp_path / "tiny.py"
    src.write_text(
        "import torch\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(),\n"
        "                              torch.nn.Linear(6, 3))\n"
        "    return net, (torch.randn(2, 8),)\n"
    )
    res = run("--torch", f"{src}:build", "--json")
    assert res.exit_code == 0, res.output
    layers = json.loads(res.output)["layers"]
    assert [(r["layer"], r["m"], r["k"], r["n"]) for r in layers] == [
        ("0", 2, 8, 6),
        ("2", 2, 6, 3),
    ]
    res = run("--torch", f"{src}:build", "-s", "uniform:0.5", "--json")
    assert [r["weight_density"] for r in json.loads(res.output)["layers"]] == [0.5, 0.5]
