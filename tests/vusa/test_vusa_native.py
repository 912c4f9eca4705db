"""VUSA's compiled window chain (sod._native, windows along k on W's packed rows) against
its numpy twin (pack_windows): the same spans for every block."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.arch.presets import load_arch
from sod.models import vusa
from sod.models.memo import clear_all
from sod.models.vusa import fold_plan, pack_windows, pack_windows_packed

native = pytest.mark.skipif(vusa._NATIVE is None, reason="sod._native is not built")


def _numpy_spans(w: np.ndarray, line: int, slots: int, macs: int) -> np.ndarray:
    """The numpy chain's spans of one group's (k, n) mask, windows along k."""
    return pack_windows(w[None], line, slots, macs)


@native
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    k=st.integers(1, 120),
    n=st.integers(1, 200),
    density=st.floats(0.0, 1.0),
    line=st.sampled_from([8, 16, 32, 64, 72, 136]),  # 1 to 3 words per position
    macs=st.integers(1, 5),
    extra=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_native_chain_equals_numpy(k, n, density, line, macs, extra, seed):
    w = np.random.default_rng(seed).random((k, n)) < density
    slots = macs + extra
    want = _numpy_spans(w, line, slots, macs)
    got = pack_windows_packed(np.packbits(w, axis=1), n, line, slots, macs)
    assert np.array_equal(got, want)


@native
@pytest.mark.parametrize("density", [0.02, 0.1, 0.35, 0.9])
def test_native_chain_equals_numpy_on_large_masks(density):
    # Many blocks (groups of blocks per cache line), a last block cut short.
    rng = np.random.default_rng(int(density * 100))
    w = rng.random((3000, 32 * 40 + 13)) < density
    for slots, macs in [(5, 3), (8, 2), (3, 3)]:
        want = _numpy_spans(w, 32, slots, macs)
        got = pack_windows_packed(np.packbits(w, axis=1), w.shape[1], 32, slots, macs)
        assert np.array_equal(got, want)


def test_fold_plan_with_and_without_the_extension(monkeypatch):
    # Packed rows or not, compiled or not: the same folds (the numpy twin runs when the
    # extension is missing).
    arch = load_arch("vusa")
    rng = np.random.default_rng(5)
    w = rng.random((2, 300, 100)) < 0.3
    packed = [np.packbits(g, axis=1) for g in w]
    want = fold_plan(w, arch)
    got = fold_plan(w, arch, packed)
    monkeypatch.setattr(vusa, "_NATIVE", None)
    clear_all()
    fallback = fold_plan(w, arch, packed)
    for plan in (got, fallback):
        for field in ("group", "lines", "windows", "span"):
            assert np.array_equal(getattr(plan, field), getattr(want, field))


@native
def test_native_chain_rejects_buffers_that_do_not_match_the_shape():
    rows = np.zeros((10, 4), np.uint8)
    spans = np.zeros((1, 4), np.int64)
    counts = np.zeros(1, np.int64)
    with pytest.raises(ValueError, match="buffer sizes"):  # cap below P / macs
        vusa._NATIVE.vusa_window_chain(rows, 10, 4, 4, 1, 5, 2, 4, spans, counts)
    with pytest.raises(ValueError, match="buffer sizes"):  # slots below macs
        vusa._NATIVE.vusa_window_chain(rows, 10, 4, 4, 1, 1, 3, 4, spans, counts)
