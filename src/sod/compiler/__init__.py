"""The Sparse-on-Dense compiler: pruned layers -> GLB images (see :mod:`sod.compile`)."""

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
