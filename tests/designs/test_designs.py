"""The registry of designs: one place per architecture kind, one typed result path."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sod.arch.presets import ARCH_KINDS, PRESET_NAMES, load_arch
from sod.cost.energy import energy
from sod.designs import DESIGNS, arch_area, design_of, energy_table_for, size_for_budget
from sod.errors import ArchitectureError
from sod.models.common import sum_counts
from sod.models.dense import best_dataflow, evaluate_dense
from sod.models.sparse_on_dense import evaluate as evaluate_systolic
from sod.study.point import evaluate_run
from sod.workload.zoo import get_model

SRC = Path(__file__).resolve().parents[2] / "src" / "sod"


def test_every_spec_kind_has_exactly_its_design():
    assert set(DESIGNS) == set(ARCH_KINDS)
    for kind, design in DESIGNS.items():
        assert design.kind == kind
        assert design.spec is ARCH_KINDS[kind]


def test_unknown_kind_is_a_one_line_error():
    with pytest.raises(ArchitectureError, match="no design"):
        design_of("systolic_magic")


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_resize_sets_exactly_the_grid_axes(preset):
    arch = load_arch(preset)
    design = design_of(arch)
    rows, cols = design.shape(arch)
    bigger = design.resized(arch, rows + 1, cols + 1 if design.grid.cols else 1)
    assert design.shape(bigger) == (rows + 1, cols + 1 if design.grid.cols else 1)
    assert bigger.pe_count > arch.pe_count
    sized = size_for_budget(arch, 4.0)
    assert design.shape(sized.arch) == (sized.rows, sized.cols)
    assert arch_area(sized.arch).total_um2 == pytest.approx(sized.area.total_um2, rel=1e-9)


KIND_NAMES = {"dense", "sparse_on_dense", "scnn", "sparten", "index_match"}


def _kind_switches(path: Path) -> list[int]:
    """Lines comparing something named ``kind`` with a kind name, or isinstance checks on
    an architecture spec class."""
    tree = ast.parse(path.read_text())
    spec_classes = {"SCNNArch", "SparTenArch", "IndexMatchArch", "SparseOnDenseArch"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = [node.left, *node.comparators]
            consts = {
                c.value
                for n in names
                for c in ast.walk(n)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
            touches_kind = any(
                (isinstance(n, ast.Attribute) and n.attr == "kind")
                or (isinstance(n, ast.Name) and n.id == "kind")
                for n in names
            )
            if touches_kind and consts & KIND_NAMES:
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} & spec_classes
        ):
            lines.append(node.lineno)
    return lines


def test_no_switch_on_the_kind_outside_the_designs():
    offenders = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(("designs/", "arch/")):
            continue
        if lines := _kind_switches(path):
            offenders[rel] = lines
    # The systolic model serves two kinds (dense = Sparse-on-Dense with nothing
    # compressed) and reads the Sparse-on-Dense options off its spec.
    offenders.pop("models/sparse_on_dense.py", None)
    offenders.pop("models/systolic_options.py", None)
    assert offenders == {}


def test_dense_run_prices_every_action_like_the_model_alone():
    """Regression (issue 10): ``sod run --ideal-memory`` on the dense array priced leakage
    only. The study path must give the energy of the model's own counts, priced directly."""
    workload = get_model("lenet5")
    arch = load_arch("dense", ideal_memory=True)
    point = evaluate_run(workload, arch)
    direct = sum_counts([evaluate_systolic(g, arch) for g in workload], arch.pe_count)
    seconds = direct.cycles / (arch.frequency_mhz * 1e6)
    want = energy(
        direct.actions,
        energy_table_for(arch),
        time_s=seconds,
        leakage_mw=arch_area(arch).leakage_mw,
    )
    assert float(point.energy.total_pj) == pytest.approx(float(want.total_pj), rel=1e-3)
    for component in ("pe_array", "glb", "dram"):
        assert point.energy_by_component_pj[component] > 0
    assert point.energy.by_action["mac"] > 0 and point.energy.by_action["pe_reg_bits.act"] > 0
    assert point.metrics.leakage_share < 0.5
    # Ideal memory: the cycles are the closed form, layer by layer, in each layer's
    # dataflow (dataflow: auto picks the fastest) under the arch's timing.
    s = workload.shapes()
    R, C = arch.array_rows, arch.array_cols
    dfs = best_dataflow(s["m"], s["k"], s["n"], R, C, arch.timing)
    closed = [
        int(evaluate_dense(m, k, n, R, C, df, arch.timing).compute_cycles[0]) * rep
        for m, k, n, rep, df in zip(s["m"], s["k"], s["n"], s["repeat"], dfs, strict=True)
    ]
    assert [x.counts.cycles for x in point.run.layers] == closed


def test_metrics_are_frozen_and_computed_once():
    point = evaluate_run(get_model("lenet300"), load_arch("sparse-on-dense"), 4.0)
    m = point.metrics
    with pytest.raises(AttributeError):
        m.cycles = 1  # type: ignore[misc]
    row = m.to_row()
    assert row["gops_per_mm2"] == pytest.approx(row["effective_gops"] / row["area_mm2"])
    assert row["effective_gops"] == pytest.approx(2 * row["macs"] / (row["latency_ms"] / 1e3) / 1e9)
    assert row["decompressor_area_share"] > 0
    dense = evaluate_run(get_model("lenet300"), load_arch("dense"), 4.0).metrics.to_row()
    assert "decompressor_area_share" not in dense


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_dram_holds_feature_maps_not_im2col(preset):
    """Issue 11 item 3: a convolution's activations are stored and moved as its input
    feature map; the im2col'd A exists only at the array edge."""
    from sod.designs import evaluate
    from sod.workload.gemm import Gemm, conv2d

    conv = conv2d("conv", 16, 16, 8, 16, 3, padding=1)  # im2col: 256 x 72, fmap 16x16x8
    assert conv.act_storage_ratio == pytest.approx(16 * 16 * 8 / (256 * 72))
    fc = Gemm("fc", 4, 72, 16)
    assert fc.act_storage_ratio == 1.0
    for ideal in (True, False):
        arch = load_arch(preset, ideal_memory=ideal)
        dram = evaluate(conv, arch).action("dram_read_bits.act")
        # The same work as a plain GEMM of the im2col'd matrix reads 9x more activations.
        flat = evaluate(Gemm("conv", conv.m, conv.k, conv.n), arch).action("dram_read_bits.act")
        assert dram == pytest.approx(flat * conv.act_storage_ratio, rel=0.02)
