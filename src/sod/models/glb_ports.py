"""The GLB port bound every architecture kind pays (kind-agnostic)."""

from __future__ import annotations

from dataclasses import replace

from sod.arch.spec import ArchBase
from sod.models.common import Counts


def bound_by_glb_ports(counts: Counts, arch: ArchBase) -> Counts:
    """Add the stall of a GLB that cannot deliver the bits the PEs read.

    Every architecture reads its operands (compressed or not, metadata included) through
    ``glb_banks`` ports of ``glb_read_width_bits``: a layer cannot finish before
    ``ceil(glb_read_bits / (banks × width))`` cycles. The same rule applies to every kind,
    so no design gets free on-chip bandwidth. Ideal memory skips it. Idempotent: the
    mapping searches bound every candidate before comparing them (a mapping that reads
    more than the ports deliver must not win on its unbounded cycles), and the registry
    bounds the result again for designs without a search.
    """
    if arch.ideal_memory or "glb_stall_cycles" in counts.details:
        return counts
    per_cycle = arch.glb_banks * arch.glb_read_width_bits
    supply = -(-int(counts.action("glb_read_bits")) // per_cycle)
    busy = counts.compute_cycles + counts.stall_cycles
    extra = max(0, supply - busy)
    details = {**counts.details, "glb_supply_cycles": supply, "glb_stall_cycles": extra}
    return replace(counts, stall_cycles=counts.stall_cycles + extra, details=details)
