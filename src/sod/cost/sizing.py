"""Iso-area sizing: the largest configuration of an architecture that fits a budget.

Given a :class:`~sod.cost.area.ChipDescription` (or any :mod:`sod.arch` architecture) and
a budget in mm², the solver evaluates every candidate size at once (numpy) and keeps the
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
    BufferRule,
    ChipArea,
    ChipDescription,
    _arch_shape,
    chip_area,
    chip_area_arrays,
    describe,
    glb_bytes_for,
)
from sod.cost.errors import CostError
from sod.limits import MAX_BUDGET_MM2
from sod.tech import Technology, load_technology


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
    if budget_mm2 > MAX_BUDGET_MM2:
        raise CostError(f"area budget {budget_mm2:g} mm² is above {MAX_BUDGET_MM2:g} mm²")
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
    total = sum(parts.values())
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
    r, c = int(rows[best]), int(cols[best])
    area = chip_area(desc, tech, r, c, float(glb[best]))
    return Sizing(desc.kind, float(budget_mm2), r, c, area.pes, float(glb[best]), area)


def size_for_budget(
    arch: Any,
    budget_mm2: float,
    glb: BufferRule | None = None,
    tech: Technology | None = None,
    pe_source: str = "synth",
    fixed_um2: float = 0.0,
) -> Sizing:
    """Largest version of architecture ``arch`` within ``budget_mm2``.

    ``glb`` is the buffer rule (default: keep the architecture's GLB capacity). The
    result's ``arch`` is ``arch`` resized (array rows/cols, PE grid or clusters, and GLB).
    """
    check_budget(budget_mm2)
    tech = tech or load_technology(getattr(arch, "node_nm", 45))
    desc = describe(arch, tech, glb=glb, pe_source=pe_source, fixed_um2=fixed_um2)
    if desc.grid == "2d" and glb is None:
        rows, cols = _arch_shape(arch)
        desc = desc.model_copy(update={"aspect": cols / rows})
    sizing = size_description(desc, tech, budget_mm2)
    update: dict[str, Any] = {"glb_kib": sizing.glb_bytes / 1024}
    kind = arch.kind
    if kind in ("dense", "sparse_on_dense"):
        update |= {"array_rows": sizing.rows, "array_cols": sizing.cols}
    elif kind in ("scnn", "index_match"):
        update |= {"pe_rows": sizing.rows, "pe_cols": sizing.cols}
    elif kind == "sparten":
        update |= {"clusters": sizing.rows}
    if sizing.glb_bytes <= 0:
        update.pop("glb_kib")
    resized = arch.model_copy(update=update)
    return Sizing(
        sizing.kind,
        sizing.budget_mm2,
        sizing.rows,
        sizing.cols,
        sizing.pes,
        sizing.glb_bytes,
        sizing.area,
        resized,
    )
