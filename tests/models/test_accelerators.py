"""Sparse accelerators through the common dispatcher: masks, memory system, GLB ports."""

import numpy as np
import pytest
from model_helpers import masked

from sod.arch.presets import load_arch
from sod.designs import evaluate
from sod.workload.gemm import Gemm, conv2d

LAYERS = [
    masked(Gemm("fc", 8, 96, 40), 0.2, 0.5),
    masked(conv2d("conv", 10, 10, 8, 16, 3, padding=1), 0.3, 0.5),
    masked(conv2d("grouped", 10, 10, 8, 16, 3, padding=1, groups=2), 0.3, 0.5),
]


@pytest.mark.parametrize("preset", ["scnn", "sparten", "index-match"])
@pytest.mark.parametrize("gemm", LAYERS, ids=lambda g: g.name)
def test_counts_are_consistent(preset, gemm):
    c = evaluate(gemm, load_arch(preset))
    w = gemm.stacked_weight_mask().astype(np.int64)
    a = gemm.stacked_act_mask().astype(np.int64)
    assert c.macs_effectual == int(np.einsum("gmk,gkn->", a, w))
    assert c.macs_dense == gemm.macs
    assert 0 < c.effective_utilization <= 1
    assert c.action("dram_read_bits.weight") > 0 and c.action("dram_write_bits.out") > 0
    # Compressed storage: fewer DRAM bits than the dense operand at these densities.
    assert c.action("dram_read_bits.weight") < gemm.weight_count * 8


@pytest.mark.parametrize("preset", ["dense", "sparse-on-dense", "scnn", "sparten", "index-match"])
def test_narrow_glb_ports_stall_every_architecture(preset):
    g = masked(Gemm("fc", 64, 512, 256), 0.3, 0.6)
    wide = evaluate(g, load_arch(preset, glb_banks=64))
    narrow = evaluate(g, load_arch(preset, glb_banks=1, glb_read_width_bits=8))
    # The mapping search may pick another mapping under narrow ports (one that reads
    # less), but nothing gets faster and the ports bind.
    assert narrow.cycles > wide.cycles
    assert narrow.details["glb_supply_cycles"] > wide.details["glb_supply_cycles"]
    assert narrow.details["glb_stall_cycles"] > 0


@pytest.mark.parametrize("preset", ["dense", "sparse-on-dense"])
def test_dataflow_search_sees_the_glb_ports(preset):
    """auto takes the dataflow with the fewest cycles *with* the port stalls: with one
    narrow port that is the one reading the fewest GLB bits, not the fastest compute."""
    g = masked(Gemm("fc", 64, 512, 256), 0.3, 0.6)
    narrow = {"glb_banks": 1, "glb_read_width_bits": 8}
    auto = evaluate(g, load_arch(preset, **narrow))
    forced = {d: evaluate(g, load_arch(preset, dataflow=d, **narrow)) for d in ("ws", "os", "is")}
    assert auto.cycles == min(c.cycles for c in forced.values())
    fastest_compute = min(forced.values(), key=lambda c: c.compute_cycles)
    assert auto.cycles <= fastest_compute.cycles


@pytest.mark.parametrize("preset", ["sparten", "index-match", "scnn"])
def test_mapping_search_sees_the_glb_ports(preset):
    g = masked(Gemm("fc", 64, 512, 256), 0.3, 0.6)
    c = evaluate(g, load_arch(preset, glb_banks=1, glb_read_width_bits=8))
    # Every candidate was compared with its port stall: the chosen one has the fewest.
    assert c.cycles == min(c.details["mapping_cycles"].values())


def test_slow_dram_stalls_sparse_accelerators():
    g = masked(Gemm("fc", 4, 2048, 1024), 0.3, 0.6)
    fast = evaluate(g, load_arch("sparten", dram_bandwidth_bytes_per_cycle=1024))
    slow = evaluate(g, load_arch("sparten", dram_bandwidth_bytes_per_cycle=1))
    assert slow.details["memory_stall_cycles"] > fast.details["memory_stall_cycles"]
