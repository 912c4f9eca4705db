"""Performance models: ``evaluate(gemm, arch) -> Counts`` for every architecture kind.

Each model is a pure function of (Gemm, Architecture); :func:`evaluate` dispatches on the
architecture's ``kind``.
"""

from __future__ import annotations

from dataclasses import replace

from sod.arch.spec import ArchBase
from sod.errors import ArchitectureError
from sod.models.common import Counts
from sod.workload.gemm import Gemm


def evaluate(gemm: Gemm, arch: ArchBase) -> Counts:
    """Counts of one GEMM (all repeats) on ``arch``, GLB port bandwidth included."""
    kind = arch.kind
    if kind in ("dense", "sparse_on_dense"):
        from sod.models.sparse_on_dense import evaluate as evaluate_systolic

        counts = evaluate_systolic(gemm, arch)  # type: ignore[arg-type]
    elif kind in ("scnn", "sparten", "index_match"):
        from sod.models.accelerators import evaluate_accelerator

        counts = evaluate_accelerator(gemm, arch)
    else:
        raise ArchitectureError(f"architecture kind {kind!r} has no performance model")
    return bound_by_glb_ports(counts, arch)


def bound_by_glb_ports(counts: Counts, arch: ArchBase) -> Counts:
    """Add the stall of a GLB that cannot deliver the bits the PEs read.

    Every architecture reads its operands (compressed or not, metadata included) through
    ``glb_banks`` ports of ``glb_read_width_bits``: a layer cannot finish before
    ``ceil(glb_read_bits / (banks × width))`` cycles. The same rule applies to every kind,
    so no design gets free on-chip bandwidth. Ideal memory skips it.
    """
    if arch.ideal_memory:
        return counts
    per_cycle = arch.glb_banks * arch.glb_read_width_bits
    supply = -(-int(counts.action("glb_read_bits")) // per_cycle)
    busy = counts.compute_cycles + counts.stall_cycles
    extra = max(0, supply - busy)
    details = {**counts.details, "glb_supply_cycles": supply, "glb_stall_cycles": extra}
    return replace(counts, stall_cycles=counts.stall_cycles + extra, details=details)


__all__ = ["Counts", "evaluate"]
