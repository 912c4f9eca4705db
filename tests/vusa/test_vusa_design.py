"""VUSA as a design: zoo networks, iso-area sizing, area, GLB bandwidth, CLI errors."""

import pytest

from sod.arch.presets import load_arch
from sod.cli import main
from sod.cost import compose, pe_area
from sod.designs import design_of, size_for_budget
from sod.designs.costing import arch_area
from sod.study.point import evaluate_run, sparse_workload
from sod.tech import load_technology

HAN = ("lenet300", "lenet5", "alexnet", "vgg16")  # the networks Han et al. 2015 covers
ZOO = (*HAN, "resnet50", "mobilenetv2", "bert-base", "bert-large", "gpt2", "llama2-7b")
QUICK = ("lenet300", "lenet5", "alexnet")


def _params(model, sparsity):
    marks = () if model in QUICK else (pytest.mark.slow,)
    return pytest.param(model, sparsity, marks=marks)


@pytest.mark.parametrize(
    ("model", "sparsity"),
    [_params(m, "han2015") for m in HAN] + [_params(m, "uniform:0.3") for m in ZOO],
)
def test_zoo_networks_evaluate(model, sparsity):
    arch = load_arch("vusa")
    run = evaluate_run(sparse_workload(model, sparsity, 0), arch)
    m = run.metrics.to_row()
    assert m["cycles"] > 0 and m["gops_per_w"] > 0
    assert 0 < m["effective_utilization"] <= 1
    # Never slower than the plain array of its physical MACs (dense weights reach it).
    dense = load_arch("dense", array_rows=arch.array_rows, array_cols=arch.array_cols)
    dense = dense.model_copy(update={"dataflow": "ws"})
    base = evaluate_run(sparse_workload(model, sparsity, 0), dense)
    assert run.run.total.compute_cycles <= base.run.total.compute_cycles


def test_iso_area_sizing_and_area():
    arch = load_arch("vusa")
    sized = size_for_budget(arch, 4.0)
    assert sized.area.total_mm2 <= 4.0 and sized.arch.pe_count == sized.pes
    tech = load_technology(45)
    window = pe_area(tech, "vusa_kwindow", slots=5, macs=3)
    assert window.source.startswith("synth")
    assert arch_area(arch).parts_um2["pe_array"] == pytest.approx(
        window.area_um2 / 3 * arch.pe_count
    )
    # The composition (fallback for unsynthesized V, M) stays near the synthesized window.
    for kind in ("vusa_kwindow", "vusa_nwindow"):
        for v, m in ((5, 3), (4, 2), (8, 4)):
            synth = pe_area(tech, kind, slots=v, macs=m).cell_area_um2
            comp = compose(tech, kind, slots=v, macs=m).cell_area_um2
            assert abs(comp / synth - 1) < 0.15
    # A window serving V PEs with M < V MACs is smaller than V dense PEs.
    dense_pe = pe_area(tech, "dense_mac_pe").area_um2
    assert window.area_um2 < 5 * dense_pe


def test_glb_bandwidth_follows_the_virtual_edge():
    k = load_arch("vusa")
    n = k.model_copy(update={"window_axis": "n", "array_rows": 32, "array_cols": 30})
    design = design_of(k)
    assert design.glb_bandwidth_bits_per_cycle(k) == 50 * 8 + 32 * (8 + 3)
    assert design.glb_bandwidth_bits_per_cycle(n) == 32 * 8 + 30 * (8 + 3)
    plain = load_arch("dense", array_rows=30, array_cols=32)
    assert design.glb_bandwidth_bits_per_cycle(k) > design_of(plain).glb_bandwidth_bits_per_cycle(
        plain
    )


def _sod(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bad_field_is_one_line_exit_2(capsys):
    code, _, err = _sod(capsys, "run", "-m", "lenet300", "--arch", "vusa", "--dataflow", "os")
    assert code == 2 and "weight stationary" in err
    assert len(err.strip().splitlines()) == 1


def test_compare_cli(capsys):
    code, out, _ = _sod(
        capsys, "compare", "-m", "lenet5", "-s", "uniform:0.3", "--archs", "dense,vusa"
    )
    assert code == 0 and "vusa" in out
