"""Pruned int8 GEMM -> GLB image -> decompressor -> array == numpy, and cycles == analytic."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sod.compiler as sc
from sod.formats import FORMATS
from sod.models.decompressor import layer_timing
from sod.models.dense import evaluate_dense
from sod.reference.sparse_on_dense import run_layer


def _case(seed, m, k, n, density):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (k, n))
    w = np.where(rng.random((k, n)) < density, w, 0).astype(np.int8)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    return a, w


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 0.7, 1.0])
def test_all_formats_dataflows_densities(df, fmt, density):
    a, w = _case(zlib.crc32(f"{df}{fmt}{density}".encode()), 13, 37, 21, density)
    opts = sc.make_options(format=fmt, read_width_bits=32)
    img = sc.compile_layer(w, 8, 4, df, opts)
    run = run_layer(a, img)
    assert np.array_equal(run.output, a.astype(np.int32) @ w.astype(np.int32))
    model = layer_timing(w != 0, 13, 8, 4, df, opts)
    assert run.cycles == model.cycles
    assert np.array_equal(run.array.stall_cycles, model.fold_stall_cycles)
    assert model.dense_cycles == int(evaluate_dense(13, 37, 21, 8, 4, df).compute_cycles[0])


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 24),
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    rows=st.integers(1, 10),
    cols=st.integers(1, 10),
    df=st.sampled_from(["ws", "os", "is"]),
    fmt=st.sampled_from(sorted(FORMATS)),
    density=st.floats(0, 1),
    width=st.sampled_from([8, 16, 64, 128]),
    fallback=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_random_shapes(m, k, n, rows, cols, df, fmt, density, width, fallback, seed):
    a, w = _case(seed, m, k, n, density)
    opts = sc.make_options(format=fmt, read_width_bits=width, dense_fallback=fallback)
    run = run_layer(a, sc.compile_layer(w, rows, cols, df, opts))
    assert np.array_equal(run.output, a.astype(np.int32) @ w.astype(np.int32))
    assert run.cycles == layer_timing(w != 0, m, rows, cols, df, opts).cycles


def test_narrow_port_stalls_and_wide_port_does_not():
    a, w = _case(7, 32, 64, 64, 0.5)
    narrow = sc.make_options(format="csc", read_width_bits=16)
    wide = sc.make_options(format="csc", read_width_bits=512)
    dense_cycles = int(evaluate_dense(32, 64, 64, 16, 16, "os").compute_cycles[0])
    slow = run_layer(a, sc.compile_layer(w, 16, 16, "os", narrow))
    fast = run_layer(a, sc.compile_layer(w, 16, 16, "os", wide))
    assert slow.stall_cycles > 0 and slow.cycles > dense_cycles
    assert fast.stall_cycles == 0 and fast.cycles == dense_cycles
