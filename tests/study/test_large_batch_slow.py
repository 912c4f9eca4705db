"""ResNet-50 at batch 1024 (issue 13): passes the 4 GB mask budget and runs, in its own
process, under 4 GB of peak RSS on Sparse-on-Dense (batch as a repeat,
docs/large-batch.md). ``benchmarks/bench_large_batch.py`` measures every preset."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

CHILD = r"""
import json, resource
from sod.arch.presets import load_arch
from sod.study.run import run_arch
from sod.study.sources import load_any
from sod.workload.budget import check_mask_memory
from sod.workload.mask import TiledMask

wl = load_any("resnet50", batch=1024, sparsity="auto", max_memory_gb=4.0).workload
need = check_mask_memory(wl.gemms, 4.0, "resnet50", 1024)
tiled = [g for g in wl if isinstance(g.act_mask, TiledMask)]
periods = {g.act_mask.period_rows * 1024 // g.m for g in tiled}
run = run_arch(wl, load_arch("sparse-on-dense"))
t = run.total
print(json.dumps({
    "need": need, "tiled": len(tiled), "periods": sorted(periods), "macs": wl.macs,
    "dense": t.macs_dense, "issued": t.macs_issued, "effectual": t.macs_effectual,
    "cycles": t.cycles, "pes": t.pe_count,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def test_resnet50_batch_1024_runs_within_4_gb():
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["need"] < 4e9
    assert out["tiled"] > 40 and out["periods"] == [16]  # 16 images repeated 64 times
    assert out["dense"] == out["macs"]
    assert 0 < out["effectual"] <= min(out["issued"], out["dense"])
    assert out["issued"] <= out["cycles"] * out["pes"]  # utilization at most 1
    assert out["rss_mb"] < 4096
