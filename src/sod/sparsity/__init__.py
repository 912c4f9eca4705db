"""Realistic sparsity: pruning, published profiles, synthetic weights and activation masks.

Entry point for the rest of ``sod``: :func:`apply_sparsity` (profile grammar in
:mod:`sod.sparsity.profiles`); mask statistics in :mod:`sod.sparsity.stats`.
"""

from sod.sparsity.apply import activation_mask, apply_sparsity
from sod.sparsity.profiles import AUTO, HAN2015, Profile, parse_profile
from sod.sparsity.prune import (
    prune_blocks,
    prune_global,
    prune_n_m,
    prune_row_balanced,
    prune_unstructured,
)
from sod.sparsity.stats import (
    PatternStats,
    col_counts,
    pattern_stats,
    row_counts,
    tile_counts,
    zero_runs,
)

__all__ = [
    "AUTO",
    "HAN2015",
    "PatternStats",
    "Profile",
    "activation_mask",
    "apply_sparsity",
    "col_counts",
    "parse_profile",
    "pattern_stats",
    "prune_blocks",
    "prune_global",
    "prune_n_m",
    "prune_row_balanced",
    "prune_unstructured",
    "row_counts",
    "tile_counts",
    "zero_runs",
]
