"""Components and PE areas: compositions, synthesis anchor, buffer placement."""

from __future__ import annotations

import pytest

from sod.cost import CostError, compose, pe_area, um2_per_synth_ge
from sod.cost.components import adder, crossbar, fifo, multiplier, mux, prefix_sum, register
from sod.errors import ArchitectureError
from sod.tech import load_synth_table, load_technology

TECH = load_technology(45)


def test_components_hit_their_cited_points():
    assert adder(TECH, 8).area_um2 == pytest.approx(36)
    assert adder(TECH, 32).energy_pj == pytest.approx(0.1)
    assert multiplier(TECH, 8, 8).area_um2 == pytest.approx(282)
    assert multiplier(TECH, 32, 32).energy_pj == pytest.approx(3.1)
    assert register(TECH, 10).total_area_um2 == pytest.approx(59.8)
    # Widths in between interpolate monotonically.
    assert 282 < multiplier(TECH, 16, 16).area_um2 < 3495
    assert 36 < adder(TECH, 12).area_um2 < 67


def test_structural_components_grow_with_size():
    assert mux(TECH, 16, 8).area_um2 > mux(TECH, 8, 8).area_um2 > mux(TECH, 2, 8).area_um2
    assert mux(TECH, 1, 8).area_um2 == 0
    assert prefix_sum(TECH, 64).area_um2 > 3 * prefix_sum(TECH, 16).area_um2
    assert crossbar(TECH, 16, 32, 24).area_um2 == pytest.approx(32 * mux(TECH, 16, 24).area_um2)
    storage = fifo(TECH, 8, 16)[0]
    assert storage.count == 128 and storage.kind == "register"


def test_dense_pe_is_cited_components_and_anchors_ge():
    dense = compose(TECH, "dense_mac_pe")
    assert dense.register_bits == 48  # as in the synthesized RTL
    assert dense.cell_area_um2 == pytest.approx(282 + 137 + 48 * 5.98)
    synth = pe_area(TECH, "dense_mac_pe")
    assert synth.source.startswith("synth")
    assert synth.cell_area_um2 == pytest.approx(dense.cell_area_um2)
    assert synth.area_um2 == pytest.approx(dense.cell_area_um2 / TECH.p("logic_utilization"))
    ge = load_synth_table().ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    assert um2_per_synth_ge(TECH) == pytest.approx(dense.cell_area_um2 / ge)


SYNTHESIZED = [
    (d.name, dict(d.params)) for d in load_synth_table().designs if d.name != "dense_mac_pe"
]


@pytest.mark.parametrize(("kind", "params"), SYNTHESIZED)
def test_synth_areas_keep_ratios_and_compositions_agree(kind, params):
    table = load_synth_table()
    ratio = table.ge(kind, **params) / table.ge("dense_mac_pe")
    dense = pe_area(TECH, "dense_mac_pe")
    got = pe_area(TECH, kind, **params)
    assert got.area_um2 / dense.area_um2 == pytest.approx(ratio, rel=1e-9)
    # The component compositions (used where nothing was synthesized) stay within 25 %
    # of synthesis (measured +2..+20 %: benchmarks/bench_cost.py).
    comp = pe_area(TECH, kind, source="components", **params)
    assert comp.source == "components"
    assert comp.area_um2 / dense.area_um2 == pytest.approx(ratio, rel=0.25)


def test_unsynthesized_variants_are_labelled():
    mid = pe_area(TECH, "bitmask_join_pe", chunk=48)
    assert "interpolated along chunk" in mid.source and not mid.extrapolated
    big = pe_area(TECH, "bitmask_join_pe", chunk=128)
    assert big.extrapolated and big.area_um2 > pe_area(TECH, "bitmask_join_pe", chunk=64).area_um2
    csc = pe_area(TECH, "decompressor", lanes=16, format="csc")
    assert "composition ratio" in csc.source
    # A window PE at an index width / FIFO depth never synthesized: interpolated along both.
    im12 = pe_area(TECH, "index_match_pe", idx_bits=12, fifo_depth=12)
    assert "interpolated along fifo_depth and idx_bits" in im12.source
    assert not im12.extrapolated
    im8 = pe_area(TECH, "index_match_pe", idx_bits=8, fifo_depth=8)
    im16 = pe_area(TECH, "index_match_pe", idx_bits=16, fifo_depth=16)
    assert im8.area_um2 < im12.area_um2 < im16.area_um2
    assert pe_area(TECH, "index_match_pe", idx_bits=20).extrapolated
    # Another window: the synthesized window-4 PE x the composition ratio.
    assert "composition ratio" in pe_area(TECH, "index_match_pe", window=2).source
    # A bank count never synthesized: the core scales by its composition ratio.
    scnn16 = pe_area(TECH, "scnn_pe", acc_banks=16)
    assert "composition ratio" in scnn16.source
    assert scnn16.area_um2 < pe_area(TECH, "scnn_pe").area_um2


def test_buffers_in_sram_move_bits_out_of_the_pe():
    in_pe = compose(TECH, "csr_match_pe", fifo_depth=8)
    in_sram = compose(TECH, "csr_match_pe", fifo_depth=8, buffers="sram")
    assert in_sram.shared_sram_bits == 2 * 8 * 16
    assert in_pe.register_bits - in_sram.register_bits == 2 * 8 * 16
    bm = compose(TECH, "bitmask_join_pe", chunk=32, buffers="sram")
    assert bm.shared_sram_bits == 2 * 32 * 8
    # The synthesized PEs hold their buffers in flip-flops: fall back to the composition.
    assert pe_area(TECH, "csr_match_pe", fifo_depth=8, buffers="sram").source == "components"
    scnn = compose(TECH, "scnn_pe", buffers="sram")
    assert scnn.sram_area_um2 == 0 and scnn.shared_sram_bits == 8 * 20480


def test_index_match_arch_pe_is_its_own_rtl():
    """IndexMatchArch's PE (how sod.cost.area asks for it: csr_match_pe with a window)
    is the synthesized index_match_pe, not the CSR RTL scaled by a composition ratio."""
    table = load_synth_table()
    for idx in (8, 16):
        got = pe_area(TECH, "csr_match_pe", fifo_depth=8, comparators=16, w_window=4, idx_bits=idx)
        assert got.source.startswith("synth: index_match_pe")
        ge = table.ge("index_match_pe", window=4, fifo_depth=8, idx_bits=idx)
        assert got.cell_area_um2 == pytest.approx(ge * um2_per_synth_ge(TECH))
    # Only the square window is that PE; other comparator counts stay csr_match_pe.
    assert "csr_match_pe" in pe_area(TECH, "csr_match_pe", comparators=2, w_window=2).source
    assert pe_area(TECH, "csr_match_pe", comparators=16, w_window=4, buffers="sram").source == (
        "components"
    )


def test_index_width_must_address_the_fiber():
    from sod.arch.sparse import IndexMatchArch, min_index_bits

    assert [min_index_bits(k) for k in (1, 2, 256, 257, 768, 25088)] == [1, 1, 8, 9, 10, 15]
    IndexMatchArch(index_bits=8).check_fiber_length(256)
    with pytest.raises(ArchitectureError, match="k=257 positions need 9-bit indices"):
        IndexMatchArch(index_bits=8).check_fiber_length(257)
    IndexMatchArch().check_fiber_length(25088)  # the default (16 bits) covers the zoo


def test_index_match_refuses_a_layer_its_indices_cannot_address():
    from sod.arch.sparse import IndexMatchArch
    from sod.designs import evaluate
    from sod.workload.gemm import Gemm

    with pytest.raises(ArchitectureError, match="need 10-bit indices"):
        evaluate(Gemm("fc", 4, 768, 8), IndexMatchArch(index_bits=8))


def test_scnn_pe_from_synthesized_core_and_banks():
    table = load_synth_table()
    k = um2_per_synth_ge(TECH)
    for vb, ab in ((8, 24), (8, 32), (16, 24)):
        synth = pe_area(TECH, "scnn_pe", value_bits=vb, acc_bits=ab)
        comp = compose(TECH, "scnn_pe", value_bits=vb, acc_bits=ab)
        assert "scnn_core" in synth.source and "scnn_acc_bank" in synth.source
        core = table.ge("scnn_core", value_bits=vb, acc_bits=ab)
        bank = table.ge("scnn_acc_bank", acc_bits=ab)
        fifo_um2 = comp.breakdown_um2()
        fifo_um2 = sum(v for n, v in fifo_um2.items() if n.startswith("weight_fifo"))
        assert synth.cell_area_um2 == pytest.approx((core + 32 * bank) * k + fifo_um2)
        # Same SRAM macros; the logic within 25 % of the composition.
        assert synth.area_um2 - synth.cell_area_um2 / TECH.p("logic_utilization") == (
            pytest.approx(comp.sram_area_um2)
        )
        assert synth.cell_area_um2 == pytest.approx(comp.cell_area_um2, rel=0.25)
    # IARAM/OARAM moved to the shared SRAM: the synthesized logic stays.
    shared = pe_area(TECH, "scnn_pe", buffers="sram")
    assert shared.shared_sram_bits == 8 * 20480 and "shared SRAM" in shared.source
    assert pe_area(TECH, "scnn_pe", source="components").source == "components"


def test_scnn_pe_matches_published_area():
    # SCNN (ISCA 2017) PE at 16 nm ≈ 0.123 mm² (R); measured -10 %.
    t16 = load_technology(16)
    area = compose(t16, "scnn_pe").placed_area_um2(t16) / 1e6
    assert area == pytest.approx(0.123, rel=0.2)
    # From the synthesized core and banks (16-bit values, 24-bit accumulators).
    synth = pe_area(t16, "scnn_pe").area_um2 / 1e6
    assert synth == pytest.approx(0.123, rel=0.25)


def test_bad_pe_requests():
    with pytest.raises(CostError, match="unknown PE kind 'systolic_pe'"):
        pe_area(TECH, "systolic_pe")
    with pytest.raises(CostError, match="fifo_depth must be a positive integer"):
        compose(TECH, "csr_match_pe", fifo_depth=0)
    with pytest.raises(CostError, match="buffers must be 'pe' or 'sram'"):
        compose(TECH, "bitmask_join_pe", buffers="dram")
    with pytest.raises(CostError, match="unknown decompressor format 'zip'"):
        compose(TECH, "decompressor", format="zip")
    with pytest.raises(CostError, match="bad parameters"):
        compose(TECH, "dense_mac_pe", chunk=3)
    with pytest.raises(CostError, match="source must be 'synth' or 'components'"):
        pe_area(TECH, "dense_mac_pe", source="guess")  # type: ignore[arg-type]
