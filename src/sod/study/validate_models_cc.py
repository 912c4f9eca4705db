"""Claims about column combining / Sparse-TPU (:mod:`sod.study.validate`), modelled with
sod's area model. Split from :mod:`sod.study.validate_models` (file length)."""

from __future__ import annotations

from sod.study.validate_models import Modelled

# Sparse-TPU (He et al., ICS 2020): a 128x128 TPU-like array; each PE keeps the packed
# value and its original row index, the streamed vector element carries its index, and a
# PE multiplies when the two indices match. The index width is not in our sources: a
# 128-row partition needs 7 bits, one byte is the natural register (8 bits).
STPU_ARRAY = 128
STPU_INDEX_BITS = 8


def _stpu_pe_um2(tech, value_bits: int, acc_bits: int, idx_bits: int) -> tuple[float, float]:
    """(dense PE, Sparse-TPU PE) placed areas composed from sod's components: the dense
    MAC PE, plus a stored index register, the forwarded index register of the streamed
    element and an index equality comparator."""
    from sod.cost.components import comparator, register
    from sod.cost.pe import dense_mac_pe

    dense = dense_mac_pe(tech, value_bits, value_bits, acc_bits)
    extra = [
        register(tech, idx_bits, "stored_index"),
        register(tech, idx_bits, "streamed_index"),
        comparator(tech, idx_bits, "index_match"),
    ]
    util = tech.p("logic_utilization")
    base = dense.cell_area_um2 / util
    return base, base + sum(p.total_area_um2 for p in extra) / util


def sparse_tpu_area() -> Modelled:
    """Area overhead of the Sparse-TPU PE array over the TPU-like one (same 128x128 size,
    so the ratio of PEs; the GLB is the same in both and left out)."""
    from sod.cost.pe_area import pe_area
    from sod.tech import load_technology

    tech = load_technology(45)
    base, stpu = _stpu_pe_um2(tech, 8, 32, STPU_INDEX_BITS)
    fp_base, fp_stpu = _stpu_pe_um2(tech, 32, 32, STPU_INDEX_BITS)
    array = STPU_ARRAY * STPU_ARRAY
    overhead = (stpu - base) * array / (base * array)
    cc = pe_area(tech, "cc_pe", combine=8).area_um2 / pe_area(tech, "dense_mac_pe").area_um2
    return Modelled(
        overhead,
        f"int8 PE {base:.0f} -> {stpu:.0f} um2 ({STPU_INDEX_BITS}-bit indices, "
        f"{STPU_ARRAY}x{STPU_ARRAY}); a 32-bit datapath would give "
        f"+{(fp_stpu - fp_base) / fp_base:.1%}; sod's own column-combining PE (g = 8 "
        f"activation lanes, synthesized) is +{cc - 1:.0%}",
    )
