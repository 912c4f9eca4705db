"""Time the three sparse-accelerator models (SCNN, SparTen, index matching) on VGG-16 and
BERT-base (sequence 128), one core, with seeded i.i.d. masks.

VGG-16: weight density 0.3, input feature maps density 0.5 (conv activation masks are the
im2col of a feature-map mask, as real ones are). BERT-base: weight density 0.1 (90 %
sparsity), activations dense (GELU), attention operands dense.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sparse_models.py [--conflict-error]

``scnn/fc-chan`` is SCNN with FC layers split over PEs by input channel (a sensitivity
option, ``fc_mapping="channels"``). Prints, per network and model, the wall and CPU time
of the model calls only (mask
generation is timed separately; on a shared machine CPU time is the steadier figure),
the total cycles, the effective utilization and the peak RSS.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy loads BLAS

import argparse
import resource
import time

import numpy as np

from sod.arch.sparse import IndexMatchArch, SCNNArch, SparTenArch
from sod.mapping.scnn import im2col, scnn_plane
from sod.models.index_match import evaluate_index_match
from sod.models.scnn import evaluate_scnn
from sod.models.sparten import evaluate_sparten
from sod.workload.zoo import get_model


def masks(workload, w_density: float, a_density: float, rng: np.random.Generator):
    """Per GEMM: (weight mask, act mask, feature-map mask or None)."""
    out = []
    for g in workload:
        wd = w_density if g.w_is_weight else 1.0
        w = rng.random((g.repeat, g.k, g.n) if g.repeat > 1 else (g.k, g.n), dtype=np.float32) < wd
        if g.conv is not None:
            pl = scnn_plane(g)
            cv = g.conv
            fmap = (
                rng.random((pl.batch, cv.in_channels, cv.in_h, cv.in_w), dtype=np.float32)
                < a_density
            )
            reps = [
                im2col(fmap[:, r * pl.channels : (r + 1) * pl.channels], pl)
                for r in range(g.repeat)
            ]
            a = reps[0] if g.repeat == 1 else np.stack(reps)
            out.append((w, a, fmap))
        else:
            shape = (g.repeat, g.m, g.k) if g.repeat > 1 else (g.m, g.k)
            out.append((w, rng.random(shape, dtype=np.float32) < a_density, None))
    return out


def conflict_error(seeds: int = 3) -> None:
    """Relative cycle error of SCNN's sampled bank conflicts against the exact count
    (every cycle enumerated, which equals the cycle-level reference) on medium layers."""
    for buffering in ("deep", "none"):
        print(f" crossbar_buffering={buffering}")
        _conflict_error(SCNNArch(crossbar_buffering=buffering), seeds)
    queue_depths()


def queue_depths() -> None:
    """Cycles of the cycle-level reference with bounded bank queues, relative to the
    ideal (conflict-free) cycles: how deep queues must be for the 'deep' model to hold."""
    from sod.reference.scnn import simulate_scnn
    from sod.workload.gemm import conv2d

    rng = np.random.default_rng(9)
    g = conv2d("c", 14, 14, 8, 16, 3, padding=1)
    pl = scnn_plane(g)
    fmap = (rng.random((1, 8, 14, 14)) < 0.5).astype(np.int64)
    a = im2col(fmap, pl)
    w = (rng.random((g.k, g.n)) < 0.3).astype(np.int64)
    ideal = evaluate_scnn(g, SCNNArch(), w != 0, a != 0).details["ideal_cycles"]
    strict = simulate_scnn(g, SCNNArch(crossbar_buffering="none"), w, a).cycles
    row = [f"no queues {strict / ideal:.3f}"]
    for depth in (1, 2, 4, None):
        cyc = simulate_scnn(g, SCNNArch(), w, a, queue_depth=depth).cycles
        row.append(f"depth {depth or 'unbounded'} {cyc / ideal:.3f}")
    print(
        " bank queues, reference cycles / ideal (conv 14x14x8->16, w 0.3, a 0.5): " + ", ".join(row)
    )


def _conflict_error(arch: SCNNArch, seeds: int) -> None:
    from sod.workload.gemm import conv2d

    rng = np.random.default_rng(5)
    errors = []
    for h, c, k in ((28, 16, 32), (56, 32, 32), (14, 64, 64)):
        g = conv2d("c", h, h, c, k, 3, padding=1)
        pl = scnn_plane(g)
        for wd, ad in ((0.3, 0.5), (0.8, 0.9), (0.1, 0.3)):
            a = im2col(rng.random((1, c, h, h)) < ad, pl)
            w = rng.random((g.k, g.n)) < wd
            exact = evaluate_scnn(g, arch, w, a, conflict_cycles=10**9)
            for s in range(seeds):
                sampled = evaluate_scnn(g, arch, w, a, rng=np.random.default_rng(s))
                errors.append(sampled.cycles / exact.cycles - 1)
            print(
                f"  conv {h}x{h}x{c}->{k} w {wd} a {ad}: exact {exact.cycles:,d} cycles "
                f"({exact.details['bank_conflict_cycles']:,d} from bank conflicts), "
                f"sampled error " + " ".join(f"{e:+.2%}" for e in errors[-seeds:])
            )
    print(f"  max |error| {max(abs(e) for e in errors):.2%} over {len(errors)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--conflict-error",
        action="store_true",
        help="also measure SCNN's sampled bank-conflict error (~1 min)",
    )
    args = parser.parse_args()
    archs = {
        "scnn": SCNNArch(),
        "scnn/fc-chan": SCNNArch(fc_mapping="channels"),
        "sparten": SparTenArch(),
        "index_match": IndexMatchArch(),
    }
    cases = [
        ("vgg16", dict(batch=1), 0.3, 0.5),
        ("bert-base", dict(batch=1, seq_len=128), 0.1, 1.0),
    ]
    for net, kw, wd, ad in cases:
        wl = get_model(net, **kw)
        t0 = time.perf_counter()
        ms = masks(wl, wd, ad, np.random.default_rng(args.seed))
        print(
            f"{net}: {len(wl)} GEMMs, masks generated in {time.perf_counter() - t0:.2f} s "
            f"(w density {wd}, act density {ad})"
        )
        for name, arch in archs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            cycles = eff = 0
            for g, (w, a, fmap) in zip(wl, ms, strict=True):
                if name.startswith("scnn"):
                    c = evaluate_scnn(
                        g, arch, w, a, input_mask=fmap, rng=np.random.default_rng(args.seed)
                    )
                elif name == "sparten":
                    c = evaluate_sparten(g, arch, w, a)
                else:
                    c = evaluate_index_match(g, arch, w, a)
                cycles += c.cycles
                eff += c.macs_effectual
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            util = eff / (arch.pe_count * cycles)
            print(
                f"  {name:12s} {dt:7.2f} s wall {cpu:7.2f} s CPU   cycles {cycles:14,d}   "
                f"effective utilization {util:6.1%}"
            )
    if args.conflict_error:
        print("SCNN sampled bank conflicts vs exact:")
        conflict_error()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
