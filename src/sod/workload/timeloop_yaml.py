"""Read Timeloop / Sparseloop problem YAML: one convolution (or GEMM) layer per file.

A Timeloop problem names the dimensions of the CNN-Layer shape — ``C`` input channels,
``M`` output channels, ``R``×``S`` filter, ``P``×``Q`` output, ``N`` batch, with
``Hstride``/``Wstride`` and ``Hdilation``/``Wdilation`` coefficients — under
``problem: instance:``. Sparseloop adds ``instance: densities:`` per data space, either a
number or ``{density: D, distribution: ...}``; ``Weights`` and ``Inputs`` become the
GEMM's weight and activation densities (patterns are drawn i.i.d. from them: a problem
file carries no masks). Lowered with sod's im2col convention (docs/workloads.md): m =
N·P·Q, k = C·R·S, n = M.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sod.errors import WorkloadError
from sod.workload.gemm import Activation, Workload, conv2d
from sod.yamlio import read_yaml_mapping

DIMENSIONS = ("C", "M", "R", "S", "N", "P", "Q")
MAX_DIM = 1 << 24  # a dimension beyond this is a typo, not a layer


def _dim(instance: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = instance.get(key, default)
    if value is None:
        raise WorkloadError(f"{where}: problem instance has no {key!r}")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DIM:
        raise WorkloadError(f"{where}: {key} must be an integer in 1..{MAX_DIM}, got {value!r}")
    return value


def _density(densities: Any, space: str, where: str) -> float:
    if densities is None:
        return 1.0
    if not isinstance(densities, dict):
        raise WorkloadError(f"{where}: 'densities' must be a mapping of data spaces")
    raw = densities.get(space, 1.0)
    value = raw.get("density", 1.0) if isinstance(raw, dict) else raw
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise WorkloadError(f"{where}: density of {space} must be in (0, 1], got {value!r}")
    return float(value)


def read_problem(path: str | Path) -> Workload:
    """One Timeloop/Sparseloop problem file as a one-GEMM workload."""
    return read_problems([path], name=Path(path).stem)


def read_problems(paths: Iterable[str | Path], name: str = "timeloop") -> Workload:
    """Several problem files (one layer each, in the order given) as one workload."""
    gemms = []
    for path in paths:
        where = str(path)
        data = read_yaml_mapping(path, "Timeloop problem", WorkloadError)
        problem = data.get("problem")
        if not isinstance(problem, dict) or not isinstance(problem.get("instance"), dict):
            raise WorkloadError(f"{where}: not a Timeloop problem (no 'problem: instance:')")
        inst = problem["instance"]
        c, m, r, s = (_dim(inst, k, where) for k in ("C", "M", "R", "S"))
        n, p, q = (_dim(inst, k, where, 1) for k in ("N", "P", "Q"))
        hs, ws = _dim(inst, "Hstride", where, 1), _dim(inst, "Wstride", where, 1)
        hd, wd = _dim(inst, "Hdilation", where, 1), _dim(inst, "Wdilation", where, 1)
        # Timeloop counts output pixels: the input is exactly what they read (no padding).
        in_h, in_w = (p - 1) * hs + (r - 1) * hd + 1, (q - 1) * ws + (s - 1) * wd + 1
        gemm = conv2d(
            Path(path).stem,
            in_h,
            in_w,
            c,
            m,
            (r, s),
            stride=(hs, ws),
            dilation=(hd, wd),
            batch=n,
            input_activation=Activation.RELU,
        )
        densities = inst.get("densities")
        gemms.append(
            gemm.with_(
                weight_density=_density(densities, "Weights", where),
                act_density=_density(densities, "Inputs", where),
            )
        )
    if not gemms:
        raise WorkloadError("no Timeloop problem files given")
    return Workload(name, tuple(gemms))
