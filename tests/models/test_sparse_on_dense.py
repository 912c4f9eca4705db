"""The Sparse-on-Dense model (and the dense array through the same code)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import masked

from sod.arch.presets import load_arch
from sod.arch.spec import Architecture, SparseOnDenseArch
from sod.compiler import compile_layer, make_options
from sod.errors import ArchitectureError, SodError
from sod.models.dense import evaluate_dense
from sod.models.sparse_on_dense import evaluate
from sod.reference.sparse_on_dense import run_layer
from sod.workload.gemm import Gemm, conv2d
from sod.workload.mask import BitMask

SHAPES = [
    Gemm("a", 50, 70, 40),
    Gemm("b", 7, 33, 65),
    Gemm("c", 100, 9, 3),
    conv2d("g", 9, 9, 8, 12, 3, padding=1, groups=2),
]


@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("gemm", SHAPES, ids=lambda g: g.name)
def test_dense_arch_equals_the_closed_form(gemm, df, timing):
    arch = Architecture(array_rows=8, array_cols=16, dataflow=df, timing=timing, ideal_memory=True)
    base = evaluate_dense(gemm.m, gemm.k, gemm.n, 8, 16, df, timing)
    for g in (gemm, masked(gemm, 0.3, 0.6)):
        c = evaluate(g, arch)
        assert c.compute_cycles == int(base.compute_cycles[0]) * gemm.repeat
        assert c.stall_cycles == 0 and c.macs_issued == c.macs_dense == gemm.macs
        assert c.details["dataflow"] == df and c.details["timing"] == timing


@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
@pytest.mark.parametrize("gemm", SHAPES, ids=lambda g: g.name)
def test_auto_dataflow_takes_the_fastest(gemm, timing):
    """dataflow: auto runs each GEMM in the dataflow with the fewest cycles (ties: ws,
    os, is) and says which in details; a forced dataflow is kept."""
    cycles = {}
    for df in ("ws", "os", "is"):
        arch = Architecture(
            array_rows=8, array_cols=16, dataflow=df, timing=timing, ideal_memory=True
        )
        cycles[df] = evaluate(gemm, arch).compute_cycles
    auto = evaluate(
        gemm, Architecture(array_rows=8, array_cols=16, timing=timing, ideal_memory=True)
    )
    best = min(cycles.values())
    assert auto.compute_cycles == best
    assert auto.details["dataflow"] == next(d for d, c in cycles.items() if c == best)


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("gemm", SHAPES, ids=lambda g: g.name)
def test_tpu_timing_is_never_slower_than_scalesim_on_folded_layers(gemm, df):
    """Double buffering hides every fold's load behind the previous fold's stream."""
    out = {}
    for timing in ("scalesim", "tpu"):
        arch = Architecture(
            array_rows=8, array_cols=16, dataflow=df, timing=timing, ideal_memory=True
        )
        out[timing] = evaluate(gemm, arch)
    if out["tpu"].details["folds"] > gemm.repeat:
        assert out["tpu"].compute_cycles < out["scalesim"].compute_cycles


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_sod_without_sparsity_is_the_dense_array(df):
    g = SHAPES[0]
    sod = SparseOnDenseArch(
        array_rows=8, array_cols=8, dataflow=df, ideal_memory=True, glb_read_width_bits=4096
    )
    dense = Architecture(array_rows=8, array_cols=8, dataflow=df, ideal_memory=True)
    assert evaluate(g, sod).compute_cycles == evaluate(g, dense).compute_cycles


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("gemm", SHAPES, ids=lambda g: g.name)
def test_effectual_macs_are_the_mask_product(gemm, df):
    g = masked(gemm, 0.35, 0.5, seed=3)
    c = evaluate(g, SparseOnDenseArch(array_rows=8, array_cols=8, dataflow=df, ideal_memory=True))
    w = g.stacked_weight_mask().astype(np.int64)
    a = g.stacked_act_mask().astype(np.int64)
    assert c.macs_effectual == int(np.einsum("gmk,gkn->", a, w))
    assert c.macs_effectual <= c.macs_issued <= c.macs_dense
    dense = evaluate(g, Architecture(array_rows=8, array_cols=8, dataflow=df, ideal_memory=True))
    assert dense.macs_effectual == c.macs_effectual  # memoized path, same count
    assert 0 < c.effective_utilization <= c.utilization <= 1


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("fmt", ["csc", "csr", "coo", "bitmap", "rle", "dense"])
def test_stored_bits_equal_the_compiled_glb_image(fmt, df):
    """The model's weight footprint is the bit-exact compiler's image, word for word."""
    g = masked(Gemm("x", 20, 40, 27), 0.3, 1.0, seed=1)
    arch = SparseOnDenseArch(
        array_rows=8,
        array_cols=8,
        dataflow=df,
        weight_format=fmt,
        ideal_memory=True,
        glb_read_width_bits=64,
    )
    c = evaluate(g, arch)
    rng = np.random.default_rng(0)
    w = g.weight_mask.to_bool()
    values = np.where(w, rng.integers(1, 127, size=w.shape), 0)
    image = compile_layer(values, 8, 8, df, make_options(format=fmt, read_width_bits=64))
    assert c.details["weight_bits_stored"] == len(image.data) * 8
    assert np.array_equal(image.decode_weights(), values)


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("fmt", ["csc", "bitmap", "rle"])
@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
def test_unbuffered_stalls_equal_the_cycle_level_datapath(fmt, df, timing):
    """Without a tile buffer, cycles equal the bit-exact GLB -> decompressor -> array run
    (SCALE-Sim's per-fold timing, or the TPU pipeline of folds)."""
    rng = np.random.default_rng(7)
    m, k, n = 12, 30, 21
    w = np.where(rng.random((k, n)) < 0.4, rng.integers(-100, 100, (k, n)), 0)
    a = rng.integers(-50, 50, (m, k))
    g = Gemm(
        "e2e", m, k, n, weight_mask=BitMask.from_array(w), weight_density=float((w != 0).mean())
    )
    arch = SparseOnDenseArch(
        array_rows=4,
        array_cols=8,
        dataflow=df,
        weight_format=fmt,
        ideal_memory=True,
        glb_read_width_bits=16,
        decompressor_tile_buffer=False,
        skip_zero_tiles=False,
        timing=timing,
    )
    c = evaluate(g, arch)
    image = compile_layer(w, 4, 8, df, make_options(format=fmt, read_width_bits=16))
    run = run_layer(a, image, timing)
    assert np.array_equal(run.output, a @ w)
    assert c.cycles == run.cycles
    assert c.stall_cycles == run.stall_cycles


@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
def test_zero_tile_skipping_removes_folds(timing):
    w = np.ones((32, 32), dtype=bool)
    w[:16, :16] = False  # one empty 16x16 tile out of four
    g = Gemm("z", 64, 32, 32, weight_mask=BitMask.from_bool(w), weight_density=float(w.mean()))
    kw = {"array_rows": 16, "array_cols": 16, "ideal_memory": True}
    kw |= {"dataflow": "ws", "timing": timing}
    on = evaluate(g, SparseOnDenseArch(**kw))
    off = evaluate(g, SparseOnDenseArch(**kw, skip_zero_tiles=False))
    per_fold = 2 * 16 + 16 + 64 - 2
    if timing == "scalesim":
        assert off.compute_cycles == 4 * per_fold - 1
        assert on.compute_cycles == 3 * per_fold - 1
    else:  # T = 64 >= R: each fold but the last occupies T; the last pays load + fill + drain
        assert off.compute_cycles == 3 * 64 + per_fold - 1
        assert on.compute_cycles == 2 * 64 + per_fold - 1
    assert on.macs_issued == 3 * 16 * 16 * 64


def test_narrow_glb_port_stalls_the_array():
    g = masked(Gemm("s", 16, 256, 256), 0.6, 1.0)
    wide = evaluate(
        g,
        SparseOnDenseArch(
            array_rows=16, array_cols=16, ideal_memory=True, glb_read_width_bits=1024
        ),
    )
    narrow = evaluate(
        g,
        SparseOnDenseArch(array_rows=16, array_cols=16, ideal_memory=True, glb_read_width_bits=32),
    )
    unbuffered = evaluate(
        g,
        SparseOnDenseArch(
            array_rows=16,
            array_cols=16,
            ideal_memory=True,
            glb_read_width_bits=32,
            decompressor_tile_buffer=False,
        ),
    )
    assert narrow.stall_cycles > wide.stall_cycles
    assert unbuffered.stall_cycles >= narrow.stall_cycles
    assert narrow.compute_cycles == wide.compute_cycles


def test_compression_reduces_dram_traffic_and_placement_matters():
    g = masked(Gemm("fc", 64, 2048, 1024), 0.1, 1.0)
    dense = evaluate(g, load_arch("dense"))
    after = evaluate(g, load_arch("sparse-on-dense"))
    before = evaluate(g, load_arch("sparse-on-dense", placement="before_glb"))
    assert after.action("dram_read_bits.weight") < 0.3 * dense.action("dram_read_bits.weight")
    assert after.action("glb_read_bits.weight") < before.action("glb_read_bits.weight")
    assert after.action("mac_gated") > 0 and dense.action("mac_gated") == 0


def test_small_glb_names_the_layer():
    g = Gemm("huge", 4096, 8192, 8192)
    with pytest.raises(ArchitectureError, match="huge"):
        evaluate(g, Architecture(glb_kib=0.01))


def test_bad_architecture_fields(tmp_path):
    bad = tmp_path / "a.yaml"
    bad.write_text("kind: sparse_on_dense\nweight_format: zip\n")
    with pytest.raises(SodError, match="weight_format"):
        load_arch(str(bad))
    bad.write_text("kind: sparse_on_dense\ndecompressor_units: 0\n")
    with pytest.raises(SodError, match="decompressor_units"):
        load_arch(str(bad))
    bad.write_text("kind: warp_drive\n")
    with pytest.raises(SodError, match="kind"):
        load_arch(str(bad))
    with pytest.raises(SodError, match="not a preset"):
        load_arch("nonexistent-arch")


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 14),
    k=st.integers(1, 24),
    n=st.integers(1, 20),
    rows=st.integers(2, 6),
    cols=st.integers(2, 6),
    density=st.floats(0.05, 0.9),
    df=st.sampled_from(["ws", "os", "is"]),
    seed=st.integers(0, 2**31),
)
def test_tpu_unbuffered_model_equals_the_datapath(m, k, n, rows, cols, density, df, seed):
    """TPU timing, no tile buffer: the model's cycles and stalls are the end-to-end
    GLB -> decompressor -> double-buffered array run's, on random shapes and masks."""
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((k, n)) < density, rng.integers(-100, 100, (k, n)), 0)
    a = rng.integers(-50, 50, (m, k))
    g = Gemm("h", m, k, n, weight_mask=BitMask.from_array(w), weight_density=density)
    arch = SparseOnDenseArch(
        array_rows=rows,
        array_cols=cols,
        dataflow=df,
        timing="tpu",
        weight_format="csc",
        ideal_memory=True,
        glb_read_width_bits=16,
        decompressor_tile_buffer=False,
        skip_zero_tiles=False,
    )
    c = evaluate(g, arch)
    image = compile_layer(w, rows, cols, df, make_options(format="csc", read_width_bits=16))
    run = run_layer(a, image, "tpu")
    assert np.array_equal(run.output, a @ w)
    assert (c.cycles, c.stall_cycles) == (run.cycles, run.stall_cycles)


@pytest.mark.parametrize("arch_name", ["dense", "sparse-on-dense"])
def test_auto_dataflow_takes_the_fewest_total_cycles(arch_name):
    """A batch-1 FC layer on a 48x48 array: IS has the fewest compute cycles but is
    DRAM-bound; auto must take the dataflow that finishes first, memory included."""
    from sod.arch.presets import load_arch
    from sod.designs import evaluate as evaluate_design
    from sod.study.point import sparse_workload

    fc6 = next(g for g in sparse_workload("vgg16", "han2015", 0) if g.name == "fc6")
    arch = load_arch(arch_name, array_rows=48, array_cols=48)
    auto = evaluate_design(fc6, arch)
    forced = {
        d: evaluate_design(fc6, arch.model_copy(update={"dataflow": d})) for d in ("ws", "os", "is")
    }
    assert auto.cycles == min(c.cycles for c in forced.values())
    assert auto.details["dataflow"] == min(forced, key=lambda d: forced[d].cycles)
    if arch_name == "dense":
        # the case that made the rule: IS computes fastest but waits on DRAM
        assert forced["is"].compute_cycles < forced["os"].compute_cycles
        assert forced["os"].cycles < forced["is"].cycles
