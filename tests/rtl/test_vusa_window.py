"""The VUSA window RTL against its golden model, and the golden model against numpy."""

import numpy as np
import pytest

from sod.rtl import RtlError
from sod.rtl.sim import run_lockstep
from sod.rtl.vusa_pe import VusaKWindow, VusaKWindowModel, VusaWindow, VusaWindowModel


def _cycles(rng, slots, macs, count=40, ab=32):
    ib = max(1, (slots - 1).bit_length())
    out = []
    for c in range(count):
        idx = rng.choice(slots, size=macs, replace=False)  # the compiler's distinct indices
        w = rng.integers(-128, 128, macs)
        psum = rng.integers(-(2**20), 2**20, slots)
        out.append(
            {
                "a_in": int(rng.integers(-128, 128)),
                "w_load": int(c % 7 == 0),
                "w_in": sum((int(x) & 255) << (8 * i) for i, x in enumerate(w)),
                "idx_in": sum(int(x) << (ib * i) for i, x in enumerate(idx)),
                "valid_in": int(rng.integers(0, 1 << macs)),
                "psum_in": sum((int(x) & (2**ab - 1)) << (ab * i) for i, x in enumerate(psum)),
            }
        )
    return out


@pytest.mark.parametrize(("slots", "macs"), [(5, 3), (4, 2), (2, 1)])
def test_window_matches_golden(slots, macs):
    rng = np.random.default_rng(slots * 10 + macs)
    dut = VusaWindow(slots, macs)
    model = VusaWindowModel(slots, macs)
    run_lockstep(dut, model.step, _cycles(rng, slots, macs), ["a_out", "psum_out", "valid_out"])


def test_golden_window_column_is_a_dot_product():
    """A column of windows loaded with a tile's slots computes A · W for that tile."""
    rng = np.random.default_rng(7)
    V, M, R = 5, 3, 4
    w = np.zeros((R, V), np.int64)
    for r in range(R):  # at most M non-zeros per row
        cols = rng.choice(V, size=M, replace=False)
        w[r, cols] = rng.integers(-9, 9, M)
    a = rng.integers(-9, 9, R)
    psum = [0] * V
    for r in range(R):  # the partial sum flows down through R windows
        model = VusaWindowModel(V, M)
        nz = np.flatnonzero(w[r])
        vals, idx = list(w[r, nz]) + [0] * (M - nz.size), list(nz) + [0] * (M - nz.size)
        model.step(0, 1, sum((int(x) & 255) << (8 * i) for i, x in enumerate(vals)),
                   sum(int(x) << (3 * i) for i, x in enumerate(idx)), (1 << nz.size) - 1, 0)  # fmt: skip
        model.step(int(a[r]), 0, 0, 0, 0, sum((x & (2**32 - 1)) << (32 * i) for i, x in enumerate(psum)))  # fmt: skip
        psum = model.out
    assert psum == list(a @ w)


def test_bad_window_is_refused():
    with pytest.raises(RtlError):
        VusaWindow(slots=2, macs=3)


def _k_cycles(rng, slots, macs, count=40):
    ib = max(1, (slots - 1).bit_length())
    out = []
    for c in range(count):
        acts = rng.integers(-128, 128, slots)
        out.append(
            {
                "a_in": sum((int(x) & 255) << (8 * i) for i, x in enumerate(acts)),
                "w_load": int(c % 5 == 0),
                "w_in": sum((int(x) & 255) << (8 * i) for i, x in enumerate(rng.integers(-128, 128, macs))),
                "idx_in": sum(int(x) << (ib * i) for i, x in enumerate(rng.integers(0, 2**ib, macs))),
                "valid_in": int(rng.integers(0, 1 << macs)),
                "psum_in": int(rng.integers(-(2**30), 2**30)),
            }
        )  # fmt: skip
    return out


@pytest.mark.parametrize(("slots", "macs"), [(5, 3), (4, 2), (8, 4), (3, 3)])
def test_k_window_matches_golden(slots, macs):
    rng = np.random.default_rng(slots * 10 + macs)
    dut, model = VusaKWindow(slots, macs), VusaKWindowModel(slots, macs)
    run_lockstep(dut, model.step, _k_cycles(rng, slots, macs), ["a_out", "psum_out", "valid_out"])


def test_golden_k_window_is_a_dot_product():
    """A window loaded with the non-zeros of V weights of one column computes their dot
    product with the V activations."""
    rng = np.random.default_rng(11)
    V, M = 5, 3
    w = np.zeros(V, np.int64)
    rows = rng.choice(V, size=M, replace=False)
    w[rows] = rng.integers(-9, 9, M)
    a = rng.integers(-9, 9, V)
    model = VusaKWindowModel(V, M)
    vals = [int(w[r]) for r in rows]
    model.step(0, 1, sum((x & 255) << (8 * i) for i, x in enumerate(vals)),
               sum(int(r) << (3 * i) for i, r in enumerate(rows)), 7, 0)  # fmt: skip
    model.step(sum((int(x) & 255) << (8 * i) for i, x in enumerate(a)), 0, 0, 0, 0, 100)
    assert model.psum == 100 + int(a @ w)
