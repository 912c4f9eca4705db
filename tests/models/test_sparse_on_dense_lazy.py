"""Sparse-on-Dense layers whose masks are unpacked only when read (systolic_options._Lazy)
and reordered layers measured from the layout search's packed bits: the same arrays, the
same counts and the same evaluation as with operand_masks' eager arrays."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sod.arch.presets import load_arch
from sod.arch.spec import SparseOnDenseArch
from sod.models import systolic_options as so
from sod.models.operands import operand_masks
from sod.models.sparse_on_dense import evaluate
from sod.models.systolic_options import Layer, SystolicOptions
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def _gemms() -> list[Gemm]:
    rng = np.random.default_rng(11)

    def bits(rows: int, cols: int, d: float, band: bool = False) -> BitMask:
        m = rng.random((rows, cols)) < d
        if band:  # pruned channels: the layout search gathers them
            m[rng.random(rows) < 0.4] = False
            m[:, rng.random(cols) < 0.4] = False
        return BitMask.from_bool(m)

    plain = Gemm("fc", 5, 200, 96, weight_mask=bits(200, 96, 0.2, True),
                 act_mask=bits(5, 200, 0.6))  # fmt: skip
    no_act = Gemm("w", 40, 130, 70, weight_mask=bits(130, 70, 0.3, True))
    stacked = Gemm("g", 9, 64, 40, repeat=3, weight_mask=bits(3 * 64, 40, 0.25, True),
                   act_mask=bits(3 * 9, 64, 0.5))  # fmt: skip
    shared = Gemm("h", 9, 64, 40, repeat=3, weight_mask=bits(64, 40, 0.25, True),
                  act_mask=bits(3 * 9, 64, 0.5))  # fmt: skip
    return [plain, no_act, stacked, shared]


GEMMS = _gemms()


@pytest.mark.parametrize("gemm", GEMMS, ids=lambda g: g.name)
def test_lazy_masks_are_operand_masks(gemm):
    opts = SystolicOptions.from_arch(load_arch("sparse-on-dense"))
    layer = Layer.of(gemm, opts)
    assert isinstance(layer.masks, so._Lazy)
    eager = operand_masks(gemm, tiled=True)
    assert layer.masks.groups == eager.groups
    assert layer.masks.weight_nnz == eager.weight_nnz
    assert layer.effectual == eager.effectual(gemm.m)  # from the packed bits
    assert np.array_equal(layer.masks.weight, eager.weight)  # unpacked on first read
    if eager.act is None:
        assert layer.masks.act is None
    else:
        assert np.array_equal(layer.masks.act, eager.act)


@pytest.mark.parametrize("gemm", GEMMS, ids=lambda g: g.name)
@pytest.mark.parametrize("preset", ["sparse-on-dense", "sparse-on-dense-reorder"])
@pytest.mark.parametrize("dataflow", ["auto", "ws", "os", "is"])
@pytest.mark.parametrize(("act_format", "weight_format"), [("dense", "csc"), ("csc", "bitmap")])
def test_evaluation_equals_eager_masks(
    gemm, preset, dataflow, act_format, weight_format, monkeypatch
):
    arch = load_arch(preset, dataflow=dataflow)
    update = {"act_format": act_format, "weight_format": weight_format, "glb_kib": 8}
    arch = arch.model_copy(update=update)
    from sod.models import memo

    memo.clear_all()
    lazy = evaluate(gemm, arch)
    monkeypatch.setattr(so._Lazy, "of", classmethod(lambda cls, g: None))
    memo.clear_all()  # nothing measured on the lazy masks is reused
    eager = evaluate(gemm, arch)
    assert lazy == eager


@pytest.mark.parametrize("gemm", GEMMS, ids=lambda g: g.name)
@pytest.mark.parametrize("act_format", ["dense", "csc"])
def test_reordered_layer_equals_a_copy(gemm, act_format):
    arch = SparseOnDenseArch(
        array_rows=16, array_cols=16, dataflow="ws", weight_reorder="sort", act_format=act_format
    )
    opts = SystolicOptions.from_arch(arch)
    copied = Layer.of(gemm, opts).reordered(opts)
    layer = Layer.of(gemm, opts)
    moved = layer.reordered(opts, consume=True)
    if copied is None:
        assert moved is None
        return
    assert moved is not None
    eager = operand_masks(gemm, tiled=True)
    assert moved.effectual == copied.effectual == eager.effectual(gemm.m)
    assert np.array_equal(moved.masks.weight, copied.masks.weight)
    if act_format == "dense" and eager.act is not None:
        assert np.array_equal(moved.masks.act, eager.act)  # A keeps its order
    # the kept block counts are those of the permuted masks
    for c, w in zip(moved.block_counts(16, 16, True, False), copied.masks.weight, strict=True):
        from sod.compiler.plan import block_counts

        assert np.array_equal(c.row_counts, block_counts(w, 16, 16).row_counts)


def test_reordered_effectual_with_compressed_a_is_the_product():
    # A stored compressed is permuted with W: the layer's effectual MACs are the mask
    # product, counted on the permuted masks (not the BitMask's natural bits).
    gemm = GEMMS[0]
    arch = SparseOnDenseArch(
        array_rows=16, array_cols=16, dataflow="is", weight_reorder="sort", act_format="csc"
    )
    opts = SystolicOptions.from_arch(arch)
    perm = Layer.of(gemm, opts).reordered(opts, consume=True)
    assert perm is not None
    a = gemm.act_mask.to_bool().astype(np.int64)
    w = gemm.weight_mask.to_bool().astype(np.int64)
    assert perm.effectual == int((a @ w).sum())
    assert replace(perm, masks=perm.masks).effectual == int((a @ w).sum())


@pytest.mark.parametrize("preset", ["sparse-on-dense", "sparse-on-dense-reorder"])
def test_evaluation_without_the_extension(preset, monkeypatch):
    # The numpy twins of every compiled kernel the model reaches give the same Counts.
    from sod.compiler import bitcount, image, plan, reorder
    from sod.models import memo

    arch = load_arch(preset).model_copy(update={"glb_kib": 8})
    memo.clear_all()
    with_native = [evaluate(g, arch) for g in GEMMS]
    for module in (bitcount, reorder, plan, image):
        monkeypatch.setattr(module, "_NATIVE", None)
    memo.clear_all()  # no result of the compiled run is reused
    assert [evaluate(g, arch) for g in GEMMS] == with_native
