"""`sod compare` and `sod paper` on small networks (the full study runs in CI via the CLI
smoke test only with tiny settings)."""

import json
import subprocess
import sys

import pytest

from sod.study.compare import compare
from sod.study.paper import PaperConfig, crossovers, run_paper
from sod.study.point import sparse_workload

SMALL = PaperConfig(
    budget_mm2=2.5,
    workloads=(
        ("lenet5", "lenet5", "han2015"),
        ("lenet300", "lenet300", "han2015"),
        ("lenet300@90%", "lenet300", "uniform:0.1"),
    ),
    ablation_models=(("lenet5", "han2015"),),
    sweep_model="lenet5",
    sweep_densities=(0.1, 0.5, 1.0),
    pe_ratio_scales=(0.5, 1.0),
    workers=1,
    batch_model=("lenet5", "han2015"),
    batches=(1, 4),
    beyond_workloads=(("lenet300@2:4", "lenet300", "nm:2:4"),),
)


def test_compare_sizes_every_architecture_to_the_budget():
    wl = sparse_workload("lenet5", "han2015", 0)
    result = compare(wl, ["dense", "sparse-on-dense"], budget_mm2=2.5)
    assert set(result.results) == {"dense", "sparse-on-dense"}
    for r in result.results.values():
        assert r.metrics.area_mm2 <= 2.5
        assert r.metrics.gops_per_mm2 > 0 and r.metrics.gops_per_w > 0
    ratios = result.ratios()
    assert ratios["sparse-on-dense"]["gops_per_mm2"] == pytest.approx(1.0)
    # Compressed weights move fewer DRAM bits, so Sparse-on-Dense spends less energy.
    assert ratios["dense"]["energy_per_inference_uj"] > 1.0


@pytest.mark.slow
def test_paper_sections_and_outputs(tmp_path):
    from sod.report.paper import write_outputs

    res = run_paper(SMALL)
    for section in ("main", "ratios", "ablation", "density_sweep", "pe_ratio", "batch"):
        assert section in res.sections
    assert {r["batch"] for r in res.sections["batch"]} == {1, 4}
    b4 = [r for r in res.sections["batch"] if r["batch"] == 4]
    b1 = [r for r in res.sections["batch"] if r["batch"] == 1]
    assert sum(r["macs"] for r in b4) == 4 * sum(r["macs"] for r in b1)
    labels = {"lenet5", "lenet300", "lenet300@90%"}
    assert {r["workload"] for r in res.sections["main"]} == labels
    assert {r["workload"] for r in res.sections["ratios"]} == labels
    # Beyond the paper: every design on its own workloads, with Sparse-on-Dense's ratios.
    assert {r["workload"] for r in res.sections["beyond"]} == {"lenet300@2:4"}
    assert {r["arch"] for r in res.sections["beyond"]} == set(SMALL.archs)
    assert {r["vs"] for r in res.sections["beyond_ratios"]} == set(SMALL.archs) - {
        "sparse-on-dense"
    }
    sod_rows = [r for r in res.sections["main"] if r["arch"] == "sparse-on-dense"]
    assert all(0 < r["decompressor_area_share"] < 0.1 for r in sod_rows)
    variants = {r["variant"] for r in res.sections["ablation"]}
    assert "decompressor before the GLB" in variants and "format bitmap" in variants
    written = write_outputs(res, tmp_path)
    names = {p.name for p in written}
    assert {"report.html", "results.json", "summary.txt", "main.csv"} <= names
    assert any(p.suffix == ".svg" for p in written) and any(p.suffix == ".png" for p in written)
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "lenet5" in html
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["sections"]["main"]


def test_crossover_interpolation():
    rows = []
    for d, sod_v, sp_v in ((0.01, 10.0, 40.0), (0.1, 10.0, 10.0 / 2), (1.0, 10.0, 1.0)):
        rows.append({"arch": "sparse-on-dense", "weight_density": d, "gops_per_mm2": sod_v})
        rows.append({"arch": "x", "weight_density": d, "gops_per_mm2": sp_v})
    (c,) = crossovers(rows)
    assert 0.01 < c["crossover_density"] < 0.1
    assert not c["sod_wins_at_all_densities"]


@pytest.mark.slow
def test_paper_cli_bad_budget():
    out = subprocess.run(
        [sys.executable, "-m", "sod", "paper", "--budget-mm2", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "budget" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_paper_cli_unwritable_output_fails_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = subprocess.run(
        [sys.executable, "-m", "sod", "paper", "--out", str(blocker / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "cannot write to output folder" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_compare_cli_json():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sod",
            "compare",
            "-m",
            "lenet5",
            "--archs",
            "dense,sparse-on-dense",
            "--budget-mm2",
            "2.5",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data["results"]) == {"dense", "sparse-on-dense"}
    assert "ratios_vs_reference" in data


TINY = PaperConfig(
    budget_mm2=2.5,
    archs=("dense", "sparse-on-dense"),
    workloads=(("lenet5", "lenet5", "han2015"), ("lenet300", "lenet300", "uniform:0.1")),
    ablation_models=(("lenet5", "han2015"),),
    sweep_model="lenet300",
    sweep_densities=(0.1, 1.0),
    pe_ratio_scales=(1.0,),
    workers=1,
    batch_model=("lenet300", "han2015"),
    batches=(1,),
    beyond_workloads=(),
)


def test_paper_runs_on_the_sweep_executors():
    from sod.study.executors import InlineExecutor, LocalExecutor

    inline = run_paper(TINY, executor=InlineExecutor())
    steps = []
    local = run_paper(TINY, progress=steps.append, executor=LocalExecutor(2))
    assert local.sections == inline.sections and local.failures == inline.failures
    assert steps and steps[-1].startswith(f"{len(steps)}/{len(steps)} task groups")
    distributed = pytest.importorskip("distributed")
    from sod.study.executors import DaskExecutor

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            dask = run_paper(TINY, executor=executor)
        finally:
            executor.close()
    assert dask.sections == inline.sections


@pytest.mark.slow
def test_sod_paper_takes_workloads_and_reports_progress(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sod",
            "paper",
            "--workload",
            "lenet5",
            "--workload",
            "lenet300",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    main = (tmp_path / "p" / "main.csv").read_text()
    assert "lenet5" in main and "lenet300" in main and "alexnet" not in main
    # Not a terminal: plain progress lines with an ETA, ending at total/total.
    lines = [x for x in out.stderr.splitlines() if "task groups done" in x]
    assert lines and "ETA" in lines[-1]
    done, total = lines[-1].split("] ")[1].split()[0].split("/")
    assert done == total
    assert "Sparse-on-Dense wins against" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "sod", "paper", "--workload", "lenett5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "did you mean 'lenet5'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_robustness_counts_other_networks_once():
    from sod.study.maps import robustness, verdict_rows

    sections = {
        "batch": [
            {
                "workload": "alexnet@batch1",
                "batch": 1,
                "arch": "scnn",
                "sod_advantage_gops_per_mm2": 2.0,
                "sod_advantage_gops_per_w": 0.5,
            }
        ],
        # alexnet is the batch model's own point (counted once, under batch 1)
        "ratios": [
            {"workload": "alexnet", "vs": "scnn", "gops_per_mm2": 2.0, "gops_per_w": 0.5},
            {"workload": "vgg16", "vs": "scnn", "gops_per_mm2": 0.8, "gops_per_w": 3.0},
        ],
        "beyond_ratios": [
            {"workload": "llama", "vs": "scnn", "gops_per_mm2": 4.0, "gops_per_w": 2.0}
        ],
    }
    rows = verdict_rows(sections)
    assert [r["value"] for r in rows if r["axis"] == "network"] == ["vgg16", "llama"]
    (entry,) = robustness(rows)
    assert entry["configurations"] == 3
    assert entry["sod_wins_gops_per_mm2"] == 2 and entry["sod_wins_gops_per_w"] == 2
