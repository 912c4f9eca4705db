"""Weight reordering (sod.compiler.reorder): exact outputs, unchanged totals, never slower,
zero tiles where the structure allows them, and the reordered GLB image."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sod.compiler as sc
from sod.arch.presets import PRESET_NAMES, load_arch
from sod.arch.spec import SparseOnDenseArch
from sod.compiler.reorder import _cost, skip_cost, weight_reorder, zero_tile_fraction
from sod.errors import ArchitectureError, SodError
from sod.formats import FormatError
from sod.models.sparse_on_dense import evaluate
from sod.models.systolic_options import Layer, SystolicOptions
from sod.models.systolic_steps import _effectual
from sod.reference.sparse_on_dense import run_layer
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


def _gemm(w: np.ndarray, m: int, a: np.ndarray | None = None) -> Gemm:
    k, n = w.shape
    kw = {}
    if a is not None:
        kw = {"act_mask": BitMask.from_bool(a), "act_density": float(a.mean())}
    return Gemm(
        "r", m, k, n, weight_mask=BitMask.from_bool(w), weight_density=float(w.mean()), **kw
    )


def _block_mask(rng: np.random.Generator, k: int, n: int, block: int, density: float):
    keep = rng.random((-(-k // block), -(-n // block))) < density
    return np.repeat(np.repeat(keep, block, 0), block, 1)[:k, :n]


def _is_perm(p: np.ndarray, size: int) -> bool:
    return p.shape == (size,) and np.array_equal(np.sort(p), np.arange(size))


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 70),
    n=st.integers(1, 70),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    df=st.sampled_from(["ws", "os", "is"]),
    density=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
    seed=st.integers(0, 2**31),
)
def test_permutations_are_exact_and_never_worse(k, n, rows, cols, df, density, seed):
    """A[:, p] @ W[p][:, q], written back through q, is A @ W; the skip cost never grows."""
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((k, n)) < density, rng.integers(-9, 10, (k, n)), 0)
    a = rng.integers(-9, 10, (5, k))
    perm = weight_reorder(w != 0, rows, cols, df, "sort")
    assert _is_perm(perm.rows, k) and _is_perm(perm.cols, n)
    out_p = a[:, perm.rows] @ perm.apply(w)
    out = np.empty_like(out_p)
    out[:, perm.cols] = out_p  # written back through the inverse column permutation
    assert np.array_equal(out, a @ w)
    assert np.array_equal(perm.restore(perm.apply(w)), w)
    assert skip_cost(perm.apply(w != 0), rows, cols, df) <= skip_cost(w != 0, rows, cols, df)
    # The candidates' cost, computed without building the permuted mask, is its skip cost.
    r, c = rng.permutation(k), rng.permutation(n)
    assert _cost(w != 0, r, c, rows, cols, df) == skip_cost((w != 0)[r][:, c], rows, cols, df)
    again = weight_reorder(w != 0, rows, cols, df, "sort")  # deterministic
    assert np.array_equal(again.rows, perm.rows) and np.array_equal(again.cols, perm.cols)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(8, 80),
    n=st.integers(8, 80),
    m=st.integers(1, 40),
    array=st.sampled_from([(4, 4), (8, 4), (4, 8), (8, 8)]),
    df=st.sampled_from(["ws", "os", "is", "auto"]),
    timing=st.sampled_from(["tpu", "scalesim"]),
    w_density=st.sampled_from([0.02, 0.1, 0.4]),
    a_density=st.sampled_from([0.5, 1.0]),
    seed=st.integers(0, 2**31),
)
def test_reordering_never_increases_cycles_on_random_masks(
    k, n, m, array, df, timing, w_density, a_density, seed
):
    """Cycles never grow; dense, issued-or-fewer and effectual MACs and nnz are unchanged."""
    rng = np.random.default_rng(seed)
    w = rng.random((k, n)) < w_density
    a = rng.random((m, k)) < a_density
    g = _gemm(w, m, a)
    kw = {"array_rows": array[0], "array_cols": array[1], "dataflow": df, "timing": timing}
    kw |= {"glb_kib": 4.0}  # small enough that memory stalls count too
    plain = evaluate(g, SparseOnDenseArch(**kw))
    sorted_ = evaluate(g, SparseOnDenseArch(**kw, weight_reorder="sort"))
    assert sorted_.cycles <= plain.cycles
    assert sorted_.macs_dense == plain.macs_dense
    assert sorted_.macs_effectual == plain.macs_effectual
    assert sorted_.macs_issued <= plain.macs_issued or sorted_.cycles < plain.cycles


@pytest.mark.parametrize("act_format", ["csc", "dense"])
def test_permuted_layer_keeps_nnz_and_effectual_macs(act_format):
    """The reordered masks: same non-zeros, A's columns moved with W's rows (the mask
    product is unchanged), and the model runs on the permuted tiles. A stored dense is
    read only through its column counts: it keeps its order, and the permuted layer's
    effectual MACs are the natural ones."""
    rng = np.random.default_rng(3)
    w = _block_mask(rng, 96, 80, 8, 0.3) & (rng.random((96, 80)) < 0.8)
    a = rng.random((20, 96)) < 0.5
    g = _gemm(w, 20, a)
    arch = SparseOnDenseArch(
        array_rows=16, array_cols=16, dataflow="ws", weight_reorder="sort", act_format=act_format
    )
    opts = SystolicOptions.from_arch(arch).for_gemm(g)
    layer = Layer.of(g, opts)
    perm_layer = layer.reordered(opts)
    assert perm_layer is not None and perm_layer.reorder == "sort"
    pw, pa = perm_layer.masks.weight[0], perm_layer.masks.act[0]
    assert pw.sum() == w.sum() and pa.sum() == a.sum()
    product = int((a.astype(int) @ w.astype(int)).sum())
    assert perm_layer.masks.effectual(20) == product
    perm = weight_reorder(w, 16, 16, "ws", "sort")
    assert np.array_equal(pw, perm.apply(w))
    if act_format == "dense":
        assert np.array_equal(pa, a)
    else:
        assert _effectual(perm_layer.masks.weight, perm_layer.masks.act, 20) == product
        assert np.array_equal(pa, a[:, perm.rows])
    # The model's tile analysis sees the permuted layout: the same as a GEMM stored permuted.
    g_perm = _gemm(perm.apply(w), 20, a[:, perm.rows])
    kw = {"array_rows": 16, "array_cols": 16, "dataflow": "ws", "ideal_memory": True}
    natural = evaluate(g, SparseOnDenseArch(**kw))
    pre = evaluate(g_perm, SparseOnDenseArch(**kw))
    chosen = evaluate(g, SparseOnDenseArch(**kw, weight_reorder="sort"))
    assert chosen.cycles == min(natural.cycles, pre.cycles)
    assert chosen.details["folds"] == pre.details["folds"] < natural.details["folds"]
    assert chosen.details["weight_reorder"] == "sort"


@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
def test_scattered_channels_gather_into_one_tile(timing):
    """Hand-computed: even rows and even columns non-zero on a 64×64 W, 32×32 array. In
    natural order all four tiles hold weights; reordered, the 32 live rows and columns
    fill one tile and three folds are skipped."""
    w = np.zeros((64, 64), bool)
    w[::2, ::2] = True
    g = _gemm(w, 64)
    kw = {"array_rows": 32, "array_cols": 32, "dataflow": "ws", "ideal_memory": True}
    kw |= {"timing": timing}
    off = evaluate(g, SparseOnDenseArch(**kw))
    on = evaluate(g, SparseOnDenseArch(**kw, weight_reorder="sort"))
    per_fold = 2 * 32 + 32 + 64 - 2
    if timing == "scalesim":
        assert off.compute_cycles == 4 * per_fold - 1
        assert on.compute_cycles == per_fold - 1
    else:
        assert off.compute_cycles == 3 * 64 + per_fold - 1
        assert on.compute_cycles == per_fold - 1
    assert on.macs_issued == 32 * 32 * 64
    assert on.macs_effectual == off.macs_effectual == 32 * 32 * 64
    assert zero_tile_fraction(weight_reorder(w, 32, 32, "ws", "sort").apply(w), 32, 32) == 0.75


@pytest.mark.parametrize("seed", range(5))
def test_block_structured_masks_gain_zero_tiles(seed):
    """8×8 blocks kept at density 0.3 on a 32×32 array: reordering makes zero tiles (the
    natural order has almost none; a 32×32 tile is zero with probability 0.7^16) and the
    reorder preset runs fewer WS folds."""
    rng = np.random.default_rng(seed)
    w = _block_mask(rng, 512, 512, 8, 0.3)
    perm = weight_reorder(w, 32, 32, "ws", "sort")
    before, after = zero_tile_fraction(w, 32, 32), zero_tile_fraction(perm.apply(w), 32, 32)
    assert after >= before + 0.02
    g = _gemm(w, 64)
    kw = {"dataflow": "ws", "ideal_memory": True}
    off = evaluate(g, load_arch("sparse-on-dense", **kw))
    on = evaluate(g, load_arch("sparse-on-dense-reorder", **kw))
    assert on.details["folds"] < off.details["folds"]
    assert on.cycles < off.cycles


def test_random_unstructured_masks_gain_nothing():
    """At pruned-CNN densities every row touches every column block: no zero tiles to make."""
    rng = np.random.default_rng(0)
    w = rng.random((512, 512)) < 0.3
    perm = weight_reorder(w, 32, 32, "ws", "sort")
    assert zero_tile_fraction(perm.apply(w), 32, 32) == zero_tile_fraction(w, 32, 32) == 0.0


def test_one_tile_and_none_are_the_identity():
    w = np.random.default_rng(1).random((20, 30)) < 0.3
    assert weight_reorder(w, 32, 32, "ws", "sort").is_identity
    assert weight_reorder(w, 4, 4, "ws", "none").is_identity
    with pytest.raises(ValueError, match="unknown weight reorder"):
        weight_reorder(w, 4, 4, "ws", "shuffle")


def test_preset_and_spec_field():
    assert "sparse-on-dense-reorder" in PRESET_NAMES
    arch = load_arch("sparse-on-dense-reorder")
    assert arch.weight_reorder == "sort" and arch.skip_zero_tiles
    assert load_arch("sparse-on-dense").weight_reorder == "none"
    with pytest.raises(ArchitectureError, match="weight_reorder"):
        load_arch("sparse-on-dense", weight_reorder="shuffle")


def test_activation_times_activation_is_not_reordered():
    """W that is an activation (attention) is not known when compiling: left as it is."""
    w = np.zeros((64, 64), bool)
    w[::2, ::2] = True
    g = _gemm(w, 16).with_(w_is_weight=False)
    c = evaluate(g, load_arch("sparse-on-dense-reorder", array_rows=32, array_cols=32))
    assert c.details["weight_reorder"] == "none"


@pytest.mark.parametrize("df", ["ws", "os", "is"])
@pytest.mark.parametrize("timing", ["scalesim", "tpu"])
def test_reordered_image_through_the_cycle_level_datapath(df, timing):
    """A reordered GLB image: the manifest records the permutations, W decodes back to the
    original, and the cycle-level GLB -> decompressor -> array run on A[:, p] gives A @ W
    (written back through q) in the cycles the model gives the permuted layout."""
    rng = np.random.default_rng(11)
    keep = _block_mask(rng, 40, 36, 4, 0.3)
    w = np.where(keep, rng.integers(1, 100, keep.shape), 0)
    a = rng.integers(-50, 50, (9, 40))
    opts = sc.make_options(format="csc", read_width_bits=16, reorder="sort")
    image = sc.compile_layer(w, 8, 8, df, opts)
    perm = image.reorder
    assert perm is not None and image.manifest["reorder"] == "sort"
    assert np.array_equal(image.decode_weights(), w)
    run = run_layer(a[:, perm.rows], image, timing)
    out = np.empty_like(run.output)
    out[:, perm.cols] = run.output
    assert np.array_equal(out, a @ w)
    g_perm = _gemm(perm.apply(w != 0), 9)
    arch = SparseOnDenseArch(
        array_rows=8,
        array_cols=8,
        dataflow=df,
        ideal_memory=True,
        glb_read_width_bits=16,
        decompressor_tile_buffer=False,
        skip_zero_tiles=False,
        timing=timing,
    )
    assert evaluate(g_perm, arch).cycles == run.cycles


def test_reordered_image_round_trip_and_bad_permutations(tmp_path):
    rng = np.random.default_rng(2)
    w = np.where(_block_mask(rng, 30, 20, 5, 0.4), 7, 0).astype(np.int8)
    image = sc.compile_layer(w, 8, 8, "ws", sc.make_options(reorder="sort"))
    image.write(tmp_path / "l")
    back = sc.read_image(tmp_path / "l")
    assert np.array_equal(back.decode_weights(), w)
    plain = sc.compile_layer(w, 8, 8, "ws", sc.make_options())
    assert "row_perm" not in plain.manifest and plain.reorder is None
    for bad in ({"row_perm": [0] * 30}, {"col_perm": list(range(19))}, {"row_perm": "x"}):
        mf = json.loads(json.dumps(image.manifest)) | bad
        with pytest.raises(FormatError, match="perm"):
            sc.check_image(image.data, mf)
    mf = dict(image.manifest)
    del mf["col_perm"]
    with pytest.raises(FormatError, match="together"):
        sc.check_image(image.data, mf)


def test_compile_cli_reorder(tmp_path):
    """``sod compile --reorder sort``: the manifest holds the permutations, W decodes back,
    the zero-tile gain is printed; a bad value is a one-line error (exit 2)."""
    from typer.testing import CliRunner

    from sod.cli import app

    w = np.zeros((64, 48), np.int8)
    w[::2, ::3] = 5  # scattered live rows and columns: they gather into fewer tiles
    np.save(tmp_path / "w.npy", w)
    args = ["compile", "--weights", str(tmp_path / "w.npy"), "--array", "16x16"]
    res = CliRunner().invoke(app, [*args, "--reorder", "sort", "--out", str(tmp_path / "i")])
    assert res.exit_code == 0, res.output
    assert "zero tiles 0.000 -> 0.833" in res.output  # 2 live tiles of 12
    img = sc.read_image(tmp_path / "i")
    assert img.manifest["reorder"] == "sort" and np.array_equal(img.decode_weights(), w)
    bad = CliRunner().invoke(app, [*args, "--reorder", "shuffle", "--out", str(tmp_path / "j")])
    # A SodError: `sod`'s main turns it into one line on stderr and exit 2.
    assert isinstance(bad.exception, SodError) and "reorder" in str(bad.exception)
    assert "\n" not in str(bad.exception)


@pytest.mark.parametrize("nbytes", [1, 2, 7, 8, 9, 17])
@pytest.mark.parametrize("fewest_first", [True, False])
def test_signature_order_is_the_lexicographic_order(nbytes, fewest_first):
    """By blocks touched (fewest_first), the pattern (touching the first block first),
    the count (densest first), then the index — whichever way the keys are packed."""
    from sod.compiler.reorder import _signature_order

    rng = np.random.default_rng(nbytes)
    items = 300
    # few distinct patterns (many ties), some items all ones
    base = rng.integers(0, 256, (nbytes, 5), dtype=np.uint8)
    blocks = base[:, rng.integers(0, 5, items)]
    blocks[:, rng.random(items) < 0.2] = 255
    counts = rng.integers(0, 4, items).astype(np.int64)
    bits = np.unpackbits(blocks, axis=0)  # (8·nbytes, items)
    keys = [np.arange(items), -counts, *(1 - bits[::-1])]
    if fewest_first:
        keys.append(bits.sum(axis=0))
    want = np.lexsort(keys)
    assert np.array_equal(_signature_order(blocks, counts, fewest_first), want)
