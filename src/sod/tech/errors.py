"""Errors of the technology layer."""

from sod.errors import SodError


class TechnologyError(SodError):
    """A technology is unknown, malformed, or asked for something it cannot give."""
