"""RLE's per-vector need bits (counted without listing explicit zeros) against the pairs
the encoder writes, walked one by one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sod.formats import FormatSpec, encode, resolve_widths, rle


def _need_from_pairs(tile: np.ndarray, widths) -> np.ndarray:
    """Pairs the encoder wrote, walked: vector j (positions ``j·L .. j·L + L − 1``) is out
    once every pair before its last position is read, plus the next one (look-ahead)."""
    enc = encode(tile.astype(np.int64), "rle", widths)
    _, q = rle._pair_positions((tile.T.ravel() != 0)[None], widths.run)
    assert widths.pointer + q.size * (widths.run + widths.value) == enc.size_bits
    lanes, vectors = tile.shape
    out = []
    for j in range(vectors):
        last = (j + 1) * lanes - 1
        pairs = min(int((q < last).sum()) + 1, q.size)
        out.append(widths.pointer + pairs * (widths.run + widths.value))
    return np.array(out)


@settings(max_examples=300, deadline=None)
@given(
    lanes=st.integers(1, 10),
    vectors=st.integers(1, 10),
    tiles=st.integers(1, 4),
    density=st.sampled_from([0.0, 0.03, 0.1, 0.3, 0.8, 1.0]),
    run_bits=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_need_bits_match_the_encoded_pairs(lanes, vectors, tiles, density, run_bits, seed):
    rng = np.random.default_rng(seed)
    masks = rng.random((tiles, lanes, vectors)) < density
    widths = resolve_widths(FormatSpec(run_bits=run_bits), lanes, vectors)
    need = rle.need_bits(masks, widths)
    for t in range(tiles):
        assert np.array_equal(need[t], _need_from_pairs(masks[t].astype(np.int64), widths))


def test_long_gaps_split_by_explicit_zeros():
    """A 2-bit run covers 4 positions per pair: one non-zero at the end of 3 vectors of 4
    lanes needs explicit zeros at positions 3 and 7 (hand-worked)."""
    tile = np.zeros((4, 3), bool)
    tile[3, 2] = True  # position 2·4 + 3 = 11
    w = resolve_widths(FormatSpec(run_bits=2), 4, 3)
    rec = w.run + w.value
    # pairs at 3 (explicit), 7 (explicit), 11 (the value): vector 0 ends at 3 -> 0 + 1;
    # vector 1 ends at 7 -> 1 before + 1; vector 2 ends at 11 -> 2 before + 1.
    assert rle.need_bits(tile[None], w)[0].tolist() == [w.pointer + k * rec for k in (1, 2, 3)]
