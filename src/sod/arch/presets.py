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

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.arch.spec import ArchBase, Architecture, SparseOnDenseArch, validation_message
from sod.errors import ArchitectureError
from sod.yamlio import read_yaml_mapping

ARCH_KINDS: dict[str, type[ArchBase]] = {
    "dense": Architecture,
    "sparse_on_dense": SparseOnDenseArch,
    "scnn": SCNNArch,
    "sparten": SparTenArch,
    "index_match": IndexMatchArch,
}
PRESET_NAMES = ("dense", "sparse-on-dense", "scnn", "sparten", "index-match")


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
        arch = ARCH_KINDS[kind].model_validate(data)
    except ValidationError as err:
        raise ArchitectureError(validation_message(err, source)) from None
    _check_formats(arch, source)
    return arch


def _check_formats(arch: ArchBase, source: str) -> None:
    if isinstance(arch, SparseOnDenseArch):
        from sod.formats import FORMATS  # formats know nothing of architectures

        for field in ("weight_format", "act_format"):
            value = getattr(arch, field)
            if value not in FORMATS:
                raise ArchitectureError(
                    f"{source}: field {field!r}: unknown format {value!r}; choose from: "
                    f"{', '.join(FORMATS)}"
                )


def preset_text(name: str) -> str:
    return resources.files("sod.arch").joinpath("presets", f"{name}.yaml").read_text()


def load_arch(name_or_path: str | Path, **overrides: Any) -> ArchBase:
    """A preset by name (``sod archs``) or an architecture YAML file, with field overrides."""
    text_name = str(name_or_path)
    if text_name in PRESET_NAMES:
        data, source = yaml.safe_load(preset_text(text_name)), f"preset {text_name}"
    else:
        path = Path(text_name)
        if not path.exists():
            raise ArchitectureError(
                f"unknown architecture {text_name!r}: not a preset ({', '.join(PRESET_NAMES)}) "
                "and no such file"
            )
        data = read_yaml_mapping(path, "architecture file", ArchitectureError)
        source = str(path)
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return architecture_from_dict(data, source)


def presets() -> dict[str, ArchBase]:
    return {name: load_arch(name) for name in PRESET_NAMES}
