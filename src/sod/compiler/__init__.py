"""The Sparse-on-Dense compiler: pruned int8 layers -> the GLB image of a Sparse-on-Dense array.

`sod compile` is its command; see docs/datapath.md.
"""

from sod.compiler.image import (
    CompileOptions,
    FastTiles,
    GlbImage,
    check_image,
    compile_layer,
    fast_tiles,
    make_options,
    read_image,
)
from sod.compiler.plan import TileGrid

__all__ = [
    "CompileOptions",
    "FastTiles",
    "GlbImage",
    "TileGrid",
    "check_image",
    "compile_layer",
    "fast_tiles",
    "make_options",
    "read_image",
]
