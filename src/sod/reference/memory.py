"""Cycle-level reference of the double-buffered load→compute pipeline of the GLB.

Steps one cycle at a time: the DRAM interface moves ``bits_per_cycle`` bits into the free
buffer, the array computes on the full one. Block i may start computing when its data
has fully arrived and block i−1 has finished; block i+1 may start loading when block i
has arrived and its buffer (that of block i−1) is free. It is the reference that
:func:`sod.models.memory.pipeline_cycles` must equal.
"""

from __future__ import annotations

from collections.abc import Sequence


def simulate_pipeline(
    load_bits: Sequence[float],
    compute_cycles: Sequence[int],
    bits_per_cycle: float,
    double_buffered: bool = True,
) -> int:
    """Total cycles until the last block has computed and the last transfer is done."""
    n = len(load_bits)
    loaded = [0.0] * n
    load_done = [False] * n
    comp_left = [int(c) for c in compute_cycles]
    comp_done = [False] * n
    loading, computing = 0, -1  # indices of the blocks in flight
    cycle = 0
    # Zero-size transfers complete at once.
    while True:
        if loading < n and loaded[loading] >= load_bits[loading] and not load_done[loading]:
            load_done[loading] = True
            loading += 1
        if computing >= 0 and comp_left[computing] == 0 and not comp_done[computing]:
            comp_done[computing] = True
        nxt = computing + 1 if computing < 0 or comp_done[computing] else None
        if nxt is not None and nxt < n and load_done[nxt]:
            computing = nxt
            if comp_left[nxt] == 0:
                comp_done[nxt] = True
                continue
        if all(comp_done) and all(load_done):
            return cycle
        # One cycle passes.
        may_load = loading < n and (
            (double_buffered and (loading - 1 < 0 or loading - 1 <= computing))
            and (loading - 2 < 0 or comp_done[loading - 2])
            if double_buffered
            else loading < n and (loading == 0 or comp_done[loading - 1])
        )
        if may_load:
            loaded[loading] += bits_per_cycle
        if 0 <= computing < n and not comp_done[computing] and comp_left[computing] > 0:
            comp_left[computing] -= 1
        cycle += 1
