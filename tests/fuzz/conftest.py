"""Fixtures of the fuzz tests (see fuzz_helpers.py)."""

from fuzz_helpers import run_sod

__all__ = ["run_sod"]
