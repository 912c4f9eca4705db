"""Read a SCALE-Sim ``.cfg`` (v2/v3 INI) into a dense :class:`Architecture`.

``[architecture_presets]`` gives ``ArrayHeight``/``ArrayWidth`` (rows × columns),
``Dataflow`` (ws/os/is), the three SRAM sizes ``IfmapSramSzkB``/``FilterSramSzkB``/
``OfmapSramSzkB`` (KiB; v1's ``*SramSz`` spelling too) — sod has one GLB, their sum — and
``Bandwidth`` (words per cycle to DRAM; with 8-bit words, bytes per cycle).
``[run_presets] InterfaceBandwidth: CALC`` asks SCALE-Sim for the stall-free bandwidth,
which is sod's ``ideal_memory``; ``USER`` uses ``Bandwidth``. Offsets, ``MemoryBanks``,
the ``[layout]`` and ``[sparsity]`` sections have no counterpart and are ignored.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from sod.errors import ArchitectureError

_SRAMS = (
    ("IfmapSramSzkB", "IfmapSramSz"),
    ("FilterSramSzkB", "FilterSramSz"),
    ("OfmapSramSzkB", "OfmapSramSz"),
)


def _number(section: Any, key: str, where: str, kind: type = int) -> Any:
    raw = section.get(key)
    if raw is None:
        raise ArchitectureError(f"{where}: [architecture_presets] has no {key!r}")
    try:
        value = kind(raw.strip().strip('"'))
    except ValueError:
        raise ArchitectureError(f"{where}: {key} = {raw!r} is not a number") from None
    if not value > 0:
        raise ArchitectureError(f"{where}: {key} must be positive, got {raw!r}")
    return value


def scalesim_cfg_fields(path: str | Path) -> dict[str, Any]:
    """The architecture fields (kind ``dense``) a SCALE-Sim config file describes."""
    where = str(path)
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    try:
        text = Path(path).read_text()
        parser.read_string(text, source=where)
    except OSError as err:
        raise ArchitectureError(f"cannot read SCALE-Sim config {where}: {err.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0]
        raise ArchitectureError(f"{where}: not a valid SCALE-Sim config ({first})") from None
    if not parser.has_section("architecture_presets"):
        raise ArchitectureError(f"{where}: no [architecture_presets] section")
    arch = parser["architecture_presets"]
    fields: dict[str, Any] = {
        "name": Path(path).stem,
        "kind": "dense",
        "array_rows": _number(arch, "ArrayHeight", where),
        "array_cols": _number(arch, "ArrayWidth", where),
    }
    dataflow = arch.get("Dataflow", "ws").strip().strip('"').lower()
    if dataflow not in ("ws", "os", "is"):
        raise ArchitectureError(f"{where}: Dataflow {dataflow!r} is not ws, os or is")
    fields["dataflow"] = dataflow
    kib = 0.0
    for new, old in _SRAMS:
        key = new if new in arch else old
        kib += _number(arch, key, where, float)
    fields["glb_kib"] = kib
    mode = "USER"
    if parser.has_section("run_presets"):
        mode = parser["run_presets"].get("InterfaceBandwidth", "USER").strip().upper()
    if mode == "CALC":
        fields["ideal_memory"] = True
    if "Bandwidth" in arch:
        fields["dram_bandwidth_bytes_per_cycle"] = _number(arch, "Bandwidth", where, float)
    elif mode != "CALC":
        raise ArchitectureError(f"{where}: InterfaceBandwidth USER needs a Bandwidth")
    return fields
