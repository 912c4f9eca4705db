"""The content-keyed memo of mask kernels: hits by content, never by identity."""

import numpy as np

from sod.models.memo import memo_by_content


def test_hits_by_content_and_misses_on_any_change():
    calls = []

    @memo_by_content(max_bytes=1 << 20)
    def kernel(a: np.ndarray, p: int) -> np.ndarray:
        calls.append(1)
        return a.sum(axis=0) * p

    a = np.random.default_rng(0).random((8, 5)) < 0.5
    first = kernel(a, 2)
    again = kernel(a.copy(), 2)  # same content, another object: a hit
    assert len(calls) == 1 and np.array_equal(first, again)
    b = a.copy()
    b[0, 0] = ~b[0, 0]
    kernel(b, 2)  # one bit differs: a miss
    kernel(a, 3)  # another scalar argument: a miss
    kernel(a.reshape(5, 8), 2)  # same bytes, another shape: a miss
    assert len(calls) == 4


def test_bounded_memory():
    calls = []

    @memo_by_content(max_bytes=1000)
    def kernel(a: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.zeros(100, np.int64)  # 800 bytes: only one fits

    x, y = np.zeros(3, bool), np.ones(3, bool)
    kernel(x), kernel(y), kernel(x)
    assert len(calls) == 3
