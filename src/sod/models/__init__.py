"""Performance models: ``evaluate(gemm, arch) -> Counts`` for every architecture kind.

Each model is a pure function of (Gemm, Architecture); :func:`evaluate` dispatches on the
architecture's ``kind``.
"""

from __future__ import annotations

from sod.arch.spec import ArchBase
from sod.errors import ArchitectureError
from sod.models.common import Counts
from sod.workload.gemm import Gemm


def evaluate(gemm: Gemm, arch: ArchBase) -> Counts:
    """Counts of one GEMM (all repeats) on ``arch``."""
    kind = arch.kind
    if kind in ("dense", "sparse_on_dense"):
        from sod.models.sparse_on_dense import evaluate as evaluate_systolic

        return evaluate_systolic(gemm, arch)  # type: ignore[arg-type]
    raise ArchitectureError(f"architecture kind {kind!r} has no performance model yet")


__all__ = ["Counts", "evaluate"]
