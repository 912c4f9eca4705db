"""The analytic dense model equals SCALE-Sim v3.0.0's COMPUTE_REPORT cycle for cycle.

Reference reports were produced by ``tools/scalesim_reference.py`` (SCALE-Sim 3.0.0 in its
own venv, ideal memory) and are committed under ``src/sod/reference/data/scalesim/<case>/ (package data: ``sod validate`` reads them)``.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sod.models.dense import evaluate_dense
from sod.workload.topology_csv import read_topology

DATA = Path(__file__).parents[2] / "src" / "sod" / "reference" / "data" / "scalesim"
CASES = sorted(p for p in DATA.iterdir() if (p / "COMPUTE_REPORT.csv").exists())


def load_report(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0] if h.strip()]
    return [
        dict(zip(header, (float(x) for x in r if x.strip()), strict=True))
        for r in rows[1:]
        if any(c.strip() for c in r)
    ]


def test_reference_data_covers_the_required_space():
    cases = [json.loads((c / "case.json").read_text()) for c in CASES]
    shapes = {(c["array_rows"], c["array_cols"]) for c in cases}
    assert {c["dataflow"] for c in cases} == {"ws", "os", "is"}
    assert len(shapes) >= 3 and any(r != c for r, c in shapes)
    assert {c["topology_format"] for c in cases} == {"conv", "gemm"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_compute_cycles_equal_scalesim(case):
    meta = json.loads((case / "case.json").read_text())
    workload = read_topology(
        case / "topology.csv", fmt=meta["topology_format"], scalesim_ofmap=True
    )
    report = load_report(case / "COMPUTE_REPORT.csv")
    # SCALE-Sim splits depthwise (DP) layers into one layer per channel.
    gemms = [g for g in workload for _ in range(g.repeat)]
    assert len(gemms) == len(report)
    shapes = np.array([(g.m, g.k, g.n) for g in gemms])
    counts = evaluate_dense(
        shapes[:, 0],
        shapes[:, 1],
        shapes[:, 2],
        meta["array_rows"],
        meta["array_cols"],
        meta["dataflow"],
        timing="scalesim",
    )
    expected = np.array([r["Total Cycles"] for r in report], dtype=np.int64)
    assert [r["Stall Cycles"] for r in report] == [0] * len(report)
    np.testing.assert_array_equal(counts.compute_cycles, expected)
    np.testing.assert_allclose(
        counts.mapping_efficiency * 100, [r["Mapping Efficiency %"] for r in report], rtol=1e-9
    )
    np.testing.assert_allclose(
        counts.utilization * 100, [r["Overall Util %"] for r in report], rtol=1e-9
    )
