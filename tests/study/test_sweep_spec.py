"""Sweep specs: validation (one-line errors naming the field), grid expansion, point keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import SodError
from sod.study.spec import (
    SweepError,
    code_fingerprint,
    expand,
    load_sweep,
    parse_spec,
)
from sod.study.sweep import plan_tasks


def error_of(make_spec, **fields) -> str:
    with pytest.raises(SweepError) as info:
        load_sweep(make_spec(**fields))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_grid_size_and_order(make_spec):
    sweep = load_sweep(make_spec(seeds=[0, 1], nodes_nm=[45, 22]))
    assert len(sweep.points) == 2 * 2 * 2 * 2 * 2 * 2
    first = sweep.points[0].config
    assert first == {
        "model": "lenet300",
        "batch": 1,
        "seq_len": None,
        "sparsity": "uniform:0.3",
        "seed": 0,
        "arch": "dense",
        "budget_mm2": 2.0,
        "node_nm": 45,
    }
    assert len({p.key for p in sweep.points}) == len(sweep.points)
    assert sweep.db_path == make_spec(seeds=[0, 1], nodes_nm=[45, 22]).with_suffix(".sqlite")


def test_defaults_and_scalar_shorthand(make_spec):
    sweep = load_sweep(
        make_spec(
            drop=("sparsity", "budgets_mm2"), workloads="lenet5", architectures="dense", seeds=3
        )
    )
    assert len(sweep.points) == 1
    c = sweep.points[0].config
    assert (c["sparsity"], c["budget_mm2"], c["seed"], c["node_nm"]) == ("dense", None, 3, 45)


def test_duplicates_are_removed_and_aliases_canonical(make_spec):
    sweep = load_sweep(make_spec(workloads=["lenet5", "lenet-5", {"model": "LeNet5"}]))
    assert len(sweep.points) == 8 and sweep.duplicates == 16


def test_transformer_seq_len_is_explicit(make_spec):
    sweep = load_sweep(
        make_spec(
            workloads=["bert-base", {"model": "bert-base", "seq_len": 64}],
            sparsity=["bert:0.3"],
            architectures=["dense"],
            budgets_mm2=[4.0],
        )
    )
    assert [p.config["seq_len"] for p in sweep.points] == [128, 64]


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"budget": [1.0]}, ["'budget'", "unknown key"]),
        (
            {"workloads": [{"model": "lenet5", "batchsize": 2}]},
            ["workloads[0].batchsize", "unknown key"],
        ),
        ({"budgets_mm2": ["big"]}, ["budgets_mm2[0]"]),
        ({"budgets_mm2": [-1.0]}, ["budgets_mm2[0]", "greater than 0"]),
        ({"seeds": [1.5]}, ["seeds[0]"]),
        ({"seeds": ["1"]}, ["seeds[0]"]),
        ({"workloads": [{"model": "lenet5", "batch": 0}]}, ["workloads[0].batch"]),
        ({"architectures": []}, ["'architectures'", "empty"]),
        ({"sparsity": []}, ["'sparsity'", "empty"]),
        ({"workloads": []}, ["'workloads'", "empty"]),
        ({"nodes_nm": [65]}, ["nodes_nm", "65 nm is not a supported node"]),
        ({"version_policy": "never"}, ["version_policy"]),
        ({"workloads": ["resnet9000"]}, ["workloads[0]", "unknown model"]),
        ({"workloads": [{"model": "lenet5", "seq_len": 64}]}, ["workloads[0]", "transformers"]),
        ({"architectures": ["dense", "nope.yaml"]}, ["architectures[1]", "nope.yaml"]),
        ({"sparsity": ["uniform:0.3", "bogus:1"]}, ["sparsity[1]"]),
    ],
)
def test_bad_specs_name_the_field(make_spec, fields, names):
    message = error_of(make_spec, **fields)
    for name in names:
        assert name in message, message


def test_missing_required_axis(make_spec):
    message = error_of(make_spec, drop=("architectures",))
    assert "'architectures'" in message and "required" in message.lower()


def test_not_a_mapping_and_bad_yaml(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(SweepError, match="expected a mapping"):
        load_sweep(bad)
    bad.write_text("workloads: [lenet5\narchitectures: dense\n")
    with pytest.raises(SweepError, match="not valid YAML"):
        load_sweep(bad)
    with pytest.raises(SweepError, match="no such sweep spec"):
        load_sweep(tmp_path / "missing.yaml")
    assert issubclass(SweepError, SodError)


def test_arch_file_relative_to_spec_and_key_follows_its_content(make_spec, tmp_path):
    arch = yaml.safe_load(
        (Path(__file__).parents[2] / "src/sod/arch/presets/sparse-on-dense.yaml").read_text()
    )
    arch_path = tmp_path / "my-sod.yaml"
    arch_path.write_text(yaml.safe_dump(arch))
    spec = make_spec(architectures=["my-sod.yaml"], version_policy="release")
    first = load_sweep(spec)
    assert first.points[0].arch_ref == str(arch_path.resolve())
    assert first.points[0].config["arch"] == "my-sod.yaml"
    again = load_sweep(spec)
    assert [p.key for p in again.points] == [p.key for p in first.points]
    arch_path.write_text(yaml.safe_dump({**arch, "weight_format": "bitmap"}))
    changed = load_sweep(spec)
    assert not {p.key for p in changed.points} & {p.key for p in first.points}


def test_key_depends_on_model_version_but_point_id_does_not(make_spec):
    spec = parse_spec(yaml.safe_load(make_spec().read_text()))
    a, _ = expand(spec, Path("."), version="1")
    b, _ = expand(spec, Path("."), version="2")
    assert [p.point_id for p in a] == [p.point_id for p in b]
    assert not {p.key for p in a} & {p.key for p in b}


def test_default_policy_is_code(make_spec):
    import sod

    spec = make_spec(drop=("version_policy",))
    assert load_sweep(spec).model_version == f"{sod.__version__}+{code_fingerprint()}"
    assert load_sweep(make_spec(version_policy="release")).model_version == sod.__version__


def test_code_fingerprint_tracks_model_files_only(tmp_path: Path):
    root = tmp_path / "sod"
    for rel in (
        "models/dense.py",
        "tech/data/t.yaml",
        "cli/run.py",
        "report/x.py",
        "study/point.py",
        "study/sweep.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n")
    base = code_fingerprint(root)
    for rel in ("cli/run.py", "report/x.py", "study/sweep.py"):
        (root / rel).write_text("x = 2\n")
        assert code_fingerprint(root) == base, rel
    for rel in ("models/dense.py", "tech/data/t.yaml", "study/point.py"):
        (root / rel).write_text((root / rel).read_text() + "# changed\n")
        new = code_fingerprint(root)
        assert new != base, rel
        base = new


def test_plan_groups_points_by_workload(make_spec):
    sweep = load_sweep(make_spec(architectures=["dense", "sparse-on-dense"], seeds=[0, 1]))
    tasks = plan_tasks(sweep.points, slots=2)
    assert len(tasks) == 2 * 2 * 2  # models x sparsities x seeds
    for task in tasks:
        groups = {
            (it["point"]["model"], it["point"]["sparsity"], it["point"]["seed"])
            for it in task.items
        }
        assert len(groups) == 1
    assert sum(len(t.items) for t in tasks) == len(sweep.points)
    assert [t.cost for t in tasks] == sorted((t.cost for t in tasks), reverse=True)
    # one group (4 points) but two slots: split so that every slot has work
    one = [p for p in sweep.points if p.group == sweep.points[0].group]
    assert len(one) == 4
    assert sorted(len(t.items) for t in plan_tasks(one, slots=2)) == [2, 2]
    assert len(plan_tasks(one, slots=1)) == 1
    assert sorted(len(t.items) for t in plan_tasks(one, slots=1, max_chunk=3)) == [2, 2]


def test_per_workload_sparsity_replaces_the_axis(make_spec):
    sweep = load_sweep(
        make_spec(
            workloads=[{"model": "lenet5", "sparsity": "nm:2:4"}, "lenet300"],
            sparsity=["uniform:0.3", "uniform:0.1"],
        )
    )
    pairs = {(p.config["model"], p.config["sparsity"]) for p in sweep.points}
    assert pairs == {("lenet5", "nm:2:4"), ("lenet300", "uniform:0.3"), ("lenet300", "uniform:0.1")}
    assert len(sweep.points) == 3 * 2 * 2 and sweep.duplicates == 0
    message = error_of(make_spec, workloads=[{"model": "lenet5", "sparsity": ["nm:2:4", "x:1"]}])
    assert "workloads[0].sparsity[1]" in message
    message = error_of(make_spec, workloads=[{"model": "lenet5", "sparsity": []}])
    assert "workloads[0].sparsity" in message and "empty" in message


@pytest.mark.parametrize(
    "example",
    sorted((Path(__file__).parents[2] / "examples").glob("sweep-*.yaml")),
    ids=lambda p: p.name,
)
def test_examples_are_valid(example):
    sweep = load_sweep(example)
    assert sweep.points and sweep.duplicates == 0


@settings(max_examples=25, deadline=None)
@given(
    budgets=st.lists(st.sampled_from([None, 1.0, 2.0, 4.5]), min_size=1, max_size=4),
    nodes=st.lists(st.sampled_from([None, 45, 22, 7]), min_size=1, max_size=3),
    seeds=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    archs=st.lists(st.sampled_from(["dense", "sparse-on-dense"]), min_size=1, max_size=2),
)
def test_grid_is_the_product_and_keys_do_not_depend_on_order(budgets, nodes, seeds, archs):
    base = {
        "workloads": ["lenet300"],
        "sparsity": ["uniform:0.3"],
        "architectures": archs,
        "budgets_mm2": budgets,
        "nodes_nm": nodes,
        "seeds": seeds,
    }
    points, dups = expand(parse_spec(base), Path("."), version="v")
    # node None means the architecture's own (45 nm): the same point as 45
    distinct_nodes = len({45 if n is None else n for n in nodes})
    assert len(points) == (len(set(archs)) * len(set(budgets)) * distinct_nodes * len(set(seeds)))
    assert len(points) + dups == len(archs) * len(budgets) * len(nodes) * len(seeds)
    shuffled = {**base, **{k: list(reversed(v)) for k, v in base.items()}}
    again, _ = expand(parse_spec(shuffled), Path("."), version="v")
    assert {p.key for p in again} == {p.key for p in points}


def test_act_images_joins_the_point_only_when_set(make_spec):
    """``act_images`` in a workload entry reaches the point, its group and its key; a spec
    without it keeps the keys points had before the field existed."""
    plain = load_sweep(make_spec(workloads=[{"model": "lenet5", "batch": 32}]))
    assert "act_images" not in plain.points[0].config
    assert plain.points[0].group[-1] is None
    capped = load_sweep(make_spec(workloads=[{"model": "lenet5", "batch": 32, "act_images": 4}]))
    assert capped.points[0].config["act_images"] == 4
    assert capped.points[0].group[-1] == 4
    assert {p.key for p in plain.points}.isdisjoint(p.key for p in capped.points)
    message = error_of(make_spec, workloads=[{"model": "lenet5", "act_images": 0}])
    assert "act_images" in message


def test_act_images_reaches_the_evaluation():
    """A point's ``act_images`` decides how many activation patterns its workload draws."""
    from sod.study.point import evaluate_point, sparse_workload

    fc = sparse_workload("lenet5", "uniform:0.5", 0, 8, None, 2).gemms[-1]
    assert getattr(fc.act_mask, "period_rows", None) == 2
    base = {"model": "lenet5", "sparsity": "uniform:0.5", "seed": 0, "batch": 8, "arch": "sparten"}
    default = evaluate_point(base)
    assert evaluate_point({**base, "act_images": 8}) == default  # 8 images: all drawn anyway
    assert evaluate_point({**base, "act_images": 2})["cycles"] != default["cycles"]
