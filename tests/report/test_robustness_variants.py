"""The robustness statement counts verdicts against other designs, not against
Sparse-on-Dense's own variants (its reordering)."""

from sod.report.findings import robustness
from sod.study.paper import PaperConfig, PaperResults


def _ratio(workload: str, vs: str, adv: float) -> dict:
    return {"workload": workload, "vs": vs, "gops_per_mm2": adv, "gops_per_w": adv}


def test_variants_are_not_counted_as_rivals():
    cfg = PaperConfig(variants=("sparse-on-dense-reorder",))
    res = PaperResults(
        cfg,
        sections={
            "ratios": [
                _ratio("alexnet", "scnn", 3.0),
                _ratio("vgg16", "scnn", 0.5),
                _ratio("alexnet", "sparse-on-dense-reorder", 0.97),
            ]
        },
    )
    rows = {r["arch"]: r for r in robustness(res)}
    assert set(rows) == {"scnn"}
    assert rows["scnn"]["SoD wins, throughput/area"] == "1 of 2"
