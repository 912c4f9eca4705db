"""The table of synthesized gate-equivalent (GE) areas written by ``sod hw synth``.

``data/synth_ge.yaml`` (owned by the RTL room) lists designs with their parameters and
their area in NAND2 gate equivalents, with the provenance of the flow. This module only
reads it; :mod:`sod.cost.pe` turns GE into µm² (see docs/cost.md for how).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sod.tech.errors import TechnologyError
from sod.tech.model import DATA_DIR
from sod.yamlio import read_yaml_mapping

SYNTH_FILE = DATA_DIR / "synth_ge.yaml"


class SynthDesign(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    params: dict[str, Any] = {}
    ge: float = Field(gt=0)
    ff_bits: int | None = None
    cells: int | dict[str, Any] | None = None  # cell count, or counts by cell type


class SynthTable(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    provenance: dict[str, Any]
    ge_area_um2: float | None = None
    designs: list[SynthDesign]

    def find(self, name: str, **params: Any) -> SynthDesign | None:
        """The design named ``name`` whose params include all of ``params`` (exactly)."""
        for d in self.designs:
            if d.name == name and all(d.params.get(k) == v for k, v in params.items()):
                return d
        return None

    def ge(self, name: str, **params: Any) -> float | None:
        design = self.find(name, **params)
        return None if design is None else design.ge

    def interpolate(
        self, name: str, key: str, value: float, **fixed: Any
    ) -> tuple[float, bool] | None:
        """GE of ``name`` at ``key=value``, log–log between synthesized points.

        Returns (ge, extrapolated) or None when fewer than one point matches ``fixed``.
        Outside the synthesized range the end segment's slope is extended (flagged).
        """
        pts = sorted(
            (float(d.params[key]), d.ge)
            for d in self.designs
            if d.name == name
            and key in d.params
            and all(d.params.get(k) == v for k, v in fixed.items())
        )
        if not pts:
            return None
        xs = np.log([p[0] for p in pts])
        ys = np.log([p[1] for p in pts])
        x = np.log(value)
        if len(pts) == 1:
            return (float(np.exp(ys[0])), bool(x != xs[0]))
        if x < xs[0]:
            slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
            return float(np.exp(ys[0] + slope * (x - xs[0]))), True
        if x > xs[-1]:
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            return float(np.exp(ys[-1] + slope * (x - xs[-1]))), True
        return float(np.exp(np.interp(x, xs, ys))), False


@functools.cache
def _load(path: Path, mtime: float) -> SynthTable:
    data = read_yaml_mapping(path, "synthesis table", TechnologyError)
    try:
        return SynthTable.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TechnologyError(f"{path}: field {where!r}: {first['msg']}") from None


def load_synth_table(path: str | Path | None = None) -> SynthTable:
    """The synthesized GE table (default: the committed ``data/synth_ge.yaml``)."""
    path = Path(path) if path is not None else SYNTH_FILE
    if not path.exists():
        raise TechnologyError(f"synthesis table {path} not found (run `sod hw synth`)")
    return _load(path, path.stat().st_mtime)
