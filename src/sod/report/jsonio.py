"""Strict JSON for every JSON output of ``sod``: never ``NaN`` or ``Infinity``.

Python's :func:`json.dumps` writes ``NaN`` and ``Infinity`` by default, which strict JSON
readers (browsers, ``jq``, most languages) reject. :func:`dumps` turns every non-finite
float into ``null`` (numpy scalars and arrays become plain numbers and lists) and then
serializes with ``allow_nan=False``, so the output is always valid JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None, recursively; numpy made plain."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return finite(tolist())
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (see the module docstring)."""
    kwargs.setdefault("default", str)
    return json.dumps(finite(value), allow_nan=False, **kwargs)
