"""The column-combining model: hand-computed packed timing, the dense limit, MAC and
storage accounting, and the design's plumbing (area, sizing, bad input)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.arch.packing import ColumnCombiningArch
from sod.arch.presets import load_arch
from sod.arch.spec import Architecture
from sod.designs import evaluate
from sod.designs.costing import arch_area
from sod.errors import ArchitectureError
from sod.models.sparse_on_dense import evaluate as evaluate_systolic
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask

R = C = 32


def _gemm(w: np.ndarray, m: int, a: np.ndarray | None = None) -> Gemm:
    k, n = w.shape
    g = Gemm("layer", m, k, n, weight_mask=BitMask.from_bool(w), weight_density=float(w.mean()))
    if a is not None:
        g = g.with_(act_mask=BitMask.from_bool(a), act_density=float(a.mean()))
    return g


def _arch(**kw) -> ColumnCombiningArch:
    return ColumnCombiningArch(array_rows=R, array_cols=C, ideal_memory=True, **kw)


def test_hand_packed_layer_runs_one_fold():
    # k = 64 lines with one non-zero each at column i mod 32: lines 0..31 are disjoint
    # (4 groups of g = 8), lines 32..63 likewise: K' = 8 packed rows, one row fold.
    k, n, m = 64, 32, 50
    w = np.zeros((k, n), bool)
    w[np.arange(k), np.arange(k) % n] = True
    c = evaluate(_gemm(w, m), _arch())
    assert c.details["packed_rows"] == 8 and c.details["folds"] == 1
    # TPU timing, one fold: T + 2R + C - 2, minus SCALE-Sim's last-cycle index.
    assert c.compute_cycles == m + 2 * R + C - 2 - 1
    assert c.macs_issued == 8 * C * m  # every slot of the 8 packed rows, each of m rows
    assert c.macs_effectual == k * m  # A dense: one effectual MAC per weight per row
    assert c.macs_dense == m * k * n
    assert c.details["combine_ratio"] == 8.0
    # Packed weights: 8 x 32 slots of value + 3 index bits (one 256-bit word multiple).
    assert c.details["weight_bits_stored"] == 8 * 32 * 11
    # One row fold: outputs written once (int32), never read back; A read once per line.
    assert c.action("glb_write_bits.out") == m * n * 32
    assert c.action("glb_read_bits.out") == 0
    assert c.action("glb_read_bits.act") == m * k * 8
    dense = evaluate_systolic(_gemm(w, m), Architecture(array_rows=R, array_cols=C, dataflow="ws"))
    assert dense.compute_cycles > c.compute_cycles


@pytest.mark.parametrize("shape", [(70, 40, 9), (33, 65, 5), (128, 32, 1)])
def test_dense_weights_pack_nothing_and_time_like_the_dense_array(shape):
    k, n, m = shape
    w = np.ones((k, n), bool)
    cc = evaluate(_gemm(w, m), _arch())
    dense = evaluate(
        _gemm(w, m), Architecture(array_rows=R, array_cols=C, dataflow="ws", ideal_memory=True)
    )
    assert cc.details["combine_ratio"] == 1.0
    assert cc.compute_cycles == dense.compute_cycles
    assert cc.macs_issued == dense.macs_issued == m * k * n


def test_macs_and_reads_follow_the_masks():
    rng = np.random.default_rng(3)
    k, n, m = 200, 70, 12
    w = rng.random((k, n)) < 0.1
    a = rng.random((m, k)) < 0.6
    c = evaluate(_gemm(w, m, a), _arch())
    effectual = int((a.sum(axis=0) * w.sum(axis=1)).sum())
    assert c.macs_effectual == effectual <= c.macs_issued <= m * k * n
    assert c.action("mac") + c.action("mac_gated") == c.macs_issued
    assert c.action("mac") == effectual  # zero-gating: only effectual MACs are priced full
    assert c.action("act_select") == c.action("mac")  # one mux selection per active MAC
    # Activation reads: per tile, the m rows of every non-empty line, value_bits each.
    tiles = [w[:, j : j + C] for j in range(0, n, C)]
    lines = sum(int(t.any(axis=1).sum()) for t in tiles)
    assert c.action("glb_read_bits.act") == lines * m * 8
    off = evaluate(_gemm(w, m, a), _arch(zero_gating=False))
    assert off.action("mac_gated") == 0 and off.action("mac") == c.macs_issued


def test_more_combining_never_adds_packed_rows_on_sparse_weights():
    rng = np.random.default_rng(5)
    w = rng.random((300, 64)) < 0.05
    rows = [evaluate(_gemm(w, 4), _arch(max_combine=g)).details["packed_rows"] for g in (1, 2, 8)]
    assert rows[0] == int(sum(w[:, j : j + C].any(axis=1).sum() for j in (0, 32)))
    assert rows[0] > rows[1] > rows[2]


def test_activation_operand_runs_dense():
    g = Gemm("qk", 16, 64, 16, w_is_weight=False, weight_density=0.5)
    c = evaluate(g, _arch())
    assert c.details["packed"] is False and c.macs_dense == 16 * 64 * 16


def test_preset_area_and_feed():
    arch = load_arch("column-combining")
    assert arch.kind == "column_combining" and arch.member_index_bits == 3
    dense = arch_area(load_arch("dense"))
    cc = arch_area(arch)
    assert cc.total_mm2 > dense.total_mm2  # the PE carries a g-lane pipeline and a mux
    from sod.designs.registry import design_of

    assert design_of(arch).glb_bandwidth_bits_per_cycle(arch) == 32 * 8 * 8 + 32 * 11


@pytest.mark.parametrize(
    ("field", "value"), [("dataflow", "os"), ("max_combine", 0), ("pack_window", 0)]
)
def test_bad_fields_are_one_line_errors(field, value):
    with pytest.raises(ArchitectureError, match=field):
        load_arch("column-combining", **{field: value})


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.integers(1, 90),
    st.integers(1, 80),
    st.floats(0.0, 1.0),
    st.integers(1, 9),
    st.integers(1, 40),
    st.integers(1, 12),
    st.integers(0, 2**31),
)
def test_cycles_and_macs_follow_the_reference_packing(k, n, d, g, rows, m, seed):
    # Closed form from the re-derived packing: L = Σ_j ⌈K'_j / R⌉ live folds under the TPU
    # timing cost (L − 1)·max(m, R) + m + 2R + C − 2 (minus 1: the last cycle's index).
    from sod.reference.column_combining import pack_reference

    cols = 8
    w = np.random.default_rng(seed).random((k, n)) < d
    arch = ColumnCombiningArch(
        array_rows=rows, array_cols=cols, max_combine=g, pack_window=4, ideal_memory=True
    )
    c = evaluate(_gemm(w, m), arch)
    groups = pack_reference(w, cols, g, 4).max(axis=1) + 1  # K'_j
    tile_cols = np.minimum(cols, n - np.arange(groups.size) * cols)
    live = int((-(-groups // rows)).sum())
    want = (live - 1) * max(m, rows) + m + 2 * rows + cols - 2 - 1 if live else 0
    assert c.compute_cycles == want
    assert c.macs_issued == int((groups * tile_cols).sum()) * m
    assert c.macs_effectual == int(w.sum()) * m


def test_line_splitting_option_packs_dense_layers_tighter_and_stays_exact_in_macs():
    rng = np.random.default_rng(11)
    w = rng.random((300, 64)) < 0.35
    a = rng.random((10, 300)) < 0.5
    off = evaluate(_gemm(w, 10, a), _arch())
    on = evaluate(_gemm(w, 10, a), _arch(split_min=4))
    assert on.details["packed_rows"] < off.details["packed_rows"]
    assert on.compute_cycles <= off.compute_cycles
    assert on.macs_effectual == off.macs_effectual  # the same weights, all of them
    # A split line's activations are fed to two groups: more activation reads.
    assert on.action("glb_read_bits.act") > off.action("glb_read_bits.act")
