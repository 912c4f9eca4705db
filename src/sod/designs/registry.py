"""The registry of designs: the one place that maps an architecture kind to its
:class:`~sod.designs.base.Design`. Nothing outside it switches on the kind."""

from __future__ import annotations

from typing import Any

from sod.arch.spec import ArchBase
from sod.designs.base import Design
from sod.designs.column_combining import ColumnCombiningDesign
from sod.designs.dense import DenseDesign
from sod.designs.index_match import IndexMatchDesign
from sod.designs.nm_systolic import NMSystolicDesign
from sod.designs.scnn import SCNNDesign
from sod.designs.sparse_on_dense import SparseOnDenseDesign
from sod.designs.sparten import SparTenDesign
from sod.designs.vusa import VUSADesign
from sod.errors import ArchitectureError
from sod.models.common import Counts
from sod.models.glb_ports import bound_by_glb_ports
from sod.workload.gemm import Gemm

DESIGNS: dict[str, Design] = {
    d.kind: d
    for d in (
        DenseDesign(),
        SparseOnDenseDesign(),
        SCNNDesign(),
        SparTenDesign(),
        IndexMatchDesign(),
        VUSADesign(),
        NMSystolicDesign(),
        ColumnCombiningDesign(),
    )
}


def design_of(arch_or_kind: Any) -> Design:
    """The design of an architecture spec (or of a kind name)."""
    kind = arch_or_kind if isinstance(arch_or_kind, str) else getattr(arch_or_kind, "kind", None)
    try:
        return DESIGNS[str(kind)]
    except KeyError:
        raise ArchitectureError(
            f"architecture kind {kind!r} has no design (known: {', '.join(DESIGNS)})"
        ) from None


def evaluate(gemm: Gemm, arch: ArchBase) -> Counts:
    """Counts of one GEMM (all repeats) on ``arch``, GLB port bandwidth included."""
    return bound_by_glb_ports(design_of(arch).evaluate(gemm, arch), arch)
