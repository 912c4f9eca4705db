"""How much memory building a workload's operand masks takes, before it is built.

:func:`mask_memory_bytes` is a pure function of the GEMM shapes: the bit-packed masks that
``sod.sparsity.apply_sparsity`` attaches (W: k × n bits per weight group, A: m × k bits per
activation group) plus the transient working set of the largest layer while it is pruned
(float32 magnitudes, int64 sort indices and a boolean mask: 13 bytes per weight; a float64
draw and a boolean mask: 9 bytes per activation of the feature map, plus one image's
im2col for a convolution). Activation masks count only the period of at most
``act_images`` images that is drawn (batch as a repeat). It errs on the high side. The CLI commands
that build masks call :func:`check_mask_memory` first and refuse a request above
``--max-memory-gb`` with a message naming that option, instead of exhausting the machine.
"""

from __future__ import annotations

from collections.abc import Iterable

from sod.errors import WorkloadError
from sod.limits import DEFAULT_ACT_IMAGES
from sod.workload.batching import act_period_rows
from sod.workload.gemm import Gemm

WEIGHT_WORK_BYTES = 13  # per weight of the layer being pruned
ACT_WORK_BYTES = 9  # per activation of the layer whose mask is drawn
MAX_MEMORY_OPTION = "--max-memory-gb"


def _groups(g: Gemm) -> int:
    # Each group of a grouped convolution has its own masks; the repeats of a linear layer
    # (identical stacked blocks) share one representative mask (sod.sparsity.synth).
    return g.repeat if g.conv is not None and g.conv.groups == g.repeat else 1


def mask_memory_bytes(
    gemms: Iterable[Gemm], batch: int = 0, act_images: int = DEFAULT_ACT_IMAGES
) -> int:
    """Estimated peak bytes of building the weight and activation masks of ``gemms``.

    Activation masks are drawn for at most ``act_images`` images (batch as a repeat,
    :mod:`sod.workload.batching`): only that period is built and stored. ``batch`` tells
    a linear layer's images (0: unknown, its rows are counted whole).
    """
    stored_bits = 0
    work = 0
    for g in gemms:
        groups = _groups(g)
        w = g.k * g.n * groups if g.w_is_weight else 0
        rows = act_period_rows(g, batch, act_images)
        a = rows * g.k * groups
        stored_bits += w + a
        c = g.conv
        if c is not None:
            # Convolutions draw a feature-map mask, then im2col one image at a time.
            images = max(rows // (c.out_h * c.out_w), 1)
            a = images * c.in_channels * c.in_h * c.in_w + a // images
        work = max(work, w * WEIGHT_WORK_BYTES, a * ACT_WORK_BYTES)
    return -(-stored_bits // 8) + work


def check_mask_memory(
    gemms: Iterable[Gemm],
    max_memory_gb: float,
    what: str = "workload",
    batch: int = 0,
    act_images: int = DEFAULT_ACT_IMAGES,
) -> int:
    """The estimate of :func:`mask_memory_bytes`, or :class:`WorkloadError` above the limit."""
    need = mask_memory_bytes(gemms, batch, act_images)
    if need > max_memory_gb * 1e9:
        raise WorkloadError(
            f"{what} needs about {need / 1e9:,.1f} GB to build its sparsity masks, more than "
            f"{MAX_MEMORY_OPTION} {max_memory_gb:g}; use a smaller batch, sequence length or "
            f"--act-images, or raise {MAX_MEMORY_OPTION}"
        )
    return need
