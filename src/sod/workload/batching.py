"""Batch as a repeat: how many rows of a GEMM's activation mask are drawn.

A batch of B images gets activation patterns for at most S distinct images (``act_images``,
``--act-images``, default :data:`~sod.limits.DEFAULT_ACT_IMAGES`); image i of the batch
uses image ``i mod S``'s pattern. The A mask then repeats with a period of S images'
rows (:class:`~sod.workload.mask.TiledMask`), which is all that is stored and, in the
models that know it, all that is evaluated (docs/large-batch.md).

A convolution's images are ``m / (out_h · out_w)``; another layer's are the workload's
batch when it divides m (a CNN's FC layers: one row per image; a transformer: seq_len rows
per image). Anything else is drawn whole.
"""

from __future__ import annotations

from sod.errors import WorkloadError
from sod.limits import MAX_BATCH, check_int
from sod.workload.gemm import Gemm


def check_act_images(act_images: int, what: str = "--act-images") -> int:
    """``act_images`` as a positive int (one-line :class:`WorkloadError` otherwise)."""
    return check_int(act_images, what, 1, MAX_BATCH, WorkloadError)


def rows_per_image(gemm: Gemm, batch: int) -> tuple[int, int] | None:
    """(images, rows of A per image) of ``gemm``, or None when its rows are not images."""
    c = gemm.conv
    if c is not None:
        pixels = c.out_h * c.out_w
        if pixels > 0 and gemm.m % pixels == 0:
            return gemm.m // pixels, pixels
        return None
    if batch > 0 and gemm.m % batch == 0:
        return batch, gemm.m // batch
    return None


def act_period_rows(gemm: Gemm, batch: int, act_images: int) -> int:
    """Rows of A (per group) whose pattern is drawn: ``min(images, act_images)`` images'
    rows, or all ``m`` rows when the rows are not images."""
    per = rows_per_image(gemm, batch)
    if per is None:
        return gemm.m
    images, rows = per
    return min(images, act_images) * rows
