"""Memory model: tiling choices, DRAM traffic and the pipeline against its reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.errors import ArchitectureError
from sod.models.memory import evaluate_memory, pipeline_cycles, plan_tiling
from sod.reference.memory import simulate_pipeline


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=6),
    st.sampled_from([8, 13, 64]),
    st.booleans(),
)
def test_pipeline_equals_cycle_level_reference(blocks, bpc, double):
    loads = [b[0] * bpc for b in blocks]  # whole cycles of transfer
    comps = [b[1] for b in blocks]
    ref = simulate_pipeline(loads, comps, bpc, double)
    assert pipeline_cycles(np.array(loads) // bpc, np.array(comps), double) == ref


def test_resident_when_everything_fits():
    p = plan_tiling(64, 64, 64, 64 * 64 * 8, 64 * 64 * 8, 64 * 64 * 32, glb_bits=8 * 2**20)
    assert p.schedule == "resident" and p.dram_bits == 64 * 64 * (8 + 8 + 32)


def test_small_glb_forces_re_reads_and_compression_helps():
    m, k, n = 3136, 576, 64  # a VGG-like conv layer
    a, w, o = m * k * 8, k * n * 8, m * n * 8
    small = plan_tiling(m, k, n, a, w, o, glb_bits=64 * 1024 * 8)
    big = plan_tiling(m, k, n, a, w, o, glb_bits=64 * 2**20 * 8)
    assert small.dram_bits > big.dram_bits
    assert small.schedule in ("w_blocks", "a_blocks")
    # Compressing W (say to 30 %) can only reduce traffic.
    compressed = plan_tiling(m, k, n, a, 0.3 * w, o, glb_bits=64 * 1024 * 8)
    assert compressed.dram_bits < small.dram_bits


def test_stalls_appear_when_bandwidth_is_short():
    m, k, n = 1, 4096, 4096  # an FC layer at batch 1: bandwidth bound
    args = (m, k, n, m * k * 8, k * n * 8, m * n * 8)
    fast = evaluate_memory(
        *args, compute_cycles=20_000, glb_bits=2**23, bandwidth_bytes_per_cycle=1e6, slots=100
    )
    slow = evaluate_memory(
        *args, compute_cycles=20_000, glb_bits=2**23, bandwidth_bytes_per_cycle=16
    )
    assert fast.stall_cycles <= 2
    # 16 MiB of weights at 16 B/cycle: ~1 M cycles, far beyond the compute.
    assert slow.total_cycles >= k * n / 16 and slow.stall_cycles > 0


def test_glb_too_small():
    with pytest.raises(ArchitectureError, match="glb_kib too small"):
        plan_tiling(1000, 100_000, 1000, 8e8, 8e8, 8e6, glb_bits=16, stage_rows=64)


def test_k_chunks_when_no_full_reduction_slice_fits():
    m, k, n = 4096, 65536, 4096
    a, w, o = m * k * 8, k * n * 8, m * n * 8
    p = plan_tiling(m, k, n, a, w, o, glb_bits=512 * 1024 * 8, stage_rows=128)
    assert p.schedule == "k_chunks"
    # Partial sums spill: more output traffic than the outputs themselves.
    assert p.dram_write_bits_o > o and p.dram_read_bits_a >= a and p.dram_read_bits_w > w
