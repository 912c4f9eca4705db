"""Bridges from other tools: Timeloop/Sparseloop problem YAML, SCALE-Sim .cfg, hub names."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from sod.arch.presets import load_arch
from sod.errors import ArchitectureError, WorkloadError
from sod.study.sources import MASKS_DENSITIES, load_any
from sod.workload.gemm import conv2d
from sod.workload.timeloop_yaml import read_problem, read_problems

ALEXNET_CONV1 = """\
problem:
  shape:
    name: CNN-Layer
    dimensions: [C, M, R, S, N, P, Q]
  instance:
    C: 3
    M: 96
    R: 11
    S: 11
    N: 1
    P: 55
    Q: 55
    Hstride: 4
    Wstride: 4
    densities:
      Weights: {distribution: hypergeometric, density: 0.84}
      Inputs: 1.0
"""


def test_timeloop_problem_lowers_like_the_conv(tmp_path: Path):
    path = tmp_path / "conv1.yaml"
    path.write_text(ALEXNET_CONV1)
    (g,) = read_problem(path).gemms
    ref = conv2d("conv1", 227, 227, 3, 96, 11, stride=4)
    assert (g.m, g.k, g.n, g.repeat) == (ref.m, ref.k, ref.n, ref.repeat) == (3025, 363, 96, 1)
    assert g.weight_density == pytest.approx(0.84) and g.act_density == 1.0
    loaded = load_any(str(path))
    assert loaded.masks == MASKS_DENSITIES


def test_a_folder_of_problems_is_a_network(tmp_path: Path):
    (tmp_path / "a_conv1.yaml").write_text(ALEXNET_CONV1)
    (tmp_path / "b_fc.yaml").write_text(
        "problem:\n  instance: {C: 9216, M: 4096, R: 1, S: 1, N: 1, P: 1, Q: 1}\n"
    )
    wl = load_any(str(tmp_path)).workload
    assert [g.name for g in wl] == ["a_conv1", "b_fc"]
    assert wl.gemms[1].k == 9216 and wl.gemms[1].n == 4096 and wl.gemms[1].m == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("layers: []\n", "not a Timeloop problem"),
        ("problem:\n  instance: {M: 4, R: 1, S: 1}\n", "has no 'C'"),
        ("problem:\n  instance: {C: 0, M: 4, R: 1, S: 1}\n", "C must be an integer"),
        ("problem:\n  instance: {C: 2, M: 4, R: 1, S: 1, P: 1e30}\n", "P must be an integer"),
        (
            "problem:\n  instance: {C: 2, M: 4, R: 1, S: 1, densities: {Weights: 1.5}}\n",
            "density of Weights",
        ),
        ("problem: [\n", "not valid YAML"),
    ],
)
def test_bad_problems_are_one_line_errors(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(WorkloadError, match=message):
        read_problems([path])


SCALESIM_CFG = """\
[general]
run_name = eyeriss_like

[architecture_presets]
ArrayHeight:    12
ArrayWidth:     14
IfmapSramSzkB:    108
FilterSramSzkB:   108
OfmapSramSzkB:    108
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: USER
"""


def test_scalesim_cfg_is_an_architecture(tmp_path: Path):
    path = tmp_path / "eyeriss.cfg"
    path.write_text(SCALESIM_CFG)
    arch = load_arch(path)
    assert arch.kind == "dense"
    assert (arch.array_rows, arch.array_cols, str(arch.dataflow)) == (12, 14, "os")
    assert arch.glb_kib == 324 and arch.dram_bandwidth_bytes_per_cycle == 10
    assert not arch.ideal_memory
    calc = tmp_path / "calc.cfg"
    calc.write_text(SCALESIM_CFG.replace("USER", "CALC"))
    assert load_arch(calc).ideal_memory


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[architecture_presets]", "[arch]"), "no \\[architecture_presets\\]"),
        (lambda t: t.replace("ArrayHeight:    12", "ArrayHeight: twelve"), "not a number"),
        (lambda t: t.replace("Dataflow : os", "Dataflow : rs"), "Dataflow 'rs'"),
        (lambda t: t.replace("ArrayWidth:     14", "ArrayWidth: -3"), "must be positive"),
        (lambda t: "no section header\n" + t, "not a valid SCALE-Sim config"),
    ],
)
def test_bad_scalesim_cfg_is_one_line(tmp_path: Path, edit, message):
    path = tmp_path / "bad.cfg"
    path.write_text(edit(SCALESIM_CFG))
    with pytest.raises(ArchitectureError, match=message):
        load_arch(path)


def test_hub_names_resolve_through_the_library(monkeypatch):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)

    def get_model(name, weights=None):
        assert weights is None  # nothing is downloaded
        if name != "tiny":
            raise ValueError(f"unknown model {name}")
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 7, stride=8), torch.nn.Flatten(), torch.nn.Linear(4 * 28 * 28, 5)
        )

    fake = types.ModuleType("torchvision")
    fake.models = types.SimpleNamespace(get_model=get_model)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    wl = load_any("torchvision:tiny").workload
    assert [g.n for g in wl] == [4, 5]
    with pytest.raises(WorkloadError, match="unknown torchvision model"):
        load_any("torchvision:nope")
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(WorkloadError, match="needs timm"):
        load_any("timm:vit_tiny")
