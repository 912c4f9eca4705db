"""Errors of the cost models."""

from sod.errors import SodError


class CostError(SodError):
    """A cost question is impossible: negative budget, too small for one PE, bad counts."""
