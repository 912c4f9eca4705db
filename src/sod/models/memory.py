"""The memory system shared by every architecture: GLB tiling, DRAM traffic, stalls.

Given a GEMM's operand footprints *as stored* (compressed bits where the architecture
stores an operand compressed), a global buffer (GLB) capacity and a DRAM bandwidth, the
model picks the loop order that moves the fewest DRAM bits and says how long the
transfers take against the compute:

Tiling (``schedules`` of a :class:`Footprint`: the GEMM's shape, stored operand sizes and
GLB; ``plan_tiling`` keeps the cheapest). Usable GLB capacity is half the GLB when
double-buffered (the other half receives the next block). The schedules below are costed
and the cheapest in DRAM bits is kept:

* ``resident`` — A, W and O all fit: every operand crosses the DRAM interface once;
* ``w_blocks`` — W is cut into column blocks that fit next to a staging slice of A and an
  output slice; A is streamed once per W block (A re-read ``ceil(n / n_block)`` times);
* ``a_blocks`` — A is cut into row blocks; W is streamed once per A block;
* ``k_chunks`` — only when no full-k slice fits: the reduction is cut into chunks planned
  like separate GEMMs, with int32 partial sums spilled to DRAM between chunks.

Outputs are accumulated on chip and written once (the partial sums of one block stay in
the GLB: the block sizes are chosen so they fit).

Timing (``pipeline_cycles``). The schedule is a sequence of slots (blocks, or the array's
folds when there are more of them), each with DRAM bits to load and compute cycles.
Double-buffered, loading slot i+1 overlaps computing slot i:
``load₀ + Σ max(compute_i, load_{i+1}) + compute_last``; single-buffered, the two add up.
Output write-back overlaps the next slot's compute like a load. The cycle-level
reference (:mod:`sod.reference.memory`) steps the same two-stage pipeline cycle by cycle
and agrees exactly (``tests/models/test_memory.py``).

Approximation, stated: blocks are costed with *average* compressed densities (a block's
DRAM bits are its share of the operand's stored bits), not per-block non-zero counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from sod.errors import ArchitectureError


@dataclass(frozen=True)
class TilingPlan:
    """A schedule's blocks and DRAM traffic (bits) per operand."""

    schedule: str  # resident | w_blocks | a_blocks | k_chunks
    blocks: int
    dram_read_bits_a: float
    dram_read_bits_w: float
    dram_write_bits_o: float
    glb_used_bits: float  # peak GLB occupancy of the schedule (both buffers)

    @property
    def dram_bits(self) -> float:
        return self.dram_read_bits_a + self.dram_read_bits_w + self.dram_write_bits_o


@dataclass(frozen=True)
class Footprint:
    """One GEMM's shape, its operands' sizes *as stored* (bits), and the GLB to fit them in."""

    m: int
    k: int
    n: int
    a_bits: float  # all of A (m × k)
    w_bits: float  # all of W (k × n)
    o_bits: float  # all of O (m × n)
    glb_bits: float
    double_buffered: bool = True
    stage_rows: int = 1  # rows (or columns) of the streamed operand on chip at once: R or C

    @property
    def usable_bits(self) -> float:
        # Double-buffered, the other half of the GLB receives the next block.
        return self.glb_bits / 2 if self.double_buffered else self.glb_bits

    @property
    def factor(self) -> float:
        return 2.0 if self.double_buffered else 1.0

    def too_small(self, stage: int, extra: str = "") -> ArchitectureError:
        return ArchitectureError(
            f"GLB of {self.glb_bits / 8 / 1024:.1f} KiB cannot hold one {stage}-row slice of a "
            f"{self.m}x{self.k}x{self.n} GEMM's operands{extra} (glb_kib too small)"
        )


def plan_tiling(
    m: int,
    k: int,
    n: int,
    a_bits: float,
    w_bits: float,
    o_bits: float,
    glb_bits: float,
    double_buffered: bool = True,
    stage_rows: int = 1,
) -> TilingPlan:
    """The cheapest (fewest DRAM bits) schedule of one GEMM for a GLB of ``glb_bits``."""
    fp = Footprint(m, k, n, a_bits, w_bits, o_bits, glb_bits, double_buffered, stage_rows)
    return cheapest(schedules(fp))


def candidate_plans(
    m: int,
    k: int,
    n: int,
    a_bits: float,
    w_bits: float,
    o_bits: float,
    glb_bits: float,
    double_buffered: bool = True,
    stage_rows: int = 1,
    allow_k_chunks: bool = True,
) -> list[TilingPlan]:
    """:func:`schedules` of a :class:`Footprint` given field by field."""
    fp = Footprint(m, k, n, a_bits, w_bits, o_bits, glb_bits, double_buffered, stage_rows)
    return schedules(fp, allow_k_chunks)


def cheapest(plans: list[TilingPlan]) -> TilingPlan:
    """Fewest DRAM bits, then fewest blocks."""
    return min(plans, key=lambda p: (p.dram_bits, p.blocks))


def schedules(fp: Footprint, allow_k_chunks: bool = True) -> list[TilingPlan]:
    """Every schedule of one GEMM that fits the GLB (at least one, or raise)."""
    if fp.glb_bits <= 0:
        raise ArchitectureError(f"GLB capacity must be positive, got {fp.glb_bits} bits")
    plans = _resident(fp) + _blocked(fp)
    if allow_k_chunks:
        # Cutting the reduction can beat re-streaming a whole operand (and is the only
        # way when no full-k slice fits), so it is always a candidate when it splits k.
        try:
            chunked = _k_chunked(fp)
        except ArchitectureError:
            if not plans:
                raise
        else:
            if chunked is not None:
                plans.append(chunked)
    if not plans:
        raise fp.too_small(min(fp.stage_rows, fp.m))
    return plans


def _resident(fp: Footprint) -> list[TilingPlan]:
    total = fp.a_bits + fp.w_bits + fp.o_bits
    if total > fp.usable_bits:
        return []
    return [TilingPlan("resident", 1, fp.a_bits, fp.w_bits, fp.o_bits, total * fp.factor)]


def _blocked(fp: Footprint) -> list[TilingPlan]:
    """W column blocks next to a staging slice of A rows (A re-streamed per block), and the
    mirror image: A row blocks next to a staging slice of W columns."""
    m, n, a_bits, w_bits, o_bits = fp.m, fp.n, fp.a_bits, fp.w_bits, fp.o_bits
    a_row, w_col, o_elem = a_bits / m, w_bits / n, o_bits / (m * n)
    plans: list[TilingPlan] = []
    for schedule, count, held, stage, staged in (
        ("w_blocks", n, w_col, min(fp.stage_rows, m), a_row),
        ("a_blocks", m, a_row, min(fp.stage_rows, n), w_col),
    ):
        room = fp.usable_bits - stage * staged
        per_item = held + stage * o_elem  # one held row/column and its staged outputs
        size = min(count, math.floor(room / per_item)) if room > 0 else 0
        if size >= 1:
            blocks = math.ceil(count / size)
            used = (size * held + stage * staged + stage * size * o_elem) * fp.factor
            a_traffic = a_bits * blocks if schedule == "w_blocks" else a_bits
            w_traffic = w_bits * blocks if schedule == "a_blocks" else w_bits
            plans.append(TilingPlan(schedule, blocks, a_traffic, w_traffic, o_bits, used))
    return plans


def _k_chunked(fp: Footprint) -> TilingPlan | None:
    """Cut k into chunks whose slices fit: each chunk is planned like a GEMM of its own and
    partial sums (4× the output width: int32) spill to DRAM and come back between chunks.
    None when the chunk would be all of k (no split)."""
    m, k, n = fp.m, fp.k, fp.n
    stage = min(fp.stage_rows, m)
    per_k = stage * fp.a_bits / (m * k) + stage * fp.w_bits / (n * k)  # one slice row + column
    kc = math.floor(fp.usable_bits / 2 / per_k) if per_k else k
    if kc < 1:
        raise fp.too_small(stage, " even one reduction index at a time")
    if kc >= k:
        return None
    chunks = math.ceil(k / kc)
    psum_bits = 4 * fp.o_bits
    chunk = replace(
        fp, k=kc, a_bits=fp.a_bits * kc / k, w_bits=fp.w_bits * kc / k, o_bits=psum_bits
    )
    best = cheapest(schedules(chunk, allow_k_chunks=False))
    spill = (chunks - 1) * psum_bits  # written after every chunk but the last, read back
    return TilingPlan(
        "k_chunks",
        best.blocks * chunks,
        best.dram_read_bits_a * chunks,
        best.dram_read_bits_w * chunks + spill,
        fp.o_bits + spill,
        best.glb_used_bits,
    )


def pipeline_cycles(
    load_cycles: np.ndarray, compute_cycles: np.ndarray, double_buffered: bool = True
) -> int:
    """Cycles of a load→compute pipeline over blocks (exact for the two-stage model)."""
    load = np.asarray(load_cycles, dtype=np.int64)
    comp = np.asarray(compute_cycles, dtype=np.int64)
    if load.shape != comp.shape or load.ndim != 1 or load.size == 0:
        raise ValueError("load and compute need equal non-empty 1-D shapes")
    if not double_buffered:
        return int(load.sum() + comp.sum())
    nxt = np.append(load[1:], 0)
    return int(load[0] + np.maximum(comp, nxt).sum())


def block_schedule(
    plan: TilingPlan, compute_cycles: int, bandwidth_bytes_per_cycle: float, slots: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot (load cycles, compute cycles) of a plan.

    The schedule is pipelined at the granularity of ``max(plan.blocks, slots)`` equal slots
    (``slots`` is normally the array's fold count: a fold needs only its own tiles on
    chip), with the input traffic spread evenly over them. Each slot's output write-back
    travels with the next slot's transfer; the last slot's write-back overlaps its own
    computation (a systolic array drains outputs while it computes), so it only costs time
    when it is longer than that computation.
    """
    bits_per_cycle = bandwidth_bytes_per_cycle * 8
    b = max(plan.blocks, int(slots), 1)
    per_slot = (plan.dram_read_bits_a + plan.dram_read_bits_w) / b
    out_per_slot = plan.dram_write_bits_o / b
    loads = np.full(b + 1, per_slot + out_per_slot, dtype=np.float64)
    loads[0] = per_slot
    loads[b] = out_per_slot
    load_cycles = np.ceil(loads / bits_per_cycle).astype(np.int64)
    comp = np.full(b + 1, compute_cycles // b, dtype=np.int64)
    comp[: compute_cycles % b] += 1
    comp[b] = 0
    return load_cycles, comp


@dataclass(frozen=True)
class MemoryResult:
    plan: TilingPlan
    total_cycles: int
    stall_cycles: int


def evaluate_memory(
    m: int,
    k: int,
    n: int,
    a_bits: float,
    w_bits: float,
    o_bits: float,
    compute_cycles: int,
    glb_bits: float,
    bandwidth_bytes_per_cycle: float,
    double_buffered: bool = True,
    stage_rows: int = 1,
    slots: int = 1,
) -> MemoryResult:
    """Tiling, DRAM traffic and stall cycles of one GEMM execution.

    ``slots``: the work units the hardware double-buffers (a systolic array's folds, a
    sparse accelerator's blocks or tiles: docs/paper-comparison.md, "mapping search").
    The schedule that finishes first is kept, then the one moving the fewest DRAM bits:
    the rule :func:`sod.models.systolic_steps.memory_schedule` applies to the arrays."""
    fp = Footprint(m, k, n, a_bits, w_bits, o_bits, glb_bits, double_buffered, stage_rows)
    results = []
    for plan in schedules(fp):
        loads, comps = block_schedule(plan, compute_cycles, bandwidth_bytes_per_cycle, slots)
        total = pipeline_cycles(loads, comps, double_buffered)
        results.append(MemoryResult(plan, total, total - compute_cycles))
    return min(results, key=lambda r: (r.total_cycles, r.plan.dram_bits))
