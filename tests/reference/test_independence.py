"""The references are independent of the models they check: no module of
``src/sod/reference`` imports ``sod.models`` (a shared bug could otherwise pass both sides).
Geometry both sides need lives in ``sod.mapping``, which itself stays below the models."""

import ast
from pathlib import Path

import pytest

import sod.mapping
import sod.reference


def imported_modules(source: str, package: str) -> set[str]:
    """Absolute names of every module ``source`` imports (``from a import b`` yields both
    ``a`` and ``a.b``, since b may be a module); ``package`` resolves relative imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _is_under(name: str, room: str) -> bool:
    return name == room or name.startswith(room + ".")


def _modules(package) -> list[Path]:
    files = sorted(Path(package.__file__).parent.glob("*.py"))
    assert files, f"no modules found for {package.__name__}"
    return files


@pytest.mark.parametrize("path", _modules(sod.reference), ids=lambda p: p.name)
def test_reference_does_not_import_models(path):
    bad = sorted(
        n for n in imported_modules(path.read_text(), "sod.reference") if _is_under(n, "sod.models")
    )
    assert not bad, f"sod/reference/{path.name} imports {bad}: use sod.mapping or re-derive"


@pytest.mark.parametrize("path", _modules(sod.mapping), ids=lambda p: p.name)
def test_mapping_stays_below_models_and_references(path):
    # sod._native: compiled kernels that import nothing of sod (a leaf, like sod.errors).
    allowed = ("sod.arch", "sod.errors", "sod.workload", "sod.mapping", "sod._native")
    sod_names = {
        n for n in imported_modules(path.read_text(), "sod.mapping") if _is_under(n, "sod")
    }
    bad = sorted(n for n in sod_names if n != "sod" and not any(_is_under(n, r) for r in allowed))
    assert not bad, f"sod/mapping/{path.name} imports {bad}"


def test_the_reference_modules_are_all_walked():
    names = {p.name for p in _modules(sod.reference)}
    assert {"scnn.py", "sparten.py", "index_match.py"} <= names


@pytest.mark.parametrize(
    "line",
    [
        "import sod.models",
        "import sod.models.scnn as m",
        "from sod.models.scnn import bank_of",
        "from sod import models",
        "from ..models import scnn",
        "from ..models.sparten import sparten_mapping",
        "def f():\n    from sod.models.index_match import tile_shape",
    ],
)
def test_the_check_catches_every_import_form(line):
    names = imported_modules(line, "sod.reference")
    assert any(_is_under(n, "sod.models") for n in names)


def test_the_check_lets_other_rooms_through():
    names = imported_modules(
        "from sod.mapping.scnn import scnn_plane\nfrom .memory import x\nimport numpy as np",
        "sod.reference",
    )
    assert not any(_is_under(n, "sod.models") for n in names)
    assert "sod.reference.memory" in names
