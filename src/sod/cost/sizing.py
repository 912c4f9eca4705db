"""Iso-area sizing: the largest configuration of an architecture that fits a budget.

Given a :class:`~sod.cost.area.ChipDescription` (an architecture's design describes it:
:func:`sod.designs.size_for_budget`) and a budget in mm², the solver searches every grid
shape at once (numpy):

* a 2-D grid may take any rows × cols (1 × N included). For every row count R it finds
  the most columns that fit (a vectorized bisection: area never falls as a grid grows);
  the largest tile count over all R is the best fill. Shapes whose tiles are within
  ``fill_tolerance`` of the budget of that fill (default 2 %, below the area model's own
  error: compositions are +2 to +10 % off synthesis; it is less than one tile when tiles
  are big) count as equally full, and among them the shape closest to the spec's aspect
  (cols/rows, in log ratio) wins, then the most tiles, then the least area. So fill
  decides; the aspect only breaks (near-)ties: a prime tile count is not taken as a
  1 × p strip, and a Sparse-on-Dense strip with a narrower decompressor (2387 × 1, or
  74 × 32) does not displace a near-square array for under 2 % of the budget;
* a 1-D grid tries every tile count.

The GLB follows the buffer rule. The answer reports the leftover (unused) area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sod.cost.area import (
    ChipArea,
    ChipDescription,
    chip_area,
    chip_area_arrays,
    glb_bytes_for,
    glb_capacity_for_share,
)
from sod.cost.errors import CostError
from sod.limits import MAX_BUDGET_MM2
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
    if budget_mm2 > MAX_BUDGET_MM2:
        raise CostError(f"area budget {budget_mm2:g} mm² is above {MAX_BUDGET_MM2:g} mm²")
    return float(budget_mm2)


def _area_arrays(
    desc: ChipDescription, tech: Technology, rows: NDArray, cols: NDArray, budget_um2: float
) -> tuple[NDArray, NDArray, NDArray]:
    """(total area µm², tiles, GLB bytes) of candidate shapes."""
    tiles = rows * cols
    glb = glb_bytes_for(desc, tech, tiles * desc.pes_per_tile, budget_um2)
    parts, _, _ = chip_area_arrays(desc, tech, rows, cols, glb, oversize_inf=True)
    return np.sum(list(parts.values()), axis=0), tiles, glb


def _most_cols(
    desc: ChipDescription, tech: Technology, rows: NDArray, budget_um2: float
) -> NDArray[np.int64]:
    """For each row count, the most columns that fit (0 if none): vectorized bisection."""
    lo = np.zeros(rows.shape, dtype=np.int64)  # fits (0 columns: trivially)
    hi = np.maximum(budget_um2 // (rows * desc.tile_area_um2), 0).astype(np.int64) + 1
    while True:
        open_ = hi - lo > 1
        if not np.any(open_):
            return lo
        mid = (lo + hi) // 2
        total, _, _ = _area_arrays(desc, tech, rows[open_], np.maximum(mid[open_], 1), budget_um2)
        ok = np.zeros(rows.shape, dtype=bool)
        ok[open_] = total <= budget_um2
        lo = np.where(open_ & ok, mid, lo)
        hi = np.where(open_ & ~ok, mid, hi)


def _grid_candidates(
    desc: ChipDescription, tech: Technology, budget_um2: float, fill_tolerance: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every (rows, cols) whose tiles are within the tolerance of the fullest fitting shape
    (all of them fit)."""
    if desc.grid == "1d":
        hi = max(int(budget_um2 // desc.tile_area_um2), 1)
        rows = np.arange(1, hi + 1, dtype=np.int64)
        return rows, np.ones_like(rows)
    n_max = max(int(budget_um2 // desc.tile_area_um2), 1)
    r = np.arange(1, n_max + 1, dtype=np.int64)
    c_max = _most_cols(desc, tech, r, budget_um2)
    best = int(np.max(r * c_max))
    if best == 0:  # nothing fits: let the caller report the smallest chip
        return np.array([1]), np.array([1])
    slack = int(fill_tolerance * budget_um2 // desc.tile_area_um2)
    floor_tiles = max(best - slack, 1)
    c_min = np.maximum(-(-floor_tiles // r), 1)
    count = np.maximum(c_max - c_min + 1, 0)
    rows = np.repeat(r, count)
    start = np.repeat(c_min, count)
    offset = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
    return rows, start + offset


def size_description(
    desc: ChipDescription, tech: Technology, budget_mm2: float, fill_tolerance: float = 0.02
) -> Sizing:
    """Largest array of ``desc`` (with its GLB, edge units and fixed area) within budget.

    ``fill_tolerance``: fraction of the budget within which two fills count as equal, so
    the shape closer to ``desc.aspect`` wins (0: strictly the most tiles)."""
    budget_um2 = check_budget(budget_mm2) * 1e6
    if not 0 <= fill_tolerance < 1:
        raise CostError(f"fill_tolerance must be in [0, 1), got {fill_tolerance}")
    if desc.glb.share is not None:
        # The share rule's capacity depends on the budget only: find it once.
        cap = glb_capacity_for_share(tech, desc.glb, budget_um2)
        if desc.glb.share > 0 and cap == 0:
            raise CostError(
                f"GLB share {desc.glb.share} of {budget_mm2} mm² cannot hold even "
                f"{desc.glb.granule_bytes} bytes"
            )
        fixed_glb = desc.glb.model_copy(update={"share": None, "capacity_bytes": cap})
        desc = desc.model_copy(update={"glb": fixed_glb})
    rows, cols = _grid_candidates(desc, tech, budget_um2, fill_tolerance)
    total, tiles, glb = _area_arrays(desc, tech, rows, cols, budget_um2)
    pes = tiles * desc.pes_per_tile
    fits = np.nonzero(total <= budget_um2)[0]
    if fits.size == 0:
        need = float(np.min(total)) / 1e6
        raise CostError(
            f"area budget {budget_mm2} mm² is too small for one {desc.tile} of "
            f"{desc.kind} (needs {need:.4g} mm² with its buffer and overheads)"
        )
    # Closest to the aspect (2-D), then most PEs, then the smallest area.
    off_aspect = np.abs(np.log(cols[fits] / rows[fits]) - math.log(desc.aspect))
    if desc.grid == "1d":
        off_aspect = np.zeros(fits.size)
    order = np.lexsort((total[fits], -pes[fits], np.round(off_aspect, 9)))
    best = int(fits[order[0]])
    best_rows, best_cols = int(rows[best]), int(cols[best])
    area = replace(
        chip_area(desc, tech, best_rows, best_cols, float(glb[best])), budget_um2=budget_um2
    )
    return Sizing(
        desc.kind, float(budget_mm2), best_rows, best_cols, area.pes, float(glb[best]), area
    )
