"""The on-disk mask cache: cached masks are bit-identical to generated ones, corrupt
entries are regenerated, the cache can be disabled and bounded, and concurrent writers are
safe."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from sod.sparsity import apply as apply_mod
from sod.sparsity import cache
from sod.sparsity.apply import apply_sparsity
from sod.workload.zoo import get_model

CASES = [
    ("lenet5", "uniform:0.3", 1),
    ("lenet300", "global:0.2", 2),
    ("alexnet", "han2015", 0),
    ("lenet5", "nm:2:4,act=0.4", 3),
    ("lenet5", "asp", 3),  # same method and N:M as nm:2:4, different masks
]


def _masks(wl) -> list:
    out = []
    for g in wl:
        for m in (g.weight_mask, g.act_mask):
            out.append(None if m is None else (m.shape, m.packed.tobytes()))
        out.append((g.weight_density, g.act_density))
    return out


def _entries(d: Path) -> list[Path]:
    return sorted(d.glob("*.npy"))


@pytest.mark.parametrize(("model", "profile", "seed"), CASES)
def test_cached_equals_generated(model, profile, seed, tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", "off")
    ref = _masks(apply_sparsity(get_model(model), profile, seed=seed))
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    cold = _masks(apply_sparsity(get_model(model), profile, seed=seed))
    assert _entries(tmp_path)
    # Warm: served from disk (generators disabled), still bit-identical.
    monkeypatch.setattr(apply_mod, "synthetic_magnitudes", _fail)
    monkeypatch.setattr(apply_mod, "activation_mask", _fail)
    warm = _masks(apply_sparsity(get_model(model), profile, seed=seed))
    assert cold == ref
    assert warm == ref


def _fail(*args, **kwargs):
    raise AssertionError("generator called on a warm cache")


def test_key_depends_on_seed_profile_and_version(tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1)
    n1 = len(_entries(tmp_path))
    apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=2)
    n2 = len(_entries(tmp_path))
    apply_sparsity(get_model("lenet5"), "uniform:0.4", seed=2)
    n3 = len(_entries(tmp_path))
    assert n1 < n2 < n3
    monkeypatch.setattr(cache, "GENERATOR_VERSION", cache.GENERATOR_VERSION + 1)
    apply_sparsity(get_model("lenet5"), "uniform:0.4", seed=2)
    assert len(_entries(tmp_path)) > n3


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_corrupt_entry_is_regenerated(damage, tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    ref = _masks(apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1))
    for path in _entries(tmp_path):
        data = bytearray(path.read_bytes())
        if damage == "flip":
            data[-40] ^= 0x01  # a mask byte (before the 24-byte trailer)
        elif damage == "truncate":
            data = data[: len(data) // 2]
        elif damage == "empty":
            data = bytearray()
        else:
            data = bytearray(b"not an npy file at all")
        path.write_bytes(bytes(data))
    again = _masks(apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1))
    assert again == ref
    # Entries were rewritten intact: a third run is served from disk.
    monkeypatch.setattr(apply_mod, "synthetic_magnitudes", _fail)
    monkeypatch.setattr(apply_mod, "activation_mask", _fail)
    assert _masks(apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1)) == ref


def test_wrong_shape_entry_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    mask = apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1).gemms[0].weight_mask
    key = cache.mask_key("test")
    cache.store_mask(key, mask)
    assert cache.load_mask(key, mask.shape) is not None
    assert cache.load_mask(key, (mask.shape[0] + 1, mask.shape[1])) is None
    assert cache.load_mask(cache.mask_key("other"), mask.shape) is None


def test_disabled_cache_writes_nothing(tmp_path, monkeypatch):
    for off in ("off", "0", ""):
        monkeypatch.setenv("SOD_CACHE_DIR", off)
        assert cache.cache_dir() is None
        apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=1)
    monkeypatch.delenv("SOD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "sod" / "masks"


def test_size_bound_drops_least_recent(tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SOD_CACHE_MAX_MB", "0.02")  # ~20 kB
    apply_sparsity(get_model("lenet300"), "uniform:0.3", seed=1)
    total = sum(p.stat().st_size for p in _entries(tmp_path))
    assert 0 < total <= 0.02 * (1 << 20) or len(_entries(tmp_path)) == 0
    # Every returned mask is still right.
    monkeypatch.setenv("SOD_CACHE_DIR", "off")
    ref = _masks(apply_sparsity(get_model("lenet300"), "uniform:0.3", seed=1))
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    assert _masks(apply_sparsity(get_model("lenet300"), "uniform:0.3", seed=1)) == ref


def _worker(args: tuple[str, int]) -> list:
    import os

    os.environ["SOD_CACHE_DIR"] = args[0]
    return _masks(apply_sparsity(get_model("lenet300"), "uniform:0.3", seed=args[1]))


def test_concurrent_writers(tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", "off")
    ref = _masks(apply_sparsity(get_model("lenet300"), "uniform:0.3", seed=4))
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.map(_worker, [(str(tmp_path), 4)] * 8)
    assert all(r == ref for r in results)
    assert not list(tmp_path.glob("*.tmp"))  # every temporary file was moved or removed
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    for path in _entries(tmp_path):
        key = path.stem
        assert cache.load_mask(key) is not None


def test_bitmask_helpers_agree_with_bool():
    rng = np.random.default_rng(0)
    from sod.workload.mask import BitMask

    for shape in ((1, 1), (3, 9), (17, 64), (5, 130)):
        b = rng.random(shape) < 0.4
        m = BitMask.from_bool(b)
        assert m.to_bool().dtype == bool
        assert np.array_equal(m.to_bool(), b)
        assert m.nnz == int(b.sum())


def test_key_depends_on_generator_source(monkeypatch):
    key = cache.mask_key("x", 1)
    assert cache.mask_key("x", 1) == key
    monkeypatch.setattr(cache, "GENERATOR_MODULES", (*cache.GENERATOR_MODULES, "sod.errors"))
    cache._code_digest.cache_clear()
    try:
        assert cache.mask_key("x", 1) != key
    finally:
        monkeypatch.undo()
        cache._code_digest.cache_clear()
    assert cache.mask_key("x", 1) == key


def test_weight_key_depends_on_the_whole_profile():
    # Two profiles may share a method and parameters but prune differently (by name).
    from dataclasses import replace

    from sod.sparsity.profiles import parse_profile

    g = get_model("lenet300").gemms[0]
    prof = parse_profile("nm:2:4", "lenet300")
    key = apply_mod._weight_key(g, 0, 0, prof, 0.5)
    assert apply_mod._weight_key(g, 0, 0, replace(prof, name="asp"), 0.5) != key
    assert apply_mod._weight_key(g, 0, 1, prof, 0.5) != key
    assert apply_mod._weight_key(g, 1, 0, prof, 0.5) != key
    assert apply_mod._weight_key(g, 0, 0, prof, 0.5) == key


def test_profiles_sharing_a_method_do_not_share_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("SOD_CACHE_DIR", "off")
    ref = _masks(apply_sparsity(get_model("alexnet"), "asp", seed=0))
    assert ref != _masks(apply_sparsity(get_model("alexnet"), "nm:2:4", seed=0))
    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    apply_sparsity(get_model("alexnet"), "nm:2:4", seed=0)  # fills the cache first
    assert _masks(apply_sparsity(get_model("alexnet"), "asp", seed=0)) == ref


def test_stale_temporary_files_are_removed(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setenv("SOD_CACHE_DIR", str(tmp_path))
    old, fresh = tmp_path / ".abc.old.tmp", tmp_path / ".abc.new.tmp"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    past = time.time() - 7200
    os.utime(old, (past, past))
    apply_sparsity(get_model("lenet5"), "uniform:0.3", seed=9)
    assert not old.exists()
    assert fresh.exists()  # may belong to a writer still running
