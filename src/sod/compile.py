"""``sod.compile``: turn a pruned int8 layer into the GLB image of a Sparse-on-Dense array.

The same names as :mod:`sod.compiler` (``compile_layer``, ``CompileOptions``,
``GlbImage``, ``read_image``, ``check_image``, ``fast_tiles``, ``TileGrid``, ...).
"""

from sod.compiler import *  # noqa: F403
from sod.compiler import __all__  # noqa: F401
