"""The metrics of a study point, each formula written once (docs/metrics.md).

* ``effective_gops``: dense-equivalent operations (2 × dense MACs) per second, /1e9;
* ``gops_per_mm2``: effective throughput per mm² of chip area (throughput/area);
* ``gops_per_w``: effective operations per joule / 1e9 (= GOP/s per W: energy efficiency);
* ``energy_per_inference_uj``: energy of one pass of the workload (batch included);
* ``utilization``: issued MACs / (PEs × cycles); ``effective_utilization``: effectual MACs /
  (PEs × cycles), never above 1 (both on :class:`~sod.models.common.Counts`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sod.cost.area import ChipArea
    from sod.cost.energy import EnergyBreakdown
    from sod.study.run import RunResult


def latency_s(cycles: float, frequency_mhz: float) -> float:
    """Seconds ``cycles`` take at ``frequency_mhz``."""
    return cycles / (frequency_mhz * 1e6)


def effective_gops(macs_dense: float, seconds: float) -> float:
    """Dense-equivalent operations (2 per dense MAC) per second, in GOP/s."""
    return 2 * macs_dense / seconds / 1e9 if seconds > 0 else 0.0


@dataclass(frozen=True)
class Metrics:
    """Performance, area and energy of one workload on one architecture."""

    workload: str
    arch: str
    kind: str
    pes: int
    glb_kib: float
    node_nm: int
    area_mm2: float
    cycles: int
    stall_cycles: int
    latency_ms: float
    macs: int
    macs_effectual: int
    effective_gops: float
    gops_per_mm2: float
    energy_per_inference_uj: float
    gops_per_w: float
    utilization: float
    effective_utilization: float
    dram_mbytes: float
    leakage_share: float
    decompressor_area_share: float | None = None  # only when the chip has decompressors
    unused_area_mm2: float | None = None  # budget left unused, only when sized to a budget

    @classmethod
    def of(cls, run: RunResult, area: ChipArea, energy: EnergyBreakdown) -> Metrics:
        arch = run.arch
        total = run.total
        seconds = latency_s(total.cycles, arch.frequency_mhz)
        gops = effective_gops(total.macs_dense, seconds)
        total_pj = float(energy.total_pj)
        decompressors = area.parts_um2.get("decompressors")
        return cls(
            workload=run.workload,
            arch=arch.name,
            kind=arch.kind,
            pes=arch.pe_count,
            glb_kib=arch.glb_kib,
            node_nm=arch.node_nm,
            area_mm2=area.total_mm2,
            cycles=total.cycles,
            stall_cycles=total.stall_cycles,
            latency_ms=seconds * 1e3,
            macs=total.macs_dense,
            macs_effectual=total.macs_effectual,
            effective_gops=gops,
            gops_per_mm2=gops / area.total_mm2,
            energy_per_inference_uj=total_pj / 1e6,
            gops_per_w=2 * total.macs_dense / (total_pj * 1e-12) / 1e9 if total_pj else 0.0,
            utilization=total.utilization,
            effective_utilization=total.effective_utilization,
            dram_mbytes=run.dram_bits / 8e6,
            leakage_share=float(energy.leakage_pj) / total_pj if total_pj else 0.0,
            decompressor_area_share=(
                decompressors / area.total_um2 if decompressors is not None else None
            ),
            unused_area_mm2=area.unused_mm2,
        )

    def to_row(self) -> dict[str, Any]:
        """A flat row (CSV, JSON, the results store); absent optional metrics left out."""
        return {k: v for k, v in asdict(self).items() if v is not None}
