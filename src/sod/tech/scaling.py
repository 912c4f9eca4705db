"""Scaling between process nodes (Stillmaker & Baas 2017), logic and SRAM separately.

Logic areas scale by the paper's area table, logic energies by its energy fit evaluated at
0.8 V. Nodes the paper does not tabulate (28, 22 nm) interpolate linearly in node between
32 and 20 nm. SRAM does not follow logic (bit cells have almost stopped shrinking), so
the SRAM model reads the CACTI table at its own node and :func:`sram_scaling` says how.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from sod.tech.errors import TechnologyError
from sod.tech.model import DATA_DIR, Quantity, SramSource, Technology, load_technology_file
from sod.yamlio import SafeLoader  # libyaml's loader when present

BASE_FILE = DATA_DIR / "tech_45nm.yaml"
SUPPORTED_NODES_NM: tuple[int, ...] = (45, 32, 28, 22, 16, 7)


@functools.cache
def _scaling_table() -> dict:
    return yaml.load((DATA_DIR / "stillmaker_baas.yaml").read_text(), Loader=SafeLoader)


def _energy_at(node_nm: int) -> float:
    """The paper's (relative) energy of ``node_nm`` at the table's Vdd."""
    table = _scaling_table()
    if node_nm in table["interpolate"]:
        hi, lo = table["interpolate"][node_nm]
        t = (hi - node_nm) / (hi - lo)
        return (1 - t) * _energy_at(hi) + t * _energy_at(lo)
    flavour = table["flavour"].get(node_nm)
    if flavour is None:
        raise TechnologyError(f"no Stillmaker-Baas energy fit for {node_nm} nm")
    e2, e1, e0 = table["energy_fit"][f"{flavour}{node_nm}"]
    v = table["vdd_v"]
    return e2 * v * v + e1 * v + e0


def _area_vs_45(node_nm: int) -> float:
    table = _scaling_table()
    if node_nm in table["interpolate"]:
        hi, lo = table["interpolate"][node_nm]
        t = (hi - node_nm) / (hi - lo)
        return (1 - t) * _area_vs_45(hi) + t * _area_vs_45(lo)
    try:
        return float(table["area_vs_45nm"][node_nm])
    except KeyError:
        raise TechnologyError(f"no Stillmaker-Baas area factor for {node_nm} nm") from None


def logic_area_factor(from_nm: int, to_nm: int) -> float:
    """Multiply a logic area at ``from_nm`` by this to get it at ``to_nm``."""
    check_node(from_nm)
    check_node(to_nm)
    return _area_vs_45(to_nm) / _area_vs_45(from_nm)


def logic_energy_factor(from_nm: int, to_nm: int) -> float:
    """Multiply a logic energy at ``from_nm`` by this to get it at ``to_nm`` (0.8 V both)."""
    check_node(from_nm)
    check_node(to_nm)
    return _energy_at(to_nm) / _energy_at(from_nm)


def check_node(node_nm: int) -> int:
    if node_nm not in SUPPORTED_NODES_NM:
        known = ", ".join(f"{n}nm" for n in SUPPORTED_NODES_NM)
        raise TechnologyError(f"unknown technology node {node_nm}nm (known: {known})")
    return node_nm


@dataclass(frozen=True)
class SramScaling:
    """How the SRAM model gets a node: CACTI rows at ``cacti_nodes`` blended by ``weights``,
    then areas × ``area_factor``, energies and leakage × ``energy_factor``."""

    cacti_nodes: tuple[int, ...]
    weights: tuple[float, ...]
    area_factor: float
    energy_factor: float
    note: str


def sram_scaling(node_nm: int) -> SramScaling:
    """The SRAM derivation of a node (see ``data/stillmaker_baas.yaml``, section sram)."""
    check_node(node_nm)
    table = _scaling_table()["sram"]
    if node_nm in table["cacti_nodes"]:
        return SramScaling((node_nm,), (1.0,), 1.0, 1.0, f"CACTI 7 at {node_nm} nm")
    if node_nm in table["interpolate"]:
        hi, lo = table["interpolate"][node_nm]
        t = (hi - node_nm) / (hi - lo)
        return SramScaling(
            (hi, lo),
            (1 - t, t),
            1.0,
            1.0,
            f"CACTI 7 interpolated linearly in node between {hi} and {lo} nm",
        )
    cells = table["bitcell_um2"]["values"]
    ref = min(table["cacti_nodes"])
    if node_nm not in cells:
        raise TechnologyError(f"no SRAM bit-cell area for {node_nm} nm")
    area = cells[node_nm] / cells[ref]
    energy = logic_energy_factor(ref, node_nm)
    return SramScaling(
        (ref,),
        (1.0,),
        area,
        energy,
        f"CACTI 7 at {ref} nm; area x{area:.3f} (bit-cell ratio), energy and leakage "
        f"x{energy:.3f} (Stillmaker-Baas logic energy)",
    )


def scaled(tech: Technology, node_nm: int) -> Technology:
    """``tech`` moved to ``node_nm``: logic areas and energies scaled, SRAM re-read.

    DRAM energy per bit is an interface property and is kept. Dimensionless parameters
    are kept; leakage density (per µm²) scales as energy / area.
    """
    check_node(node_nm)
    if node_nm == tech.node_nm:
        return tech
    fa = logic_area_factor(tech.node_nm, node_nm)
    fe = logic_energy_factor(tech.node_nm, node_nm)
    ref = _scaling_table()["source"]

    def scale(q: Quantity, factor: float, what: str) -> Quantity:
        note = f"{what} x{factor:.3f} from {tech.node_nm} nm (Stillmaker-Baas)" + (
            f"; {q.note}" if q.note else ""
        )
        return Quantity(value=q.value * factor, source=q.source, mark=q.mark, note=note)

    params = dict(tech.params)
    leak = params["logic_leakage_nw_per_um2"]
    params["logic_leakage_nw_per_um2"] = scale(leak, fe / fa, "energy/area")
    return Technology(
        name=f"{node_nm}nm",
        node_nm=node_nm,
        vdd_v=tech.vdd_v,
        sources=tech.sources,
        energy_pj={k: scale(q, fe, "energy") for k, q in tech.energy_pj.items()},
        area_um2={k: scale(q, fa, "area") for k, q in tech.area_um2.items()},
        dram_pj_per_bit=tech.dram_pj_per_bit,
        params=params,
        sram=SramSource(
            table=tech.sram.table,
            cell=tech.sram.cell,
            node_nm=node_nm,
            note=sram_scaling(node_nm).note,
        ),
        derivation=f"{tech.name} scaled to {node_nm} nm: logic area x{fa:.3f}, "
        f"energy x{fe:.3f} ({ref}); SRAM: {sram_scaling(node_nm).note}",
    )


_NODE_RE = re.compile(r"^\s*(\d+)\s*(nm)?\s*$", re.IGNORECASE)


@functools.cache
def base_technology() -> Technology:
    """The default 45 nm technology."""
    return load_technology_file(BASE_FILE)


def load_technology(spec: int | str | Path | None = None) -> Technology:
    """A technology by node (``45``, ``"16nm"``) or by YAML file path; default 45 nm."""
    if spec is None:
        return base_technology()
    if isinstance(spec, int):
        return scaled(base_technology(), check_node(spec))
    text = str(spec)
    match = _NODE_RE.match(text)
    if match:
        return scaled(base_technology(), check_node(int(match.group(1))))
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        return load_technology_file(path)
    known = ", ".join(f"{n}nm" for n in SUPPORTED_NODES_NM)
    raise TechnologyError(f"unknown technology {text!r} (a node: {known}, or a YAML file)")
