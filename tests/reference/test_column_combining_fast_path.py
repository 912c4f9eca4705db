"""The one-word packing loop (tiles of at most 64 columns) against the general loop, on
masks large enough for many tiles, full windows and lines empty in some tiles."""

import numpy as np
import pytest

from sod.mapping import column_combining as cc
from sod.mapping.column_combining import _first_fit, _first_fit_one_word, line_words


def _assert_one_word_equals_general(w: np.ndarray, cols: int, g: int, win: int) -> None:
    """The one-word first-fit loop groups every line of ``w`` as the general loop does."""
    lines = line_words(w, cols)
    active = lines.any(axis=2)
    want = np.full((lines.shape[1], w.shape[0]), -1, np.int32)
    got = want.copy()
    _first_fit(lines, active, g, win, want)
    _first_fit_one_word(lines[:, :, 0], active, g, win, got)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("density", [0.01, 0.08, 0.3, 0.9])
@pytest.mark.parametrize("cols,g,win", [(39, 8, 32), (48, 4, 3), (7, 2, 1), (16, 9, 6)])
def test_one_word_loop_equals_the_general_loop(density, cols, g, win):
    rng = np.random.default_rng(int(density * 100) + cols)
    w = rng.random((300, 10 * cols + 5)) < density
    w[rng.random(300) < 0.1] = False  # lines empty in every tile
    _assert_one_word_equals_general(w, cols, g, win)


@pytest.mark.parametrize("density", [0.05, 0.3, 0.6])
@pytest.mark.parametrize("cols,g,win", [(32, 8, 32), (16, 3, 4), (9, 2, 1)])
@pytest.mark.parametrize("seg_lines,check", [(256, 16), (40, 4), (20, 20)])
def test_segments_packed_at_once_equal_the_general_loop(
    density, cols, g, win, seg_lines, check, monkeypatch
):
    # Few tiles, many lines: segments of lines packed side by side, re-run from where
    # the segment before ended until they meet their first run (short segments and
    # rare checks force segments that never meet, so several rounds).
    monkeypatch.setattr(cc, "_SEGMENT_LINES", seg_lines)
    monkeypatch.setattr(cc, "_CHECK_EVERY", check)
    rng = np.random.default_rng(int(density * 100) + cols + seg_lines)
    w = rng.random((1500, 3 * cols - 2)) < density
    _assert_one_word_equals_general(w, cols, g, win)
