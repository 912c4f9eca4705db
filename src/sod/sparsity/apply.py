"""Attach realistic weight and activation masks to a :class:`~sod.workload.gemm.Workload`.

:func:`apply_sparsity` is what ``sod run --sparsity PROFILE --seed N`` calls. What it puts
on every :class:`~sod.workload.gemm.Gemm`:

* ``weight_mask``: a :class:`~sod.workload.mask.BitMask` of W's non-zeros, shape
  ``(groups · k) × n`` for a grouped convolution (group g = rows ``g·k … (g+1)·k − 1``),
  otherwise ``k × n``; a linear layer with ``repeat > 1`` (identical stacked transformer
  blocks) carries ONE representative k × n mask shared by all repeats (memory: LLaMA-2-7B
  would need 0.8 GB of masks otherwise) — the rule of :mod:`sod.workload.mask`, read
  back through ``Gemm.operand_groups`` / ``stacked_weight_mask()``. ``None`` means
  dense. ``weight_density`` is always the mask's density.
* ``act_mask``: a BitMask of A's non-zeros (im2col'd for a convolution, padding zeros
  included), ``(groups · m) × k`` for grouped convolutions, ``m × k`` otherwise; ``None``
  means dense, or — when ``act_density < 1`` — density known but pattern not (ONNX).
  ``act_density`` is always the mask's density when there is a mask.
* ``weights``: untouched when absent (zoo networks never store float weights); real
  imported weights are multiplied by the new mask so values and masks agree.

Randomness: layer i draws from ``numpy.random.default_rng([seed, i, stream])``, so a
layer's masks do not depend on which other layers exist or on evaluation order.

Synthetic masks are cached on disk (:mod:`sod.sparsity.cache`), keyed by everything they
depend on (generator version, profile, seed, layer index and shape, density): a cached
mask is bit-identical to a generated one. Masks pruned from real weights are not cached.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from sod.errors import SparsityError
from sod.limits import DEFAULT_ACT_IMAGES
from sod.sparsity import prune as P
from sod.sparsity.activations import conv_activation_mask, vector_mask
from sod.sparsity.cache import cached_mask, load_mask, mask_key, store_mask
from sod.sparsity.profiles import HAN2015, Profile, han_densities, parse_profile
from sod.sparsity.synth import IID, mask_rows, synthetic_magnitudes
from sod.workload.batching import act_period_rows, check_act_images
from sod.workload.gemm import Activation, Gemm, LayerKind, Workload
from sod.workload.mask import BitMask, tile_rows

_WEIGHT_STREAM, _ACT_STREAM, _GLOBAL_STREAM = 0, 1, 2
_SPARSE_INPUTS = (Activation.RELU,)


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), index, stream])


def real_weight_matrix(gemm: Gemm) -> np.ndarray | None:
    """An imported GEMM's weights in mask layout ((groups·k) × n or k × n), or None."""
    w = gemm.weights
    if w is None:
        return None
    w = np.asarray(w)
    if w.ndim == 3:
        return w.reshape(-1, w.shape[-1])
    return w


def _selected(gemm: Gemm, index: int, first_conv: int | None, profile: Profile) -> bool:
    """Which weight GEMMs a profile prunes."""
    if not gemm.w_is_weight or gemm.kind == LayerKind.ATTENTION:
        return False
    if profile.name == "bert":
        return gemm.kind == LayerKind.LINEAR
    if profile.name == "resnet":
        return index != first_conv
    if profile.name == "asp":
        return index != first_conv and _asp_channels(gemm) % profile.m_group == 0
    if profile.name == "mobilenet":
        if gemm.kind == LayerKind.LINEAR:
            return True
        c = gemm.conv
        return c is not None and c.kernel_h * c.kernel_w == 1 and c.groups == 1
    return True


def _asp_channels(gemm: Gemm) -> int:
    """Input channels one output channel reads (per group): ASP's 2:4 groups run along
    them. A linear layer's are its k."""
    c = gemm.conv
    if gemm.kind == LayerKind.CONV and c is not None:
        return c.in_channels // c.groups
    return gemm.k


def _prune_asp(mags: np.ndarray, gemm: Gemm, n_keep: int, m_group: int) -> np.ndarray:
    """N:M over input channels at each kernel position (ASP permutes a conv weight to
    (kh, kw, out, in) and groups consecutive input channels); k is in (channel, kh, kw)
    order, so a conv's rows are regrouped to (kh·kw, channel) first, then put back."""
    c = gemm.conv
    positions = c.kernel_h * c.kernel_w if gemm.kind == LayerKind.CONV and c else 1
    if positions == 1:
        return P.prune_n_m(mags, n_keep, m_group)
    chans, n = mags.shape[0] // positions, mags.shape[1]
    by_position = mags.reshape(chans, positions, n).transpose(1, 0, 2).reshape(-1, n)
    keep = P.prune_n_m(by_position, n_keep, m_group)
    return keep.reshape(positions, chans, n).transpose(1, 0, 2).reshape(-1, n)


def _magnitudes(gemm: Gemm, index: int, seed: int, profile: Profile) -> np.ndarray:
    real = real_weight_matrix(gemm)
    if real is not None:
        return np.abs(real.astype(np.float32, copy=False))
    params = IID if profile.weights == "iid" else None
    # Per-channel rules read channels contiguously; a grouped layer is regrouped anyway.
    column_major = profile.method == "rowbal" and gemm.operand_groups == 1
    return synthetic_magnitudes(
        gemm, _rng(seed, index, _WEIGHT_STREAM), params, column_major=column_major
    )


def _per_group(fn, mags: np.ndarray, gemm: Gemm) -> np.ndarray:
    """Apply a per-column pruning rule to each group of a stacked mask separately."""
    if gemm.operand_groups == 1:
        return fn(mags)
    g, k, n = gemm.repeat, gemm.k, gemm.n
    wide = mags.reshape(g, k, n).transpose(1, 0, 2).reshape(k, g * n)
    keep = fn(wide)
    return keep.reshape(k, g, n).transpose(1, 0, 2).reshape(g * k, n)


def _prune_one(mags: np.ndarray, gemm: Gemm, profile: Profile, density: float) -> np.ndarray:
    try:
        if profile.method in ("per_layer", "han"):
            return P.prune_unstructured(mags, density, nonnegative=True)
        if profile.method == "rowbal":
            return _per_group(
                lambda a: P.prune_row_balanced(a, density, nonnegative=True), mags, gemm
            )
        if profile.name == "asp":
            return _per_group(
                lambda a: _prune_asp(a, gemm, profile.n_keep, profile.m_group), mags, gemm
            )
        if profile.method == "nm":
            return _per_group(lambda a: P.prune_n_m(a, profile.n_keep, profile.m_group), mags, gemm)
        if profile.method == "block":
            return _per_group(lambda a: P.prune_blocks(a, density, profile.block), mags, gemm)
    except SparsityError as err:
        raise SparsityError(f"layer {gemm.name!r}: {err}") from None
    raise AssertionError(profile.method)


def _layer_key(gemm: Gemm, index: int) -> tuple:
    """What a layer's synthetic masks depend on besides the profile and seed."""
    return (
        index,
        gemm.name,
        gemm.m,
        gemm.k,
        gemm.n,
        gemm.repeat,
        gemm.operand_groups,
        str(gemm.kind),
        str(gemm.input_activation),
        gemm.conv,
    )


def _weight_key(gemm: Gemm, index: int, seed: int, profile: Profile, density: float) -> str:
    # The whole profile (name included: two profiles may share a method and parameters
    # but prune differently), the layer's density, the seed and the layer.
    return mask_key("weight", repr(profile), density, seed, _layer_key(gemm, index))


def _synthetic_weight_mask(
    gemm: Gemm, index: int, seed: int, profile: Profile, density: float
) -> BitMask:
    mags = _magnitudes(gemm, index, seed, profile)
    keep = _prune_one(mags, gemm, profile, density)
    del mags
    return BitMask.from_bool(keep)


def _weight_masks(gemms: list[Gemm], chosen: list[int], seed: int, prof: Profile, han) -> None:
    """Prune every chosen layer's weights one by one (in place in ``gemms``)."""
    for i in chosen:
        density = han[gemms[i].name][0] if han is not None else prof.density
        g = gemms[i]
        if real_weight_matrix(g) is not None:
            mags = _magnitudes(g, i, seed, prof)
            keep = _prune_one(mags, g, prof, density)
            del mags
            gemms[i] = _with_weight_mask(g, keep)
            continue
        mask = cached_mask(
            _weight_key(g, i, seed, prof, density),
            partial(_synthetic_weight_mask, g, i, seed, prof, density),
            (mask_rows(g), g.n),
        )
        gemms[i] = g.with_(weight_mask=mask, weight_density=mask.density)


def _global_masks(gemms: list[Gemm], chosen: list[int], seed: int, prof: Profile) -> None:
    """Prune the chosen layers' weights together (in place in ``gemms``); synthetic masks
    come from the cache when every layer's is there."""
    synthetic = all(real_weight_matrix(gemms[i]) is None for i in chosen)
    layers = tuple(_layer_key(gemms[i], i) for i in chosen)
    keys = [mask_key("weight-global", repr(prof), seed, layers, i) for i in chosen]
    if synthetic:
        shapes = [(mask_rows(gemms[i]), gemms[i].n) for i in chosen]
        hits = [load_mask(key, shape) for key, shape in zip(keys, shapes, strict=True)]
        if all(h is not None for h in hits):
            for i, mask in zip(chosen, hits, strict=True):
                assert mask is not None
                gemms[i] = gemms[i].with_(weight_mask=mask, weight_density=mask.density)
            return
    scores = [_magnitudes(gemms[i], i, seed, prof) for i in chosen]
    mult = [gemms[i].repeat // gemms[i].operand_groups for i in chosen]
    keeps = P.prune_global(
        scores, prof.density, mult, rng=_rng(seed, 0, _GLOBAL_STREAM), nonnegative=True
    )
    del scores
    for i, keep, key in zip(chosen, keeps, keys, strict=True):
        gemms[i] = _with_weight_mask(gemms[i], keep)
        if synthetic:
            store_mask(key, gemms[i].weight_mask)  # type: ignore[arg-type]


def _with_weight_mask(gemm: Gemm, keep: np.ndarray) -> Gemm:
    real = real_weight_matrix(gemm)
    changes: dict[str, object] = {}
    if real is not None:
        keep = P.nonzero_after_pruning(real, keep)
        w = np.asarray(gemm.weights)  # not None: real is a view of it
        changes["weights"] = (real * keep).reshape(w.shape).astype(w.dtype, copy=False)
    density = float(np.count_nonzero(keep)) / keep.size
    return gemm.with_(weight_mask=BitMask.from_bool(keep), weight_density=density, **changes)


def _act_density(gemm: Gemm, profile: Profile, han: dict[str, tuple[float, float]] | None) -> float:
    if han is not None:
        return han[gemm.name][1]
    if profile.dense_acts or gemm.input_activation not in _SPARSE_INPUTS:
        return 1.0
    return profile.relu_act_density


def activation_mask(gemm: Gemm, density: float, rng: np.random.Generator) -> BitMask | None:
    """A synthetic A mask of the given density (None when dense)."""
    if density >= 1.0:
        return None
    c = gemm.conv
    if gemm.kind == LayerKind.CONV and c is not None:
        return conv_activation_mask(c, gemm.m // (c.out_h * c.out_w), density, rng)
    rows = gemm.m * gemm.operand_groups
    return BitMask.from_bool(vector_mask(rows, gemm.k, density, rng))


def _cached_activation_mask(
    gemm: Gemm, index: int, seed: int, density: float, period: int | None = None
) -> BitMask | None:
    """A's mask drawn for the first ``period`` rows (per group; default all m), tiled
    down to m rows (batch as a repeat, :mod:`sod.workload.batching`). The draw is the one
    of the same layer at a batch of the period's images: at a batch within
    ``act_images`` nothing changes."""
    if density >= 1.0:
        return None
    drawn = gemm if period is None or period >= gemm.m else gemm.with_(m=period, act_mask=None)

    def make() -> BitMask:
        mask = activation_mask(drawn, density, _rng(seed, index, _ACT_STREAM))
        assert mask is not None  # density < 1
        return mask

    mask = cached_mask(mask_key("act", density, seed, _layer_key(drawn, index)), make)
    if drawn is gemm:
        return mask
    return tile_rows(mask, gemm.m, mask.shape[0] // drawn.m)


def apply_sparsity(
    workload: Workload,
    profile: str,
    seed: int = 0,
    model: str | None = None,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> Workload:
    """Prune a workload's weights and give its activations masks, per ``profile``.

    ``profile`` follows the grammar of :mod:`sod.sparsity.profiles` (``han2015``,
    ``uniform:0.3``, ``global:0.1``, ``nm:2:4``, ``bert:0.1``, ``llama:2:4``, ``auto``,
    ``dense``, ``keep``, with ``,weights=iid`` / ``,act=0.4`` options). ``model`` names
    the zoo network for ``han2015``/``auto`` (default: ``workload.name``). Layers that
    already carry real weights (importers) are pruned by their real magnitudes; measured
    activation masks are kept. Activation patterns are drawn for at most ``act_images``
    images of the batch; a larger batch repeats them (:mod:`sod.workload.batching`).
    Raises :class:`~sod.errors.SparsityError` on bad input.
    """
    model = model or workload.name
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise SparsityError(f"seed must be a non-negative integer, got {seed!r}")
    prof = parse_profile(profile, model)
    act_images = check_act_images(act_images, "act_images")
    if prof.method == "none":
        return workload.with_gemms(
            [
                g.with_(weight_mask=None, weight_density=1.0, act_mask=None, act_density=1.0)
                for g in workload
            ]
        )
    han = han_densities(model) if prof.method == "han" else None
    # ASP keeps Han's measured activation densities where they exist (ReLU outputs do
    # not depend on the weight pattern to first order), unless act= is given.
    asp_acts = (
        han_densities(model)
        if prof.name == "asp" and model in HAN2015 and "act" not in prof.extra
        else {}
    )
    if han is not None:
        missing = [name for name in han if name not in {g.name for g in workload}]
        if missing:
            raise SparsityError(f"han2015 layer {missing[0]!r} is not in workload {model!r}")
    first_conv = next((i for i, g in enumerate(workload) if g.kind == LayerKind.CONV), None)
    gemms = list(workload)
    chosen = [
        i
        for i, g in enumerate(gemms)
        if _selected(g, i, first_conv, prof)
        and (han is None or g.name in han)
        and prof.method != "keep"
    ]

    if prof.method == "global" and chosen:
        _global_masks(gemms, chosen, seed, prof)
    else:
        _weight_masks(gemms, chosen, seed, prof, han)

    for i, g in enumerate(gemms):
        if g.act_mask is not None:
            continue  # measured by an importer: real beats synthetic
        if han is not None and g.name not in han:
            continue
        density = asp_acts[g.name][1] if g.name in asp_acts else _act_density(g, prof, han)
        period = act_period_rows(g, workload.batch, act_images)
        mask = _cached_activation_mask(g, i, seed, density, period)
        gemms[i] = g.with_(act_mask=mask, act_density=mask.density if mask else 1.0)
    return workload.with_gemms(gemms)
