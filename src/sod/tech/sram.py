"""SRAM area, access energy and leakage from the CACTI 7 table, by capacity and port width.

Inside the table (2 KB–4 MB, 64–256-bit ports) values are interpolated piecewise-linearly
in log–log space. Outside it a power law is used: its exponent is the least-squares fit of
the whole sweep (at that node, cell type and port width), anchored at the nearest table
point so the curve stays continuous, and the result is flagged ``extrapolated``.
Nodes that CACTI was not run at are derived as :func:`sod.tech.scaling.sram_scaling` says.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sod.tech.errors import TechnologyError
from sod.tech.model import DATA_DIR, Technology
from sod.tech.scaling import sram_scaling

FIELDS = ("rd_pJ", "wr_pJ", "leak_mW", "area_mm2", "t_cyc_ns")

#: Short names of the CACTI cell types a buffer may be built from (``glb_cell``):
#: ``hp`` = ITRS high-performance devices (fast, leaky), ``lstp`` = ITRS low standby power
#: devices (CACTI 7: ~10^4x less leakage, 2-4x slower cycle, 10-40 % more read energy).
CELL_TYPES = {"hp": "itrs-hp", "lstp": "itrs-lstp"}


def cacti_cell(name: str) -> str:
    """The CACTI cell name of a short (``hp``, ``lstp``) or full (``itrs-hp``) name."""
    if name in CELL_TYPES.values():
        return name
    try:
        return CELL_TYPES[name]
    except KeyError:
        known = ", ".join([*CELL_TYPES, *CELL_TYPES.values()])
        raise TechnologyError(f"unknown SRAM cell type {name!r} (known: {known})") from None


@functools.cache
def _table(name: str) -> dict[tuple[int, str, int], dict[str, NDArray[np.float64]]]:
    """(node_nm, cell, port_bits) -> {'size': bytes, field: values}, sorted by size."""
    path = DATA_DIR / name
    if not path.exists():
        raise TechnologyError(f"SRAM table {name} not found in {DATA_DIR}")
    groups: dict[tuple[int, str, int], list[dict[str, str]]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            key = (int(row["tech_nm"]), row["cell"], 8 * int(row["block"]))
            groups.setdefault(key, []).append(row)
    out = {}
    for key, rows in groups.items():
        rows.sort(key=lambda r: int(r["size"]))
        entry = {"size": np.array([float(r["size"]) for r in rows])}
        for field in FIELDS:
            entry[field] = np.array([float(r[field]) for r in rows])
        out[key] = entry
    return out


@functools.cache
def _log_fit(table: str, key: tuple[int, str, int], field: str) -> tuple[NDArray, NDArray, float]:
    """log(size), log(field) and the fitted log–log slope of one table column (the fit is
    the same for every lookup: computed once)."""
    entry = _table(table)[key]
    lxs, lys = np.log(entry["size"]), np.log(entry[field])
    return lxs, lys, np.polyfit(lxs, lys, 1)[0]


def _loglog(lx: NDArray, fit: tuple[NDArray, NDArray, float]) -> tuple[NDArray, NDArray]:
    """Piecewise log–log interpolation of ``exp(lx)``; power-law extrapolation anchored at
    the ends."""
    lxs, lys, slope = fit
    inside = np.interp(lx, lxs, lys)
    below = lys[0] + slope * (lx - lxs[0])
    above = lys[-1] + slope * (lx - lxs[-1])
    ly = np.where(lx < lxs[0], below, np.where(lx > lxs[-1], above, inside))
    return np.exp(ly), (lx < lxs[0] - 1e-12) | (lx > lxs[-1] + 1e-12)


def _at_node(
    table: str, node: int, cell: str, capacity: NDArray, port_bits: float
) -> tuple[dict[str, NDArray], NDArray]:
    data = _table(table)
    widths = sorted(w for (n, c, w) in data if n == node and c == cell)
    if not widths:
        cells = sorted({c for (n, c, _) in data if n == node})
        raise TechnologyError(
            f"SRAM table {table} has no cell type {cell!r} at {node} nm "
            f"(has: {', '.join(cells) or 'none'})"
        )
    per_width = []
    flags = np.zeros(capacity.shape, dtype=bool)
    lx = np.log(capacity)
    for w in widths:
        vals = {}
        for field in FIELDS:
            vals[field], flag = _loglog(lx, _log_fit(table, (node, cell, w), field))
            flags |= flag
        per_width.append(vals)
    if len(widths) == 1:
        return per_width[0], flags | (port_bits != widths[0])
    # Between the two port widths: log–log in width; outside them the same slope.
    w0, w1 = widths[0], widths[-1]
    t = (np.log(port_bits) - np.log(w0)) / (np.log(w1) - np.log(w0))
    out = {}
    for field in FIELDS:
        a, b = np.log(per_width[0][field]), np.log(per_width[-1][field])
        out[field] = np.exp(a + t * (b - a))
    return out, flags | (port_bits < w0) | (port_bits > w1)


@dataclass(frozen=True)
class SramCost:
    """One SRAM macro (1 bank, 1 RW port) at one technology."""

    capacity_bytes: float
    port_bits: int
    read_pj: float  # per access of port_bits
    write_pj: float
    leakage_mw: float
    area_um2: float
    extrapolated: bool  # outside the CACTI sweep: power-law extrapolation
    source: str
    cycle_ns: float = 0.0  # CACTI random cycle time (not scaled between nodes)
    cell: str = ""

    @property
    def read_pj_per_bit(self) -> float:
        return self.read_pj / self.port_bits

    @property
    def write_pj_per_bit(self) -> float:
        return self.write_pj / self.port_bits


def sram_arrays(
    tech: Technology, capacity_bytes: ArrayLike, port_bits: int = 64, cell: str | None = None
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.bool_]]:
    """Vectorized SRAM numbers: ({'read_pj','write_pj','leakage_mw','area_um2',
    'cycle_ns'}, flags). ``cell`` (``hp``, ``lstp`` or a CACTI name) overrides the
    technology's cell type."""
    cap = np.asarray(capacity_bytes, dtype=np.float64)
    bad = cap[~(np.isfinite(cap) & (cap > 0))]
    if bad.size:
        raise TechnologyError(f"SRAM capacity must be positive bytes, got {bad.flat[0]:g}")
    if port_bits <= 0:
        raise TechnologyError(f"SRAM port width must be positive bits, got {port_bits}")
    how = sram_scaling(tech.sram.node_nm)
    cell_name = cacti_cell(cell) if cell else tech.sram.cell
    total = {f: np.zeros(cap.shape) for f in FIELDS}
    flags = np.zeros(cap.shape, dtype=bool)
    for node, weight in zip(how.cacti_nodes, how.weights, strict=True):
        vals, flag = _at_node(tech.sram.table, node, cell_name, cap, float(port_bits))
        flags |= flag
        for f in FIELDS:
            total[f] += weight * vals[f]
    return {
        "read_pj": total["rd_pJ"] * how.energy_factor,
        "write_pj": total["wr_pJ"] * how.energy_factor,
        "leakage_mw": total["leak_mW"] * how.energy_factor,
        "area_um2": total["area_mm2"] * 1e6 * how.area_factor,
        "cycle_ns": total["t_cyc_ns"],
    }, flags


MAX_SUBBANKS = 16  # more interleaved sub-banks than this: the clock is out of reach


def subbanks_for_clock(
    tech: Technology,
    capacity_bytes: ArrayLike,
    port_bits: int,
    cell: str | None,
    clock_mhz: float,
) -> NDArray[np.int64]:
    """Interleaved sub-banks a bank of ``capacity_bytes`` needs to accept one access per
    cycle at ``clock_mhz`` (vectorized): the fewest ``s`` whose macros of capacity/s, each
    busy for its CACTI random cycle time, together take ``clock_mhz`` accesses per µs
    (``s ≥ t_cyc(capacity/s) · f``). A slow low-standby-power macro needs 2-3 at 1 GHz;
    a fast high-performance one usually 1. Capped at :data:`MAX_SUBBANKS`.
    CACTI's cycle time is taken at the nearest table node (it is not scaled)."""
    cap = np.asarray(capacity_bytes, dtype=np.float64)
    out = np.full(cap.shape, MAX_SUBBANKS, dtype=np.int64)
    todo = np.ones(cap.shape, dtype=bool)
    for s in range(1, MAX_SUBBANKS + 1):
        vals, _ = sram_arrays(tech, cap / s, port_bits, cell)
        fits = todo & (vals["cycle_ns"] * clock_mhz * 1e-3 <= s)
        out[fits] = s
        todo &= ~fits
        if not todo.any():
            break
    return out


def sram_cost(
    tech: Technology, capacity_bytes: float, port_bits: int = 64, cell: str | None = None
) -> SramCost:
    """Area, energy per access and leakage of one SRAM macro (``cell`` overrides the
    technology's cell type: ``hp``, ``lstp`` or a CACTI name)."""
    vals, flags = sram_arrays(tech, capacity_bytes, port_bits, cell)
    how = sram_scaling(tech.sram.node_nm)
    cell_name = cacti_cell(cell) if cell else tech.sram.cell
    return SramCost(
        capacity_bytes=float(capacity_bytes),
        port_bits=int(port_bits),
        read_pj=float(vals["read_pj"]),
        write_pj=float(vals["write_pj"]),
        leakage_mw=float(vals["leakage_mw"]),
        area_um2=float(vals["area_um2"]),
        extrapolated=bool(flags),
        source=f"{how.note}, cell {cell_name}" + (" (EXTRAPOLATED)" if flags else ""),
        cycle_ns=float(vals["cycle_ns"]),
        cell=cell_name,
    )


def fit_power_law(
    tech: Technology, field: str = "read_pj", port_bits: int = 64
) -> tuple[float, float]:
    """(coefficient, exponent) of ``field ≈ c · KB^b`` over the table's capacities."""
    how = sram_scaling(tech.sram.node_nm)
    sizes = _table(tech.sram.table)[(how.cacti_nodes[0], tech.sram.cell, 64)]["size"]
    vals, _ = sram_arrays(tech, sizes, port_bits)
    b, log_c = np.polyfit(np.log(sizes / 1024), np.log(vals[field]), 1)
    return float(np.exp(log_c)), float(b)
