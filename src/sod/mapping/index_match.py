"""Tile shape of the comparator index-matching array.

The array runs output-stationary tiles of ``tr × tc`` dot products, ``tr = min(m,
pe_rows)`` and ``tc = PEs // tr`` (so batch-1 FC layers still use every PE).

The reference (:mod:`sod.reference.index_match`) does **not** import this: the formula is
two lines, so it re-derives it from the definition above.
"""

from __future__ import annotations

from sod.arch.sparse import IndexMatchArch


def tile_shape(m: int, arch: IndexMatchArch) -> tuple[int, int]:
    """(rows, cols) of dot products one array pass computes."""
    pes = arch.pe_rows * arch.pe_cols
    tr = min(m, arch.pe_rows)
    return tr, pes // tr


def mapping_candidates(arch: IndexMatchArch) -> list[tuple[str, IndexMatchArch]]:
    """The mappings the per-layer search tries: the GEMM (activation fibers along the
    array rows) and its transpose (weight fibers along the rows); a fixed
    ``orientation`` is kept as given."""
    orients = ["gemm", "transposed"] if arch.orientation == "auto" else [arch.orientation]
    return [(o, arch.model_copy(update={"orientation": o})) for o in orients]
