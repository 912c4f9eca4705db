"""Analytic model of a dense R×C systolic array (WS, OS, IS), cycle-exact to SCALE-Sim v3.

SCALE-Sim maps a GEMM ``O[m,n] = A[m,k]·W[k,n]`` onto the array by dataflow, with
"spatial rows" ``Sr``, "spatial columns" ``Sc`` and a temporal extent ``T``:

=========  ======  ======  ======  ==========================================
dataflow   Sr      Sc      T       held in the PEs
=========  ======  ======  ======  ==========================================
WS         k       n       m       a k-slice × n-slice tile of W
OS         m       n       k       an m-slice × n-slice tile of O
IS         k       m       n       a k-slice × m-slice tile of A
=========  ======  ======  ======  ==========================================

The operand is cut into ``ceil(Sr/R) × ceil(Sc/C)`` folds, run one after another. Two
timings (``Architecture.timing``):

* ``scalesim``: each fold costs a fixed pipeline overhead (loading the stationary tile,
  filling the skewed wavefront and draining it) plus ``T`` streaming cycles. See
  :func:`fold_cycles` for the exact count and ``docs/dense-model.md`` for its derivation
  from SCALE-Sim 3.0.0's demand matrices.
* ``tpu`` (default): the stationary tile is double-buffered (the next fold's tile shifts in
  while this fold streams), partial sums of successive k-folds meet in an accumulator
  buffer below the array, and the pipeline fills and drains once per run of folds: a fold
  occupies the array edge ``max(T, R)`` cycles (see :func:`tpu_fold_costs`).

With ``dataflow: auto`` every GEMM takes the dataflow with the fewest cycles
(:func:`best_dataflow`).

Everything is vectorized over layers: arrays of m, k, n in, arrays of counts out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.spec import Dataflow
from sod.errors import ArchitectureError

IntArray = np.ndarray


@dataclass(frozen=True)
class DenseCounts:
    """Per-layer counts of a dense systolic array (arrays of equal length, one GEMM each).

    All counts are for ONE execution of a GEMM; multiply by ``repeat`` for the layer.
    """

    sr: IntArray  # spatial extent mapped on array rows
    sc: IntArray  # spatial extent mapped on array columns
    t: IntArray  # temporal extent streamed per fold
    row_folds: IntArray
    col_folds: IntArray
    folds: IntArray
    compute_cycles: IntArray
    macs: IntArray
    mapping_efficiency: np.ndarray  # mean fraction of PEs holding a mapped element, per fold
    utilization: np.ndarray  # macs / (R × C × compute_cycles)


def spatial_dims(
    m: IntArray, k: IntArray, n: IntArray, dataflow: Dataflow | str
) -> tuple[IntArray, IntArray, IntArray]:
    """(Sr, Sc, T) of SCALE-Sim for a dataflow."""
    df = Dataflow(dataflow)
    if df is Dataflow.WS:
        return k, n, m
    if df is Dataflow.OS:
        return m, n, k
    return k, m, n


def fold_cycles(rows: int, cols: int, t: IntArray, dataflow: Dataflow | str) -> IntArray:
    """Cycles of one fold, as SCALE-Sim 3.0.0's demand matrices count them.

    WS and IS: ``R`` cycles shift the stationary tile into the array, ``T`` cycles stream the
    moving operand, and ``R + C − 2`` cycles of skew fill and drain the wavefront:
    ``2R + C + T − 2``. OS: nothing is preloaded; both operands stream ``T`` cycles with
    ``R + C − 2`` cycles of skew: ``R + C + T − 2``. (SCALE-Sim drains OS outputs while the
    next fold streams, so no extra drain term.)
    """
    df = Dataflow(dataflow)
    t = np.asarray(t, dtype=np.int64)
    if df is Dataflow.OS:
        return rows + cols + t - 2
    return 2 * rows + cols + t - 2


TIMINGS = ("tpu", "scalesim")
# Order of preference when dataflows tie on cycles.
DATAFLOWS = (Dataflow.WS, Dataflow.OS, Dataflow.IS)


def tpu_fold_costs(
    rows: int, cols: int, streamed: IntArray, boundary: IntArray, dataflow: Dataflow | str
) -> IntArray:
    """Cycles each fold adds under the TPU timing; they sum to the run's cycles.

    Every fold occupies the array edge ``max(T, R)``: WS/IS shift the next stationary tile
    in (``R`` cycles, double-buffered) while this fold streams ``T``; OS reads a column's
    ``R`` accumulators out over one bus, one per cycle, while the next fold streams. The
    ``boundary`` fold of the run (WS/IS: the last, OS: the first) instead costs what the
    run pays once: WS/IS ``T + 2R + C − 2`` (the first tile's load ``R``, its own stream,
    fill and drain ``R + C − 2``); OS ``T + R + C − 1`` (its stream, fill and drain, and the
    last outputs' read). Hence, per run of folds ``0..F−1``:

    * WS / IS: ``R + Σ_{f<F−1} max(T_f, R) + T_{F−1} + R + C − 2``
    * OS: ``T_0 + Σ_{f>0} max(T_f, R) + R + C − 1``
    """
    t = np.asarray(streamed, dtype=np.int64)
    first = 2 * rows + cols - 2 if Dataflow(dataflow) is not Dataflow.OS else rows + cols - 1
    return np.where(boundary, t + first, np.maximum(t, rows))


def compute_cycles(
    rows: int, cols: int, t: IntArray, folds: IntArray, dataflow: Dataflow | str, timing: str
) -> IntArray:
    """Cycles of one GEMM execution of ``folds`` folds streaming ``T`` each, as the index
    of the last cycle (SCALE-Sim's convention: the count minus one)."""
    t = np.asarray(t, dtype=np.int64)
    if timing == "scalesim":
        return folds * fold_cycles(rows, cols, t, dataflow) - 1
    if timing != "tpu":
        raise ArchitectureError(f"unknown timing {timing!r}; choose from: tpu, scalesim")
    once = tpu_fold_costs(rows, cols, t, np.ones(t.shape, bool), dataflow)
    return (folds - 1) * np.maximum(t, rows) + once - 1


def best_dataflow(
    m: IntArray | int,
    k: IntArray | int,
    n: IntArray | int,
    rows: int,
    cols: int,
    timing: str = "tpu",
) -> np.ndarray:
    """Per GEMM, the dataflow with the fewest compute cycles (ties: WS, then OS, then IS),
    as an array of :class:`Dataflow`. Swapping the roles of A and W needs no fourth
    candidate: WS with A stationary is IS, and OS on a square array is symmetric."""
    cycles = np.stack(
        [evaluate_dense(m, k, n, rows, cols, df, timing).compute_cycles for df in DATAFLOWS]
    )
    choice = np.argmin(cycles, axis=0)  # the first minimum: deterministic ties
    return np.array(DATAFLOWS, dtype=object)[choice]


def evaluate_dense(
    m: IntArray | int,
    k: IntArray | int,
    n: IntArray | int,
    rows: int,
    cols: int,
    dataflow: Dataflow | str,
    timing: str = "scalesim",
) -> DenseCounts:
    """Fold and cycle counts of GEMMs on an R×C array (vectorized over layers)."""
    if rows <= 0 or cols <= 0:
        raise ArchitectureError(f"array must have positive rows and columns, got {rows}x{cols}")
    m, k, n = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (m, k, n))
    if (m <= 0).any() or (k <= 0).any() or (n <= 0).any():
        raise ArchitectureError("GEMM dimensions must be positive")
    sr, sc, t = spatial_dims(m, k, n, dataflow)
    row_folds = -(-sr // rows)
    col_folds = -(-sc // cols)
    folds = row_folds * col_folds
    # SCALE-Sim's "Total Cycles" is the index of the last demand row: one less than the
    # number of rows of the concatenated per-fold demand matrices.
    cycles = compute_cycles(rows, cols, t, folds, dataflow, timing)
    macs = m * k * n
    # Average over folds of the fraction of PEs that hold a mapped element.
    mapping_efficiency = (sr * sc) / (folds * rows * cols)
    # A 1×1 array on a 1×1×1 OS GEMM reports 0 cycles in SCALE-Sim's convention.
    utilization = macs / (rows * cols * np.maximum(cycles, 1))
    return DenseCounts(
        sr, sc, t, row_folds, col_folds, folds, cycles, macs, mapping_efficiency, utilization
    )
