"""The Python API (sod.compare / sod.run / sod.paper) and the workload sources behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sod
from sod.errors import ArchitectureError, WorkloadError
from sod.study.sources import MASKS_DENSITIES, MASKS_REAL, load_any
from sod.workload.topology_csv import write_topology
from sod.workload.zoo import get_model

SMALL = ["dense", "sparse-on-dense", "index-match"]


def test_compare_a_zoo_name_gives_a_verdict_and_a_frame():
    r = sod.compare("lenet5", budget_mm2=4, archs=SMALL)
    frame = r.to_frame()
    assert list(frame.index) == SMALL
    assert (frame["area_mm2"] <= 4).all()
    best = frame["gops_per_mm2"].idxmax()
    verdict = r.verdict()
    assert verdict.startswith("at 4 mm², 45 nm, batch 1 on lenet5: ")
    assert f"{best} wins throughput/area by" in verdict
    # The margin in the sentence is the best over the runner-up.
    ranked = frame["gops_per_mm2"].sort_values(ascending=False)
    assert f"{ranked.iloc[0] / ranked.iloc[1]:.2f}x" in verdict
    assert "<table" in r._repr_html_() and "wins" in r._repr_html_()
    assert frame.loc["sparse-on-dense", "sod_advantage_gops_per_mm2"] == pytest.approx(1.0)


def test_compare_a_pruned_torch_module_uses_its_masks():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.nn.utils import prune

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 8 * 8, 10),
    )
    for layer in (net[0], net[3]):
        prune.l1_unstructured(layer, "weight", amount=0.8)
    x = torch.randn(1, 3, 8, 8)
    r = sod.compare(net, x, budget_mm2=4, archs=SMALL)
    assert r.masks == MASKS_REAL
    frame = r.to_frame()
    assert set(frame.index) == set(SMALL)
    point = sod.run(net, x, arch="sparse-on-dense")
    weights = [g for g in point.run.layers if g.gemm.w_is_weight]
    assert all(x.gemm.weight_density == pytest.approx(0.2, abs=0.01) for x in weights)


def test_topology_csv_says_it_has_densities_only(tmp_path: Path):
    from sod.sparsity.apply import apply_sparsity

    wl = get_model("lenet5")
    path = tmp_path / "net.csv"
    write_topology(apply_sparsity(wl, "han2015", seed=0), path)
    loaded = load_any(str(path))
    assert loaded.masks == MASKS_DENSITIES
    assert any(g.weight_density < 1 for g in loaded.workload)
    r = sod.compare(str(path), budget_mm2=4, archs=SMALL)
    assert r.masks == loaded.masks
    assert "real masks may change the verdict" in r.verdict()
    assert load_any(wl).masks == "dense: no pruning"  # a Workload passes through


def test_bad_sources_are_one_line_errors():
    with pytest.raises(WorkloadError, match="did you mean 'alexnet'"):
        sod.compare("alexnte")
    with pytest.raises(WorkloadError, match="cannot make a workload of a int"):
        load_any(3)
    with pytest.raises(WorkloadError, match="batch must be positive"):
        load_any("lenet5", batch=0)
    with pytest.raises(ArchitectureError, match="did you mean 'sparten'"):
        sod.compare("lenet5", archs=["dense", "sparteen"])


def test_sod_compare_cli_accepts_torch_and_prints_a_verdict(tmp_path: Path):
    pytest.importorskip("torch")
    script = tmp_path / "mynet.py"
    script.write_text(
        "import torch\n"
        "from torch.nn.utils import prune\n"
        "def make():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU(),\n"
        "                              torch.nn.Linear(16, 4))\n"
        "    prune.l1_unstructured(net[0], 'weight', amount=0.8)\n"
        "    return net, torch.randn(2, 32)\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sod",
            "compare",
            "--torch",
            f"{script}:make",
            "--budget-mm2",
            "4",
            "--archs",
            ",".join(SMALL),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "verdict: at 4 mm², 45 nm, batch 1 on " in out.stdout
    assert "masks: real" in out.stdout


def test_docs_example_runs_and_matches_the_docs():
    pytest.importorskip("torch")
    import re

    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert code in (root / "docs" / "api_example.py").read_text()
    out = subprocess.run(
        [sys.executable, str(root / "docs" / "api_example.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr
    # The verdict has the shape the docs show.
    first = out.stdout.splitlines()[0]
    assert re.fullmatch(
        r"at 4 mm², 45 nm, batch 1 on lenet5: [\w-]+ wins throughput/area by [\d.]+x"
        r"( and|; [\w-]+ wins) energy efficiency by [\d.]+x over the runner-up",
        first,
    ), first


def test_a_huggingface_folder_is_a_workload_source(tmp_path: Path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
    )
    transformers.BertModel(config).save_pretrained(tmp_path / "tiny-bert")
    loaded = load_any(str(tmp_path / "tiny-bert"), seq_len=8)
    names = [g.name for g in loaded.workload]
    assert any(n.endswith("attention.self.qk") for n in names)
    assert any(n.endswith("attention.self.pv") for n in names)
    assert len([n for n in names if ".layer.0." in n]) == 8
    r = sod.compare(f"hf:{tmp_path / 'tiny-bert'}", seq_len=8, budget_mm2=4, archs=SMALL)
    assert set(r.to_frame().index) == set(SMALL)
