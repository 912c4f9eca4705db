"""Every preset gives the same Counts on a tiled activation mask (batch as a repeat) as on
the same mask expanded to every row (docs/large-batch.md), and the parts a large
convolution runs in add up as documented."""

from functools import partial

import numpy as np
import pytest

import sod.models.accelerators as acc
from sod.arch.presets import PRESET_NAMES, load_arch
from sod.designs import evaluate
from sod.models.common import Counts
from sod.models.index_match import evaluate_index_match
from sod.models.operands import operand_masks
from sod.models.scnn import evaluate_scnn
from sod.models.sparten import evaluate_sparten
from sod.sparsity import apply_sparsity
from sod.workload.gemm import Gemm, conv2d
from sod.workload.mask import BitMask, TiledMask, tile_rows
from sod.workload.zoo import get_model


def _fields(c: Counts) -> tuple:
    return (
        c.compute_cycles,
        c.stall_cycles,
        c.macs_dense,
        c.macs_issued,
        c.macs_effectual,
        c.pe_count,
        dict(c.actions),
    )


def _tiled_layers() -> list[Gemm]:
    """LeNet-5 at batch 5 with S = 2 (5 = 2·2 + 1: a last partial period), and a grouped
    convolution with its own masks per group."""
    net = apply_sparsity(get_model("lenet5", batch=5), "han2015", act_images=2)
    layers = [g for g in net if isinstance(g.act_mask, TiledMask)]
    rng = np.random.default_rng(3)
    conv = conv2d("grouped", 6, 6, 8, 8, 3, padding=1, groups=2, batch=5)
    period = rng.random((2, 2 * 36, conv.k)) < 0.4
    act = tile_rows(BitMask.from_bool(period.reshape(-1, conv.k)), conv.m, 2)
    weight = BitMask.from_bool(rng.random((2 * conv.k, conv.n)) < 0.5)
    layers.append(conv.with_(act_mask=act, weight_mask=weight, act_density=act.density))
    return layers


LAYERS = _tiled_layers()


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_tiled_mask_gives_the_counts_of_the_expanded_mask(preset):
    arch = load_arch(preset)
    assert len(LAYERS) >= 3
    for g in LAYERS:
        assert isinstance(g.act_mask, TiledMask)
        expanded = g.with_(act_mask=g.act_mask.expanded())
        assert _fields(evaluate(g, arch)) == _fields(evaluate(expanded, arch)), g.name


def _composed(compute, gemm: Gemm, arch, monkeypatch) -> tuple[Counts, Counts]:
    """``compute`` on the tiled A run in parts of one image, and on the expanded A."""
    masks = operand_masks(gemm, tiled=True)
    monkeypatch.setattr(acc, "EXPAND_ACT_BYTES", 0)
    assert acc._row_parts(gemm, masks)  # runs in parts
    parts = acc._tiled_compute(gemm, arch, compute, masks)
    monkeypatch.undo()
    whole = operand_masks(gemm.with_(act_mask=gemm.act_mask.expanded()))
    assert acc._row_parts(gemm, whole) is None
    return parts, acc._tiled_compute(gemm, arch, compute, whole)


def test_scnn_parts_add_up_exactly(monkeypatch):
    """SCNN runs images one after another: parts of whole images add up exactly (with
    bank conflicts enumerated, not sampled)."""
    g = next(x for x in LAYERS if x.name == "conv2")
    compute = partial(evaluate_scnn, conflict_cycles=10**9)
    parts, whole = _composed(compute, g, load_arch("scnn"), monkeypatch)
    assert _fields(parts) == _fields(whole)


def test_index_match_parts_add_up_when_images_fill_whole_tiles(monkeypatch):
    """Index matching's row tiles (32 rows) fit LeNet-5 conv2's images (64 rows) exactly."""
    g = next(x for x in LAYERS if x.name == "conv2")
    parts, whole = _composed(evaluate_index_match, g, load_arch("index-match"), monkeypatch)
    assert _fields(parts) == _fields(whole)


def test_sparten_parts_approximate_the_cluster_barrier(monkeypatch):
    """SparTen's cycles are the slowest cluster's sum over its rows: parts take the max
    per part (an upper bound, close for parts of whole images)."""
    g = next(x for x in LAYERS if x.name == "conv2")
    parts, whole = _composed(evaluate_sparten, g, load_arch("sparten"), monkeypatch)
    assert parts.macs_effectual == whole.macs_effectual
    assert parts.compute_cycles >= whole.compute_cycles
    assert parts.compute_cycles <= 1.1 * whole.compute_cycles


def test_dense_convolution_input_runs_one_part_for_all(monkeypatch):
    """A dense A (a network's input) is periodic with any period: one part of whole
    images stands for the batch, exactly for SCNN."""
    g = conv2d("in", 8, 8, 3, 8, 3, padding=1, batch=6)
    g = g.with_(weight_mask=np.random.default_rng(0).random((g.k, g.n)) < 0.5)
    masks = operand_masks(g, tiled=True)
    monkeypatch.setattr(acc, "EXPAND_ACT_BYTES", 64 * (g.k + acc.PART_BYTES_PER_ROW * g.n))
    parts = acc._row_parts(g, masks)
    assert parts == [(0, 64, 6)]
    compute = partial(evaluate_scnn, conflict_cycles=10**9)
    arch = load_arch("scnn")
    split = acc._tiled_compute(g, arch, compute, masks)
    monkeypatch.undo()
    assert _fields(split) == _fields(acc._tiled_compute(g, arch, compute, masks))


@pytest.mark.parametrize("preset", ["sparse-on-dense", "sparse-on-dense-reorder"])
@pytest.mark.parametrize("stream_bytes", [1, 200])
def test_sparse_on_dense_encodes_a_period_in_parts_exactly(preset, stream_bytes, monkeypatch):
    """A's stream tiles encoded a few vectors at a time (a large period) cost the same
    stored bits and decode cycles as the whole expanded tile (CSC adds up over vectors)."""
    import sod.models.systolic_steps as steps

    monkeypatch.setattr(steps, "ACT_STREAM_BYTES", stream_bytes)
    arch = load_arch(preset)
    for g in LAYERS:
        expanded = g.with_(act_mask=g.act_mask.expanded())
        assert _fields(evaluate(g, arch)) == _fields(evaluate(expanded, arch)), g.name
