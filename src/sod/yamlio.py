"""Reading YAML files with one-line errors (the lowest layer: no other sod import but errors).

Every YAML input of ``sod`` (architectures, technologies, the synthesis table, sweep specs)
goes through :func:`read_yaml_mapping`, so a missing file, a syntax error or a non-mapping
gives the same kind of message, as the caller's :class:`~sod.errors.SodError` subclass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sod.errors import SodError


def read_yaml_mapping(path: str | Path, what: str, error: type[SodError]) -> dict[str, Any]:
    """The mapping at the top of a YAML file, or ``error`` naming the file and the fault."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{path}: not valid YAML{where} ({err.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    return data
