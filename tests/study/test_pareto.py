"""Pareto fronts: the vectorized mask against brute force; the figure files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.report.pareto import front_summary, pareto_figure, pareto_mask


def brute_force(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x), dtype=bool)
    for i in range(len(x)):
        if not ok[i]:
            continue
        dominated = any(
            ok[j] and x[j] >= x[i] and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i])
            for j in range(len(x))
        )
        out[i] = not dominated
    return out


values = st.one_of(
    st.integers(0, 6).map(float), st.just(float("nan")), st.floats(0, 10, allow_nan=False)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=30))
def test_mask_equals_brute_force(points):
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    assert np.array_equal(pareto_mask(x, y), brute_force(x, y))


def test_mask_examples():
    x = np.array([1.0, 2.0, 3.0, 2.0, 3.0, 0.5])
    y = np.array([5.0, 4.0, 1.0, 3.0, 1.0, 5.0])
    # (3,1) twice: duplicates both optimal; (2,3) dominated by (2,4); (0.5,5) by (1,5)
    assert pareto_mask(x, y).tolist() == [True, True, True, False, True, False]


def rows():
    out = []
    rng = np.random.default_rng(1)
    for model in ("lenet5", "bert-base"):
        for arch in ("dense", "sparse-on-dense"):
            for _ in range(6):
                out.append(
                    {
                        "model": model,
                        "arch": arch,
                        "status": "ok",
                        "seq_len": 128 if model == "bert-base" else None,
                        "gops_per_w": float(rng.uniform(10, 100)),
                        "gops_per_mm2": float(rng.uniform(1, 50)),
                    }
                )
    out.append({"model": "lenet5", "arch": "scnn", "status": "failed"})
    return out


def test_front_summary_counts():
    summary = front_summary(rows())
    assert [(s["workload"], s["arch"]) for s in summary] == [
        ("lenet5", "dense"),
        ("lenet5", "sparse-on-dense"),
        ("bert-base seq 128", "dense"),
        ("bert-base seq 128", "sparse-on-dense"),
    ]
    data = rows()
    for s in summary:
        sel = [
            r
            for r in data
            if r.get("arch") == s["arch"]
            and r["status"] == "ok"
            and r["model"] == s["workload"].split()[0]
        ]
        assert s["points"] == 6
        assert s["pareto_points"] == int(
            pareto_mask([r["gops_per_w"] for r in sel], [r["gops_per_mm2"] for r in sel]).sum()
        )
        assert s["best_gops_per_w"] == max(r["gops_per_w"] for r in sel)
    for model in ("lenet5", "bert-base seq 128"):
        both = [r for r in summary if r["workload"] == model]
        ok = [r for r in data if r["status"] == "ok" and r["model"] == model.split()[0]]
        assert sum(s["on_overall_front"] for s in both) == int(
            pareto_mask([r["gops_per_w"] for r in ok], [r["gops_per_mm2"] for r in ok]).sum()
        )


def test_figure_files(tmp_path: Path):
    paths = pareto_figure(rows(), tmp_path / "fig" / "front", title="t")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text()
    assert "<svg" in svg and "sparse-on-dense" in svg and "bert-base seq 128" in svg
