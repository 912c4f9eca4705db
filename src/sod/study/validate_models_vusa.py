"""VUSA's claims (Helal, Garcia-Ortiz, Bamberg, MOCAST 2025, arXiv 2506.01166) modelled
with sod: the VUSA preset (30 x 32 MACs, windows of 3 MACs serving 5 virtual rows) against
the dense array of the same peak performance (its full virtual shape, 50 x 32 MACs), both
at 16 nm."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sod.study.validate_models import Modelled

# ResNet-18 pruned 85 % is the paper's example network; sod's zoo has ResNet-50.
NETWORK, SPARSITY = "resnet50", "uniform:0.15"


def _pair(node_nm: int = 16, **fields: Any) -> tuple[Any, Any]:
    """The VUSA preset and the dense WS array of its full virtual shape (same peak)."""
    from sod.arch.presets import load_arch
    from sod.arch.vusa import VUSAArch

    vusa = load_arch("vusa", node_nm=node_nm, **fields)
    assert isinstance(vusa, VUSAArch)
    rows, cols = vusa.virtual_shape
    dense = load_arch(
        "dense", node_nm=node_nm, array_rows=rows, array_cols=cols, dataflow="ws", **fields
    )
    return vusa, dense


def vusa_area_saving() -> Modelled:
    """1 − PE-array area of VUSA / PE-array area of the same-peak dense array (16 nm)."""
    from sod.designs.costing import arch_area

    vusa, dense = _pair()
    a, b = arch_area(vusa).parts_um2["pe_array"], arch_area(dense).parts_um2["pe_array"]
    return Modelled(
        1 - a / b,
        f"PE arrays {a / 1e6:.4f} mm² (VUSA {vusa.array_rows}x{vusa.array_cols} MACs) vs "
        f"{b / 1e6:.4f} mm² (dense {dense.array_rows}x{dense.array_cols}), 16 nm",
    )


@lru_cache(maxsize=1)
def _runs() -> tuple[Any, Any]:
    from sod.study.point import evaluate_run, sparse_workload

    wl = sparse_workload(NETWORK, SPARSITY, 0)
    vusa, dense = _pair(ideal_memory=True)
    return evaluate_run(wl, vusa), evaluate_run(wl, dense)


def _array_pj(point: Any) -> float:
    """Energy of the PE array: MACs (gated included), PE registers and the array's leakage
    share are what the paper's synthesized arrays measure; GLB and DRAM are left out."""
    by_action = point.energy.by_action
    return float(sum(v for k, v in by_action.items() if k.startswith(("mac", "pe_reg_bits"))))


def _gated_dense() -> Any:
    """The same-peak dense array with zero-gated MACs (Sparse-on-Dense with nothing
    compressed): the alternative baseline the detail reports."""
    from sod.arch.presets import load_arch
    from sod.study.point import evaluate_run, sparse_workload

    _, dense = _pair(ideal_memory=True)
    fields = {"weight_format": "dense", "skip_zero_tiles": False, "zero_gating": True}
    arch = load_arch(
        "sparse-on-dense", node_nm=16, array_rows=dense.array_rows,
        array_cols=dense.array_cols, dataflow="ws", ideal_memory=True, **fields,
    )  # fmt: skip
    return evaluate_run(sparse_workload(NETWORK, SPARSITY, 0), arch)


def vusa_power_saving() -> Modelled:
    """1 − array power of VUSA / array power of the same-peak dense array, power being the
    array's dynamic energy over the run's cycles (the paper's arrays run the same work)."""
    v, d = _runs()
    pv = _array_pj(v) / v.metrics.cycles
    pd = _array_pj(d) / d.metrics.cycles
    g = _gated_dense()
    pg = _array_pj(g) / g.metrics.cycles
    return Modelled(
        1 - pv / pd,
        f"{NETWORK} {SPARSITY}: array {pv:.1f} pJ/cycle (VUSA, {v.metrics.cycles:,} cycles) "
        f"vs {pd:.1f} pJ/cycle (dense, {d.metrics.cycles:,} cycles); against a zero-gated "
        f"dense array ({pg:.1f} pJ/cycle) the saving is {1 - pv / pg:.1%}",
    )
