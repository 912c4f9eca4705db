"""The per-layer mapping search (sod.designs.search): every candidate is exact against its
cycle-level reference, and the search keeps the fastest."""

from dataclasses import replace

import numpy as np
import pytest
from sparse_helpers import sparse_ints

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.designs.registry import design_of
from sod.mapping.index_match import mapping_candidates as im_candidates
from sod.mapping.scnn import mapping_candidates as scnn_candidates
from sod.mapping.sparten import mapping_candidates as sparten_candidates
from sod.models.accelerators import transposed
from sod.models.index_match import evaluate_index_match
from sod.models.sparten import evaluate_sparten
from sod.reference.index_match import simulate_index_match
from sod.reference.sparten import simulate_sparten
from sod.workload.gemm import Gemm, conv2d, linear


@pytest.mark.parametrize("seed", range(4))
def test_transposed_sparten_equals_reference_on_swapped_operands(seed):
    rng = np.random.default_rng(seed)
    m, k, n = (int(x) for x in rng.integers(1, 20, 3))
    a = sparse_ints(rng, (m, k), 0.5)
    w = sparse_ints(rng, (k, n), 0.4)
    arch = SparTenArch(clusters=3, units_per_cluster=2, chunk_bits=8, load_balance="gb-s")
    counts = transposed(evaluate_sparten)(Gemm("t", m, k, n), arch, w != 0, a != 0)
    run = simulate_sparten(w.T, a.T, arch)  # the hardware holding activation rows
    assert np.array_equal(run.output[0], (a @ w).T)
    assert counts.cycles == run.cycles
    assert counts.macs_effectual == run.macs
    assert counts.macs_dense == m * k * n


@pytest.mark.parametrize("seed", range(4))
def test_transposed_index_match_equals_reference_on_swapped_operands(seed):
    rng = np.random.default_rng(10 + seed)
    m, k, n = int(rng.integers(1, 6)), int(rng.integers(1, 40)), int(rng.integers(1, 30))
    a = sparse_ints(rng, (m, k), 0.5)
    w = sparse_ints(rng, (k, n), 0.4)
    arch = IndexMatchArch(pe_rows=3, pe_cols=2, window=2)
    counts = transposed(evaluate_index_match)(Gemm("t", m, k, n), arch, w != 0, a != 0)
    run = simulate_index_match(w.T, a.T, arch)
    assert np.array_equal(run.output[0], (a @ w).T)
    assert counts.cycles == run.cycles
    assert counts.actions["index_compare"] == run.comparisons


def test_transposing_a_symmetric_gemm_swaps_the_roles():
    """With W = Aᵀ the transposed run is the same run with the operands' roles swapped:
    the same cycles, and each action of A is the direct run's action of W."""
    rng = np.random.default_rng(5)
    a = rng.random((7, 33)) < 0.4
    g = Gemm("t", 7, 33, 7)
    for fn, arch in (
        (evaluate_sparten, SparTenArch(clusters=2, units_per_cluster=3, chunk_bits=16)),
        (evaluate_index_match, IndexMatchArch(pe_rows=2, pe_cols=2, window=2)),
    ):
        direct = fn(g, arch, a.T.copy(), a)
        flipped = transposed(fn)(g, arch, a.T.copy(), a)
        assert flipped.cycles == direct.cycles
        swap = {"act": "weight", "weight": "act"}
        for key, value in flipped.actions.items():
            base, _, op = key.partition(".")
            other = f"{base}.{swap[op]}" if op in swap else key
            assert value == pytest.approx(direct.actions[other]), key


@pytest.mark.parametrize(
    ("arch", "gemm", "candidates"),
    [
        (
            SparTenArch(clusters=4, units_per_cluster=4, load_balance="auto"),
            linear("fc", 96, 40, tokens=1),
            4,
        ),
        (SparTenArch(clusters=4, units_per_cluster=4), linear("fc", 96, 40, tokens=1), 2),
        (IndexMatchArch(pe_rows=4, pe_cols=4), linear("fc", 96, 3, tokens=40), 2),
        (SCNNArch(pe_rows=2, pe_cols=2), conv2d("c", 15, 15, 3, 8, 5, stride=2), 2),
        (SCNNArch(pe_rows=2, pe_cols=2), linear("fc", 64, 16, tokens=1), 2),
    ],
)
def test_search_keeps_the_fastest_candidate(arch, gemm, candidates):
    design = design_of(arch)
    gemm = replace(gemm, weight_density=0.4, act_density=0.6)
    cands = {
        SparTenArch: sparten_candidates,
        IndexMatchArch: im_candidates,
        SCNNArch: lambda a: scnn_candidates(gemm, a),
    }[type(arch)](arch)
    assert len(cands) == candidates
    forced = {label: design.evaluate(gemm, cand).cycles for label, cand in cands}
    best = design.evaluate(gemm, arch)
    assert best.cycles == min(forced.values())
    assert best.details["mapping_cycles"] == forced
    assert forced[best.details["mapping"]] == best.cycles
    # Forcing one mapping leaves nothing to search.
    label, cand = cands[-1]
    assert design.evaluate(gemm, cand).details["mapping"] == label


def test_work_units_are_the_hardware_blocks():
    """Transfers overlap compute per work unit: SCNN (image, output-channel group)
    blocks, SparTen row steps x filter rounds, index-match output tiles (hand counts)."""
    rng = np.random.default_rng(2)
    g = conv2d("c", 9, 9, 3, 20, 3, padding=1, batch=2)  # m = 162, n = 20
    w, a = rng.random((g.k, g.n)) < 0.5, rng.random((g.m, g.k)) < 0.5
    from sod.models.scnn import evaluate_scnn

    assert evaluate_scnn(g, SCNNArch(out_channel_group=8), w, a).details["work_units"] == 2 * 3
    # 4 clusters of 3 units: 4 row groups, 162 rows -> 41 row steps; 20 filters / 3 -> 7.
    sp = SparTenArch(clusters=4, units_per_cluster=3, chunk_bits=16)
    assert evaluate_sparten(g, sp, w, a).details["work_units"] == 41 * 7
    # 4x4 PEs: tiles of 4 x 4 dot products -> 41 x 5 tiles.
    im = IndexMatchArch(pe_rows=4, pe_cols=4)
    assert evaluate_index_match(g, im, w, a).details["work_units"] == 41 * 5


def test_memory_overlaps_per_work_unit():
    """A bandwidth-starved layer: the accelerator's stall is the pipeline's over its work
    units (the first unit's load exposed), far below loading everything first."""
    from sod.models.memory import evaluate_memory

    g = replace(linear("fc", 2048, 256, tokens=8), weight_density=0.5, act_density=0.5)
    arch = IndexMatchArch(pe_rows=4, pe_cols=4, dram_bandwidth_bytes_per_cycle=2)
    design = design_of(arch)
    counts = design.evaluate(g, arch.model_copy(update={"orientation": "gemm"}))
    units = counts.details["work_units"]
    assert units == 2 * 64  # tiles of 4 x 4 over 8 x 256 dot products
    from sod.models.operands import operand_masks

    masks = operand_masks(g)
    args = dict(
        m=g.m,
        k=g.k,
        n=g.n,
        a_bits=int(masks.act.sum()) * (8 + 16) + g.m * 32,
        w_bits=int(masks.weight.sum()) * (8 + 16) + g.n * 32,
        o_bits=g.m * g.n * 8,
        compute_cycles=counts.compute_cycles,
        glb_bits=arch.glb_kib * 8192,
        bandwidth_bytes_per_cycle=2,
    )
    assert counts.stall_cycles == evaluate_memory(**args, slots=units).stall_cycles
    whole = evaluate_memory(**args, slots=1).stall_cycles
    assert counts.stall_cycles < whole


def test_ties_go_to_the_lower_energy():
    from sod.designs.search import best_mapping
    from sod.models.common import Counts

    arch = SparTenArch()

    def counts(macs: float) -> Counts:
        return Counts(100, 5, 10, 10, 10, 1024, {"mac": macs})

    runs = [("a", arch, lambda: counts(50)), ("b", arch, lambda: counts(20))]
    best = best_mapping(design_of(arch), runs)
    assert best.details["mapping"] == "b"  # same cycles, fewer MACs priced
    assert best.details["mapping_cycles"] == {"a": 105, "b": 105}
    faster = [*runs, ("c", arch, lambda: Counts(90, 0, 10, 10, 10, 1024, {"mac": 99}))]
    assert best_mapping(design_of(arch), faster).details["mapping"] == "c"  # cycles first
