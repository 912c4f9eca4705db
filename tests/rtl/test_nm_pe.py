"""The N:M PE and a small array of them, simulated against numpy (A·W of an N:M tile),
and the synthesized GE rows the area model reads."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.reference.nm_systolic import compress_nm
from sod.sparsity.prune import prune_n_m

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")


def _simulate(dut, cycles, outputs):
    from amaranth.sim import Simulator

    from sod.rtl.sim import _plain

    trace = []

    async def bench(ctx):
        for values in cycles:
            for port, value in values.items():
                ctx.set(getattr(dut, port), value)
            trace.append({o: _plain(ctx.get(getattr(dut, o))) for o in outputs})
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    nm=st.sampled_from([(2, 4), (1, 4), (1, 2), (2, 8)]),
    groups=st.integers(1, 2),
    cols=st.integers(1, 3),
    m=st.integers(1, 5),
    seed=st.integers(0, 99),
)
def test_nm_array_computes_a_times_w(nm, groups, cols, m, seed):
    """Load one compressed N:M tile (values + indices), stream A with the row skew: the
    bottom row's partial sums are A·W."""
    from sod.rtl.nm_pe import NMSystolicArray

    n_keep, m_group = nm
    rows, k = groups * n_keep, groups * m_group
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (k, cols)) * prune_n_m(rng.random((k, cols)), n_keep, m_group)
    a = rng.integers(-128, 128, (m, k))
    vals, idx = compress_nm(w, n_keep, m_group)
    cycles = []
    for t in range(rows):  # bottom row's pair enters first
        r = rows - 1 - t
        cycles.append(
            {
                "a_in": [[0] * m_group] * rows,
                "w_in": [int(v) for v in vals[r]],
                "idx_in": [int(v) for v in idx[r]],
                "w_load": 1,
            }
        )
    first = len(cycles)
    for t in range(m + rows + cols):
        a_in = []
        for r in range(rows):  # N rows of group g take A[i, gM:(g+1)M], row r skewed by r
            g, i = r // n_keep, t - r
            live = 0 <= i < m
            a_in.append([int(a[i, g * m_group + j]) if live else 0 for j in range(m_group)])
        cycles.append({"a_in": a_in, "w_in": [0] * cols, "idx_in": [0] * cols, "w_load": 0})
    trace = _simulate(NMSystolicArray(rows, cols, m_group), cycles, ["psum_out"])
    got = np.array(
        [[trace[first + i + rows + c]["psum_out"][c] for c in range(cols)] for i in range(m)]
    )
    np.testing.assert_array_equal(got, a @ w)


def test_nm_pe_selects_and_forwards():
    from sod.rtl.nm_pe import NMPE

    acts = [3, -5, 7, 11]
    cycles = [
        {"w_in": -2, "idx_in": 2, "w_load": 1, "a_in": [0, 0, 0, 0], "psum_in": 0},
        {"w_in": 0, "idx_in": 0, "w_load": 0, "a_in": acts, "psum_in": 100},
        {"w_in": 0, "idx_in": 0, "w_load": 0, "a_in": [0, 0, 0, 0], "psum_in": 0},
    ]
    trace = _simulate(NMPE(4), cycles, ["psum_out", "a_out", "idx_out"])
    assert trace[2]["psum_out"] == 100 + 7 * -2
    assert trace[2]["a_out"] == acts
    assert trace[1]["idx_out"] == 2


def test_bad_group_size():
    from sod.rtl import RtlError
    from sod.rtl.nm_pe import NMPE

    with pytest.raises(RtlError, match="power of 2"):
        NMPE(6)


def test_ge_table_has_the_nm_pe_and_area_lookup_uses_it():
    from sod.cost.pe_area import pe_area, synth_ratio
    from sod.tech import load_technology

    r4 = synth_ratio("nm_pe", a_bits=8, w_bits=8, acc_bits=32, m_group=4)
    r8 = synth_ratio("nm_pe", a_bits=8, w_bits=8, acc_bits=32, m_group=8)
    assert 1.0 < r4 < r8 < 2.0  # one multiplier; M activation registers + mux on top
    tech = load_technology(45)
    pe = pe_area(tech, "nm_pe", a_bits=8, w_bits=8, acc_bits=32, m_group=4)
    dense = pe_area(tech, "dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    assert pe.source.startswith("synth: nm_pe")
    assert pe.area_um2 / dense.area_um2 == pytest.approx(r4)
    # M = 16 was never synthesized: the nearest variant x the composition ratio
    pe16 = pe_area(tech, "nm_pe", a_bits=8, w_bits=8, acc_bits=32, m_group=16)
    assert pe16.area_um2 > pe_area(tech, "nm_pe", m_group=8).area_um2
    assert "composition ratio" in pe16.source


@pytest.mark.slow
def test_nm_pe_synthesizes_to_the_committed_ge():
    from sod.rtl.synth import find_yosys, synthesize
    from sod.rtl.table import lookup_ge, make_design

    if find_yosys() is None:
        pytest.skip("yosys not installed")
    params = {"a_bits": 8, "w_bits": 8, "acc_bits": 32, "m_group": 4}
    got = synthesize(make_design("nm_pe", params), name="nm_pe").ge
    assert got == pytest.approx(lookup_ge("nm_pe", **params), abs=0.1)
