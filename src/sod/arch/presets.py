"""Architecture presets and loading any architecture (preset name or YAML file).

``kind`` selects the pydantic class; every field is validated and a bad one gives a
one-line :class:`~sod.errors.ArchitectureError` naming it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# Each import defines spec classes (found by their `kind`, below).
import sod.arch.packing
import sod.arch.sparse
import sod.arch.structured
import sod.arch.vusa  # noqa: F401
from sod.arch.spec import ArchBase, validation_message
from sod.errors import ArchitectureError
from sod.yamlio import SafeLoader, read_yaml_mapping


def _spec_classes() -> dict[str, type[ArchBase]]:
    """Every spec class by its ``kind`` (each concrete subclass of ArchBase declares one):
    a new kind's spec registers itself by existing."""
    out: dict[str, type[ArchBase]] = {}
    todo = list(ArchBase.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        kind = cls.model_fields["kind"].default
        if isinstance(kind, str):
            out[kind] = cls
    return out


ARCH_KINDS: dict[str, type[ArchBase]] = _spec_classes()
PRESET_NAMES = (
    "dense",
    "sparse-on-dense",
    "scnn",
    "sparten",
    "index-match",
    "nm-systolic",
    "vusa",
    "column-combining",
    "sparse-on-dense-reorder",
)


def architecture_from_dict(data: Any, source: str = "architecture") -> ArchBase:
    """Validate a mapping into the architecture class its ``kind`` names."""
    if not isinstance(data, dict):
        raise ArchitectureError(
            f"{source}: expected a mapping of fields, got {type(data).__name__}"
        )
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in ARCH_KINDS:
        raise ArchitectureError(
            f"{source}: field 'kind': {kind!r} is not one of {', '.join(ARCH_KINDS)}"
        )
    try:
        return ARCH_KINDS[kind].model_validate(data)
    except ValidationError as err:
        raise ArchitectureError(validation_message(err, source)) from None


def preset_text(name: str) -> str:
    return resources.files("sod.arch").joinpath("presets", f"{name}.yaml").read_text()


def load_arch(name_or_path: str | Path, **overrides: Any) -> ArchBase:
    """A preset by name (``sod archs``), an architecture YAML file or a SCALE-Sim ``.cfg``,
    with field overrides."""
    text_name = str(name_or_path)
    if text_name in PRESET_NAMES:
        data, source = yaml.load(preset_text(text_name), Loader=SafeLoader), f"preset {text_name}"
    else:
        path = Path(text_name)
        if not path.exists():
            from sod.suggest import did_you_mean

            raise ArchitectureError(
                f"unknown architecture {text_name!r}{did_you_mean(text_name, PRESET_NAMES)}: "
                f"not a preset ({', '.join(PRESET_NAMES)}) and no such file"
            )
        if path.suffix.lower() == ".cfg":
            from sod.arch.scalesim_cfg import scalesim_cfg_fields

            data = scalesim_cfg_fields(path)
        else:
            data = read_yaml_mapping(path, "architecture file", ArchitectureError)
        source = str(path)
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return architecture_from_dict(data, source)


def presets() -> dict[str, ArchBase]:
    return {name: load_arch(name) for name in PRESET_NAMES}
