"""Reference N:M weight-stationary array: compresses each fold's weights as the compiler
would, moves real values through the PEs' M-to-1 activation muxes, and counts the run's
cycles under the TPU timing from its own fold list. Independent of :mod:`sod.models`.

Mapping (docs/sparse-accelerators.md, "N:M systolic array"): a fold covers a span of
``(R // N) * M`` reduction indices of one column tile. If every group of M of every
column of the span holds at most N non-zeros, PE row ``g·N + j`` holds the j-th kept
weight of group g and its position ``idx`` in the group; PE (r, c) multiplies
``A[:, span_start + g·M + idx[r, c]]`` by its value. Otherwise the span runs as
``ceil(span / R)`` plain dense folds (muxes idle).

Timing (TPU, as :mod:`sod.reference.systolic_tpu`): every fold streams all m rows; the
run costs ``R + Σ_{f<F−1} max(m, R) + m + R + C − 2`` cycles, reported as the index of
the last cycle (minus one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.errors import SodError


class NMError(SodError):
    """A weight tile that cannot be compressed N:M, or a bad array shape."""


def compress_nm(tile: np.ndarray, n_keep: int, m_group: int) -> tuple[np.ndarray, np.ndarray]:
    """Compress a (k × c) weight tile along k: (values, indices), each ``(k/M·N) × c``.

    Row ``g·N + j`` holds the j-th non-zero of group g (in k order) and its position in
    the group; unused slots hold value 0 at index 0. ``k`` must be a multiple of M."""
    k, c = tile.shape
    if k % m_group:
        raise NMError(f"tile rows {k} are not a multiple of M={m_group}")
    groups = tile.reshape(k // m_group, m_group, c)
    nz = groups != 0
    if (nz.sum(axis=1) > n_keep).any():
        raise NMError(f"tile is not {n_keep}:{m_group} along k")
    # Stable order of positions: non-zeros first (in k order), then zeros.
    order = np.argsort(~nz, axis=1, kind="stable")[:, :n_keep, :]  # (G, N, c)
    vals = np.take_along_axis(groups, order, axis=1)
    idx = np.where(vals != 0, order, 0)
    return vals.reshape(-1, c), idx.reshape(-1, c)


def nm_conformant(tile: np.ndarray, n_keep: int, m_group: int) -> bool:
    """Whether every group of M along k of every column has at most N non-zeros."""
    k, c = tile.shape
    pad = np.zeros((-(-k // m_group) * m_group, c), dtype=bool)
    pad[:k] = tile != 0
    return bool((pad.reshape(-1, m_group, c).sum(axis=1) <= n_keep).all())


@dataclass(frozen=True)
class NMRun:
    output: np.ndarray  # (m, n) int64
    folds_nm: int  # folds that ran N:M-compressed
    folds_dense: int  # folds that ran dense (non-conformant spans)
    cycles: int  # TPU timing, index of the last cycle

    @property
    def folds(self) -> int:
        return self.folds_nm + self.folds_dense


def split_nm(tile: np.ndarray, n_keep: int, m_group: int) -> list[np.ndarray]:
    """A tile cut into N:M tiles along k: tile j keeps each group's non-zeros ranked
    ``jN .. jN+N−1`` (in k order); ``ceil(c / N)`` tiles for the fullest group's c."""
    k, c = tile.shape
    kp = -(-k // m_group) * m_group
    pad = np.zeros((kp, c), tile.dtype)
    pad[:k] = tile
    nz = (pad != 0).reshape(-1, m_group, c)
    rank = (np.cumsum(nz, axis=1) - 1).reshape(kp, c)
    pieces = -(-int(nz.sum(axis=1).max(initial=0)) // n_keep)
    return [np.where((rank // n_keep == j) & (pad != 0), pad, 0)[:k] for j in range(pieces)]


def _nm_fold(ap: np.ndarray, tile: np.ndarray, k0: int, n_keep: int, m_group: int) -> np.ndarray:
    """One N:M fold's contribution: PE (r, c) multiplies its value by the activation its
    index picks from its group's M."""
    vals, idx = compress_nm(tile, n_keep, m_group)
    group = np.arange(vals.shape[0])[:, None] // n_keep  # (rows used, 1)
    col = k0 + group * m_group + idx  # k index each PE's mux picks
    return (ap[:, col] * vals[None]).sum(axis=1)  # (m, c)


def _split_pays(tile: np.ndarray, k_here: int, rows: int, n_keep: int, m_group: int) -> bool:
    """Split a span into N:M folds when that takes fewer folds than running it dense, or
    as many folds in fewer stored bits (int8 values + log2(M)-bit indices)."""
    pieces = len(split_nm(tile, n_keep, m_group))
    dense = -(-k_here // rows)
    idx_bits = max(1, (m_group - 1).bit_length())
    split_bits = pieces * (-(-k_here // m_group) * n_keep) * (8 + idx_bits)
    return pieces < dense or (pieces == dense and split_bits < k_here * 8)


def run_nm(
    a: np.ndarray,
    w: np.ndarray,
    rows: int,
    cols: int,
    n_keep: int,
    m_group: int,
    fallback: str = "dense",
) -> NMRun:
    """``O = A·W`` on an R×C N:M array, fold by fold, and the run's cycles; a span that
    is not N:M runs dense (``fallback="dense"``) or, with ``"split"``, as
    :func:`split_nm`'s N:M folds when that pays (int8 values)."""
    a, w = np.asarray(a, np.int64), np.asarray(w, np.int64)
    m, k = a.shape
    n = w.shape[1]
    if rows < n_keep:
        raise NMError(f"rows {rows} < N {n_keep}")
    span = (rows // n_keep) * m_group
    kp = -(-k // span) * span
    ap = np.zeros((m, kp), np.int64)
    ap[:, :k] = a
    wp = np.zeros((kp, n), np.int64)
    wp[:k] = w
    out = np.zeros((m, n), np.int64)
    n_nm = n_dense = 0
    for c0 in range(0, n, cols):
        c1 = min(c0 + cols, n)
        for k0 in range(0, kp, span):
            k_here = min(span, k - k0)
            tile = wp[k0 : k0 + span, c0:c1]
            if nm_conformant(tile, n_keep, m_group):
                out[:, c0:c1] += _nm_fold(ap, tile, k0, n_keep, m_group)
                n_nm += 1
            elif fallback == "split" and _split_pays(tile, k_here, rows, n_keep, m_group):
                for piece in split_nm(tile, n_keep, m_group):
                    out[:, c0:c1] += _nm_fold(ap, piece, k0, n_keep, m_group)
                    n_nm += 1
            else:
                for s0 in range(k0, k0 + k_here, rows):  # plain dense folds
                    s1 = min(s0 + rows, k0 + k_here)
                    out[:, c0:c1] += ap[:, s0:s1] @ wp[s0:s1, c0:c1]
                    n_dense += 1
    folds = n_nm + n_dense
    cycles = rows + (folds - 1) * max(m, rows) + m + rows + cols - 2 - 1
    return NMRun(out, n_nm, n_dense, cycles)
