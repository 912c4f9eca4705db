"""Iso-area sizing: the largest configuration of an architecture that fits a budget.

Given a :class:`~sod.cost.area.ChipDescription` (an architecture's design describes it:
:func:`sod.designs.size_for_budget`) and a budget in mm², the solver evaluates every
candidate size at once (numpy) and keeps the
one with the most PEs that fits: for a 2-D array, rows R = 1, 2, ... with
cols = ⌊aspect·R⌋ or one more (so a square array also tries R×(R+1)); for a 1-D grid, the
tile count. The GLB follows the buffer rule. The answer reports the
leftover area, which is below one more step of the array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sod.cost.area import (
    ChipArea,
    ChipDescription,
    chip_area,
    chip_area_arrays,
    glb_bytes_for,
)
from sod.cost.errors import CostError
from sod.tech import Technology


@dataclass(frozen=True)
class Sizing:
    """The largest configuration within ``budget_mm2``."""

    kind: str
    budget_mm2: float
    rows: int
    cols: int
    pes: int
    glb_bytes: float
    area: ChipArea
    arch: Any = None  # the resized architecture spec, when sized from one

    @property
    def leftover_um2(self) -> float:
        return self.budget_mm2 * 1e6 - self.area.total_um2

    @property
    def leftover_mm2(self) -> float:
        return self.leftover_um2 / 1e6


def check_budget(budget_mm2: float) -> float:
    if not isinstance(budget_mm2, int | float) or not math.isfinite(budget_mm2) or budget_mm2 <= 0:
        raise CostError(f"area budget must be a positive number of mm², got {budget_mm2}")
    return float(budget_mm2)


def size_description(desc: ChipDescription, tech: Technology, budget_mm2: float) -> Sizing:
    """Largest array of ``desc`` (with its GLB, edge units and fixed area) within budget."""
    budget_um2 = check_budget(budget_mm2) * 1e6
    if desc.grid == "1d":
        hi = max(int(budget_um2 // desc.tile_area_um2), 1)
        rows = np.arange(1, hi + 1, dtype=np.int64)
        cols = np.ones_like(rows)
    else:
        # cols = floor(aspect·R) and one more, so a square array can grow R×R → R×(R+1).
        hi = max(int(math.sqrt(budget_um2 / (desc.tile_area_um2 * desc.aspect))) + 2, 1)
        r = np.arange(1, hi + 1, dtype=np.int64)
        base = np.maximum(np.floor(desc.aspect * r + 1e-9).astype(np.int64), 1)
        rows = np.concatenate([r, r])
        cols = np.concatenate([base, base + 1])
    pes = rows * cols * desc.pes_per_tile
    glb = glb_bytes_for(desc, tech, pes, budget_um2)
    if desc.glb.share is not None and desc.glb.share > 0 and glb[0] == 0:
        raise CostError(
            f"GLB share {desc.glb.share} of {budget_mm2} mm² cannot hold even "
            f"{desc.glb.granule_bytes} bytes"
        )
    parts, _, _ = chip_area_arrays(desc, tech, rows, cols, glb)
    total = np.sum(list(parts.values()), axis=0)
    fits = np.nonzero(total <= budget_um2)[0]
    if fits.size == 0:
        need = float(np.min(total)) / 1e6
        raise CostError(
            f"area budget {budget_mm2} mm² is too small for one {desc.tile} of "
            f"{desc.kind} (needs {need:.4g} mm² with its buffer and overheads)"
        )
    # Most PEs; among equals, the smallest area.
    order = np.lexsort((total[fits], -pes[fits]))
    best = int(fits[order[0]])
    best_rows, best_cols = int(rows[best]), int(cols[best])
    area = chip_area(desc, tech, best_rows, best_cols, float(glb[best]))
    return Sizing(
        desc.kind, float(budget_mm2), best_rows, best_cols, area.pes, float(glb[best]), area
    )
