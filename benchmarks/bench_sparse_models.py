"""Time the three sparse-accelerator models (SCNN, SparTen, index matching) on VGG-16 and
BERT-base (sequence 128), one core, with seeded i.i.d. masks.

VGG-16: weight density 0.3, input feature maps density 0.5 (conv activation masks are the
im2col of a feature-map mask, as real ones are). BERT-base: weight density 0.1 (90 %
sparsity), activations dense (GELU), attention operands dense.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sparse_models.py

Prints, per network and model, the wall time of the model calls only (mask generation
is timed separately), the total cycles and the effective utilization, and the peak RSS.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy loads BLAS

import argparse
import resource
import time

import numpy as np

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.models.index_match import evaluate_index_match
from sod.models.scnn import evaluate_scnn, im2col, scnn_plane
from sod.models.sparten import evaluate_sparten
from sod.workload.zoo import get_model


def masks(workload, w_density: float, a_density: float, rng: np.random.Generator):
    """Per GEMM: (weight mask, act mask, feature-map mask or None)."""
    out = []
    for g in workload:
        wd = w_density if g.w_is_weight else 1.0
        w = rng.random((g.repeat, g.k, g.n) if g.repeat > 1 else (g.k, g.n),
                       dtype=np.float32) < wd
        if g.conv is not None:
            pl = scnn_plane(g)
            cv = g.conv
            fmap = rng.random((pl.batch, cv.in_channels, cv.in_h, cv.in_w),
                              dtype=np.float32) < a_density
            reps = [im2col(fmap[:, r * pl.channels:(r + 1) * pl.channels], pl)
                    for r in range(g.repeat)]
            a = reps[0] if g.repeat == 1 else np.stack(reps)
            out.append((w, a, fmap))
        else:
            shape = (g.repeat, g.m, g.k) if g.repeat > 1 else (g.m, g.k)
            out.append((w, rng.random(shape, dtype=np.float32) < a_density, None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    archs = {"scnn": SCNNArch(), "sparten": SparTenArch(), "index_match": IndexMatchArch()}
    cases = [("vgg16", dict(batch=1), 0.3, 0.5),
             ("bert-base", dict(batch=1, seq_len=128), 0.1, 1.0)]
    for net, kw, wd, ad in cases:
        wl = get_model(net, **kw)
        t0 = time.perf_counter()
        ms = masks(wl, wd, ad, np.random.default_rng(args.seed))
        print(f"{net}: {len(wl)} GEMMs, masks generated in {time.perf_counter() - t0:.2f} s "
              f"(w density {wd}, act density {ad})")
        for name, arch in archs.items():
            t0 = time.perf_counter()
            cycles = eff = 0
            for g, (w, a, fmap) in zip(wl, ms, strict=True):
                if name == "scnn":
                    c = evaluate_scnn(g, arch, w, a, input_mask=fmap,
                                      rng=np.random.default_rng(args.seed))
                elif name == "sparten":
                    c = evaluate_sparten(g, arch, w, a)
                else:
                    c = evaluate_index_match(g, arch, w, a)
                cycles += c.cycles
                eff += c.macs_effectual
            dt = time.perf_counter() - t0
            util = eff / (arch.pe_count * cycles)
            print(f"  {name:12s} {dt:7.2f} s   cycles {cycles:14,d}   "
                  f"effective utilization {util:6.1%}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
