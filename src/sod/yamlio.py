"""Reading text and YAML inputs with one-line errors (the lowest layer: no other sod import
but errors and limits).

Every YAML input of ``sod`` (architectures, technologies, the synthesis table, sweep specs)
goes through :func:`read_yaml` / :func:`read_yaml_mapping`, and every text input (topology
CSV files too) through :func:`read_text`, so a missing file, a file too large (``/dev/zero``),
bytes that are not UTF-8, a syntax error, nesting too deep or a non-mapping give the same
kind of message, as the caller's :class:`~sod.errors.SodError` subclass. YAML is parsed by
libyaml's safe loader when PyYAML has it (fast), else by the pure-Python safe loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sod.errors import SodError
from sod.limits import MAX_TEXT_INPUT_BYTES

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(
    path: str | Path, what: str, error: type[SodError], max_bytes: int = MAX_TEXT_INPUT_BYTES
) -> str:
    """The UTF-8 text of a file of at most ``max_bytes``, or ``error`` naming the fault."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {path} is larger than {max_bytes >> 20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


def load_yaml(text: str, source: str, error: type[SodError]) -> Any:
    """Parse YAML text safely (no Python objects), or ``error`` naming ``source``."""
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None)
        why = f": {' '.join(str(problem).split())}" if problem else ""
        raise error(f"{source}: not valid YAML{where}{why}") from None
    except RecursionError:
        raise error(f"{source}: YAML nested too deeply") from None


def read_yaml(path: str | Path, what: str, error: type[SodError]) -> Any:
    """The value at the top of a YAML file, or ``error`` naming the file and the fault."""
    return load_yaml(read_text(path, what, error), str(path), error)


def read_yaml_mapping(path: str | Path, what: str, error: type[SodError]) -> dict[str, Any]:
    """The mapping at the top of a YAML file, or ``error`` naming the file and the fault."""
    data = read_yaml(path, what, error)
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    return data
