"""SparTen's static mapping: GEMM rows onto clusters, filters (columns of W) onto compute
units.

* Clusters form ``row_groups × filter_groups``: ``filter_groups = max(1, clusters // m)``
  (only when there are fewer rows than clusters, e.g. batch-1 FC layers), ``row_groups =
  min(m, clusters // filter_groups)``. Row r goes to row group ``r mod row_groups``.
* Filters are assigned once to *slots*: ``filter_groups × units`` CUs.
  ``load_balance="gb-s"`` sorts filters by non-zero count (descending, stable) and deals
  them boustrophedon over the slots, so dense and sparse filters share a CU (SparTen's
  GB-S); ``"none"`` deals them round-robin in natural order; ``"auto"`` (resolved per
  layer by the design's search, :mod:`sod.designs.sparten`) runs GB-S here.

Shared on purpose by the model (:mod:`sod.models.sparten`) and the reference
(:mod:`sod.reference.sparten`): this is the compiler's assignment, a policy choice of this
project rather than a definition from the paper, and the reference checks the cycles a
given assignment costs, not the assignment. The assignment itself is checked directly by
``tests/sparse_models/test_sparten.py`` (GB-S pairing, FC spreading).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sod.arch.sparse import SparTenArch


@dataclass(frozen=True)
class SparTenMapping:
    """How one GEMM's rows and filters are spread over SparTen's clusters and CUs."""

    row_groups: int
    filter_groups: int
    slot_of_filter: np.ndarray  # (n,) slot index in [0, filter_groups × units)

    @property
    def clusters_used(self) -> int:
        return self.row_groups * self.filter_groups


def cluster_split(m: int, arch: SparTenArch) -> tuple[int, int]:
    """(row_groups, filter_groups) of a GEMM with ``m`` rows."""
    filter_groups = max(1, arch.clusters // m) if m < arch.clusters else 1
    return min(m, arch.clusters // filter_groups), filter_groups


def sparten_mapping(
    m: int, weight: np.ndarray | None, arch: SparTenArch, filter_nnz: np.ndarray | None = None
) -> SparTenMapping:
    """Rows → row groups and filters → CU slots for a (k, n) weight mask (pure);
    ``filter_nnz``: the non-zeros of each filter when the caller has them (else counted
    here; ``weight`` may then be None)."""
    if filter_nnz is None:
        assert weight is not None
        n = weight.shape[1]
    else:
        n = filter_nnz.shape[0]
    row_groups, filter_groups = cluster_split(m, arch)
    slots = filter_groups * arch.units_per_cluster
    gbs = arch.load_balance != "none"
    if gbs:
        nnz = filter_nnz if filter_nnz is not None else weight.sum(axis=0, dtype=np.int64)  # type: ignore[union-attr]
        order = np.argsort(-nnz, kind="stable")  # densest first
    else:
        order = np.arange(n)
    pos = np.arange(n)
    rnd, col = pos // slots, pos % slots
    dealt = np.where(rnd % 2 == 0, col, slots - 1 - col)  # boustrophedon
    slot_of_filter = np.empty(n, np.int64)
    slot_of_filter[order] = dealt if gbs else col
    return SparTenMapping(row_groups, filter_groups, slot_of_filter)


def mapping_candidates(arch: SparTenArch) -> list[tuple[str, SparTenArch]]:
    """The mappings the per-layer search tries: every orientation (the GEMM, or its
    transpose with the activation rows held in the compute units) × every filter
    assignment (GB-S, natural order); fields not ``auto`` are kept as given."""
    orients = ["gemm", "transposed"] if arch.orientation == "auto" else [arch.orientation]
    balances = ["gb-s", "none"] if arch.load_balance == "auto" else [arch.load_balance]
    return [
        (f"{o}/{b}", arch.model_copy(update={"orientation": o, "load_balance": b}))
        for o in orients
        for b in balances
    ]
