"""Errors of the compressed formats, the GLB image and the decompressor."""

from sod.errors import SodError


class FormatError(SodError):
    """A compressed tile or GLB image is malformed or cannot be encoded.

    The message names the tile (when known) and the fault, e.g.
    ``tile 3 (csc): pointer 17 of vector 2 is past the end of the tile (max 16)``.
    """
