"""Lock-step simulation of an Amaranth design against its Python golden model.

:func:`run_lockstep` drives the design (Amaranth's own simulator, no Icarus/Verilator) and
the golden model with the same per-cycle inputs and compares every listed output on every
cycle; the first mismatch raises :class:`Mismatch` naming the cycle, the port and both
values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class Mismatch(AssertionError):
    """The RTL and its golden model disagree."""


def _plain(value: Any) -> Any:
    """Simulator value (int, Const view of an array or struct) as ints/lists."""
    if isinstance(value, int):
        return value
    try:
        length = len(value)
    except TypeError:
        return int(value.as_value().value) if hasattr(value, "as_value") else int(value)
    return [_plain(value[i]) for i in range(length)]


def run_lockstep(
    dut, model_step: Callable[..., dict], inputs: Sequence[dict], outputs: Sequence[str]
) -> list[dict]:
    """Simulate ``dut`` and ``model_step`` over ``inputs`` (one dict of port values per cycle).

    ``model_step(**inputs)`` returns the golden outputs of the current cycle. Returns the RTL
    outputs per cycle; raises :class:`Mismatch` at the first difference.
    """
    from amaranth.sim import Simulator

    trace: list[dict] = []

    async def bench(ctx):
        for cycle, values in enumerate(inputs):
            for port, value in values.items():
                ctx.set(getattr(dut, port), value)
            got = {name: _plain(ctx.get(getattr(dut, name))) for name in outputs}
            want = model_step(**values)
            for name in outputs:
                if got[name] != want[name]:
                    raise Mismatch(f"cycle {cycle}: {name} RTL={got[name]} model={want[name]}")
            trace.append(got)
            if clocked:
                await ctx.tick()
            else:
                await ctx.delay(1e-8)

    sim = Simulator(dut)
    try:
        sim.add_clock(1e-8)
        clocked = True
    except NameError:  # purely combinational design: no sync domain
        clocked = False
    sim.add_testbench(bench)
    sim.run()
    return trace
