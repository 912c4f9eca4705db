"""Sane bounds on user-supplied numbers, checked at the edge (the lowest layer, like errors).

Every number a user can give — on the command line, in a topology CSV, in an architecture
or sweep YAML — is checked against these bounds before any work starts, so an absurd value
(``--batch 1e12``, ``array_rows: 1e26``, ``--budget-mm2 inf``) is one line of error, not an
overflow, a hang or an exhausted memory. The bounds are far beyond any real design.
"""

from __future__ import annotations

import math

from sod.errors import SodError

MAX_BATCH = 1 << 16
MAX_SEQ_LEN = 1 << 20
MAX_ARRAY_DIM = 1 << 16  # rows or columns of a PE array or a tile
MAX_GEMM_DIM = (1 << 31) - 1  # m, k, n or repeat of one GEMM
MAX_GEMM_MACS = 1 << 55  # dense MACs of one GEMM (cycle and bit counts stay in int64)
MAX_FREQUENCY_MHZ = 1e5
MAX_BUDGET_MM2 = 1e4
MAX_SEED = (1 << 63) - 1
MAX_TEXT_INPUT_BYTES = 64 << 20  # topology CSV, YAML files
DEFAULT_MAX_MEMORY_GB = 4.0
# Distinct activation patterns drawn per layer; larger batches repeat them (batch as a
# repeat, docs/large-batch.md).
DEFAULT_ACT_IMAGES = 16


def check_int(value: object, what: str, lo: int, hi: int, error: type[SodError] = SodError) -> int:
    """``value`` as an int in ``[lo, hi]``, or ``error`` naming ``what``."""
    number: int
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            if isinstance(value, bool) or int(value) != value:  # type: ignore[call-overload]
                raise ValueError
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):
            raise error(f"{what} must be an integer, got {value!r}") from None
    if not lo <= number <= hi:
        raise error(f"{what} must be between {lo:,} and {hi:,}, got {number:,}")
    return number


def check_float(
    value: object,
    what: str,
    hi: float,
    lo: float = 0.0,
    error: type[SodError] = SodError,
    lo_inclusive: bool = False,
) -> float:
    """``value`` as a finite float in ``(lo, hi]`` (``[lo, hi]`` with ``lo_inclusive``)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise error(f"{what} must be a number, got {value!r}") from None
    low_ok = number >= lo if lo_inclusive else number > lo
    if not math.isfinite(number) or not low_ok or number > hi:
        side = "[" if lo_inclusive else "("
        raise error(f"{what} must be a finite number in {side}{lo:g}, {hi:g}], got {value!r}")
    return number
