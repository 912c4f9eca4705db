"""The example of docs/api.md (tests/api runs it)."""

import torch
from torch.nn.utils import prune

import sod

# 1. A zoo network, every architecture sized to 4 mm² at 45 nm (iso-area).
r = sod.compare("lenet5", budget_mm2=4, archs=["dense", "sparse-on-dense", "index-match"])
print(r.verdict())
# at 4 mm², 45 nm, batch 1 on lenet5: <design> wins throughput/area by <x>x and energy
# efficiency by <y>x over the runner-up   (or "...; <other> wins energy efficiency by ...")
frame = r.to_frame()  # pandas: one row per architecture, metrics + Sparse-on-Dense advantage
print(frame[["pes", "area_mm2", "gops_per_mm2", "gops_per_w"]])

# 2. Your own pruned PyTorch network (needs the torch extra).
net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
prune.l1_unstructured(net[0], "weight", amount=0.8)
r = sod.compare(net, torch.randn(4, 64), budget_mm2=4)
print(r.verdict())

# 3. One architecture, with spec overrides; per-layer counts as a DataFrame.
point = sod.run("lenet300", arch="dense", array_rows=16, array_cols=16)
print(point.metrics.cycles, point.metrics.gops_per_w)
print(point.to_frame()[["m", "k", "n", "cycles", "utilization"]])
