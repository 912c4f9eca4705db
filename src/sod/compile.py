"""``sod.compile``: turn a pruned int8 layer into the GLB image of a Sparse-on-Dense array.

Re-exports :mod:`sod.compiler`: :func:`compile_layer`, :class:`CompileOptions`,
:class:`GlbImage`, :func:`read_image`, :func:`check_image`, :func:`fast_tiles`,
:class:`TileGrid`.
"""

from sod.compiler import (
                          CompileOptions,
                          FastTiles,
                          GlbImage,
                          TileGrid,
                          check_image,
                          compile_layer,
                          fast_tiles,
                          make_options,
                          read_image,
)

__all__ = ["CompileOptions", "FastTiles", "GlbImage", "TileGrid", "check_image",
           "compile_layer", "fast_tiles", "make_options", "read_image"]
