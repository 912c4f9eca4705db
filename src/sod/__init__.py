"""Sparse-on-Dense: sparse neural networks on dense systolic arrays.

The Python API (docs/api.md)::

    import sod
    result = sod.compare("alexnet", budget_mm2=4)     # or a torch module + example inputs
    print(result.verdict())
    result.to_frame()

Layers (lower never imports higher): ``workload`` → ``sparsity`` / ``formats`` →
``arch`` / ``tech`` → ``models`` / ``mapping`` / ``reference`` → ``cost`` → ``designs`` →
``study`` → ``report`` → ``cli``. ``sod.api`` sits on top and is imported lazily, so
``import sod`` stays cheap.
"""

from typing import Any

from sod.errors import SodError

__version__ = "0.1.0"
__all__ = ["SodError", "__version__", "compare", "paper", "run"]


def __getattr__(name: str) -> Any:
    if name in ("compare", "run", "paper"):
        from sod import api

        return getattr(api, name)
    raise AttributeError(f"module 'sod' has no attribute {name!r}")
