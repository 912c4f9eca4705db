#!/usr/bin/env python3
"""Generate SCALE-Sim v3 reference cycle counts for ``sod``'s dense systolic-array model.

This script is a *developer tool*: it is not imported by the ``sod`` package, is not
needed by the test-suite, and only runs inside a dedicated virtualenv that has the
``scalesim`` wheel installed.  Its outputs (small CSV/JSON files) are committed under
``src/sod/reference/data/scalesim/`` and the tests compare the analytic model against them.

Creating the venv (outside the repo, never in the system Python)::

    python3 -m venv /work/scalesim-venv
    /work/scalesim-venv/bin/pip install scalesim==3.0.0 "numpy<2.4"

(scalesim 3.0.0 crashes with numpy >= 2.4.)

Usage::

    /work/scalesim-venv/bin/python tools/scalesim_reference.py --list
    /work/scalesim-venv/bin/python tools/scalesim_reference.py --all
    /work/scalesim-venv/bin/python tools/scalesim_reference.py --case gemm_odd_8x8_ws
    /work/scalesim-venv/bin/python tools/scalesim_reference.py --all --skip-existing

For every case the script writes, into ``src/sod/reference/data/scalesim/<case_name>/``:

* ``topology.csv``        -- the topology fed to SCALE-Sim (conv or GEMM format),
* ``COMPUTE_REPORT.csv``  -- SCALE-Sim's per-layer compute report, copied verbatim,
* ``case.json``           -- array shape, dataflow, topology format, scalesim version.

How SCALE-Sim is driven (quirks of the 3.0.0 wheel worked around here):

* The CLI (``python -m scalesim.scale``) ignores ``-s`` and always dumps per-cycle
  SRAM/DRAM traces (gigabytes for big layers), so we call
  ``scalesim.scale_sim.scalesim(save_disk_space=True, ...)`` from Python instead.
* A layout CSV is always opened even when custom layouts are disabled; we pass a
  header-only one.
* Topology rows are parsed with ``row.split(',')[:-1]``: every row (header included)
  must end with a trailing comma or its last column is silently dropped.
* The ``[network_presets]`` config section is read with the wrong section name in
  3.0.0, so we leave it out and pass the topology path explicitly.
* Configs/topologies are not shipped in the wheel; they are generated here.
* Memory model: ``InterfaceBandwidth = CALC`` (SCALE-Sim's "estimate bandwidth"
  mode).  In that mode IFMAP/filter SRAM reads always hit (ideal DRAM), so
  ``Stall Cycles`` is 0 and ``Total Cycles`` is the pure compute-schedule length,
  provided the OFMAP SRAM is large enough never to block on drains (we use large
  SRAMs).  The "Total Cycles (incl. prefetch)" column depends on the SRAM sizes
  (a fictitious initial prefetch at 10 words/cycle) and is NOT meant to be modelled.

Each case runs in a fresh child process (one at a time; the machine is shared) and
the large report/trace directory is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALESIM_VERSION_EXPECTED = "3.0.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "src" / "sod" / "reference" / "data" / "scalesim"

# SRAM sizes (kB) used for every case.  Large, so the OFMAP write buffer never stalls;
# they do not influence "Total Cycles" in CALC mode (only "(incl. prefetch)").
SRAM_KB = {"ifmap": 1024, "filter": 1024, "ofmap": 1024}

# --------------------------------------------------------------------------------------
# Topologies
# --------------------------------------------------------------------------------------
# conv rows: (name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride)
# SCALE-Sim has no padding: ifmap sizes below are already padded.  Its ofmap size is
#   E = ceil((H - F + S) / S)  ( = ceil((H - F) / S) + 1, NOT floor((H - F) / S) + 1 ).
# gemm rows: (name, M, N, K)
# Layer names must not contain "DP" (SCALE-Sim treats those as depth-wise and splits them).
TOPOLOGIES: dict[str, dict] = {
    "alexnet_conv": {
        "format": "conv",
        "layers": [
            ("conv1", 227, 227, 11, 11, 3, 96, 4),
            # grouped convs (groups=2) modelled as one group each
            ("conv2_g", 31, 31, 5, 5, 48, 128, 1),
            ("conv3", 15, 15, 3, 3, 256, 384, 1),
            ("conv4_g", 15, 15, 3, 3, 192, 192, 1),
            ("conv5_g", 15, 15, 3, 3, 192, 128, 1),
        ],
    },
    "lenet_conv": {
        "format": "conv",
        "layers": [
            ("c1", 32, 32, 5, 5, 1, 6, 1),
            ("c3", 14, 14, 5, 5, 6, 16, 1),
        ],
    },
    "resnet50_conv": {
        "format": "conv",
        "layers": [
            # 224 + 2*3 padding; (230-7)/2 is not integral -> SCALE-Sim gives 113x113
            ("conv1", 230, 230, 7, 7, 3, 64, 2),
            ("res2a_branch2c", 56, 56, 1, 1, 64, 256, 1),
            # 28 + 2*1 padding, stride 2; (30-3)/2 not integral -> 15x15 (PyTorch: 14x14)
            ("res3a_branch2b", 30, 30, 3, 3, 128, 128, 2),
            # 1x1 stride-2 projection; (56-1)/2 not integral -> 29x29 (PyTorch: 28x28)
            ("res3a_branch1", 56, 56, 1, 1, 256, 512, 2),
            ("res5a_branch2b", 9, 9, 3, 3, 512, 512, 1),
        ],
    },
    "gemm_odd": {
        "format": "gemm",
        "layers": [
            ("g1x1x1", 1, 1, 1),
            ("g7x13x5", 7, 13, 5),
            ("g100x3x257", 100, 3, 257),
            ("g33x65x17", 33, 65, 17),
            ("g128x128x128", 128, 128, 128),
            ("g1000x17x9", 1000, 17, 9),
            ("g3x1000x40", 3, 1000, 40),
        ],
    },
    "gemm_fc": {
        "format": "gemm",
        "layers": [
            ("fc6", 1, 4096, 9216),
        ],
    },
}

DATAFLOWS = ("ws", "os", "is")


def _cases() -> dict[str, dict]:
    """All reference cases, keyed by directory name ``<topology>_<R>x<C>_<dataflow>``."""
    plan = [
        # (topology, [(rows, cols), ...])
        ("lenet_conv", [(8, 8), (32, 32), (16, 64), (64, 16), (128, 128)]),
        ("gemm_odd", [(8, 8), (32, 32), (16, 64), (64, 16), (128, 128)]),
        ("alexnet_conv", [(32, 32), (16, 64), (128, 128)]),
        ("resnet50_conv", [(32, 32), (16, 64), (128, 128)]),
    ]
    cases = {}
    for topo, shapes in plan:
        for rows, cols in shapes:
            for df in DATAFLOWS:
                name = f"{topo}_{rows}x{cols}_{df}"
                cases[name] = {"topology": topo, "rows": rows, "cols": cols, "dataflow": df}
    return cases


CASES = _cases()

# Opt-in only (never part of --all): far too slow in SCALE-Sim 3.0.0's pure-Python
# memory model.  gemm_fc_128x128_os was killed after >135 s CPU / 2 GB RSS (its filter
# prefetch matrix alone is 32*9216 x 128 elements walked one by one); WS would be ~3x
# slower.  Run explicitly with --case if you really want them.
SLOW_CASES = {
    f"gemm_fc_128x128_{df}": {"topology": "gemm_fc", "rows": 128, "cols": 128, "dataflow": df}
    for df in DATAFLOWS
}
ALL_KNOWN_CASES = {**CASES, **SLOW_CASES}

# --------------------------------------------------------------------------------------
# File writers
# --------------------------------------------------------------------------------------


def topology_csv_text(topo_name: str) -> str:
    """Topology CSV exactly as SCALE-Sim 3.0.0 parses it (header + trailing commas)."""
    topo = TOPOLOGIES[topo_name]
    if topo["format"] == "conv":
        header = (
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
            "Channels, Num Filter, Strides,"
        )
    else:
        header = "Layer, M, N, K,"
    lines = [header]
    for row in topo["layers"]:
        lines.append(", ".join(str(x) for x in row) + ",")
    return "\n".join(lines) + "\n"


def config_text(run_name: str, rows: int, cols: int, dataflow: str) -> str:
    return f"""[general]
run_name = {run_name}

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = {SRAM_KB["ifmap"]}
filtersramszkB = {SRAM_KB["filter"]}
ofmapsramszkB = {SRAM_KB["ofmap"]}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
FilterCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
"""


# A layout file is always opened by scalesim 3.0.0; header-only is enough when
# custom layouts are disabled.
LAYOUT_CSV_TEXT = "Layer name,\n"

# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def _scalesim_version() -> str:
    from importlib.metadata import version

    return version("scalesim")


def _run_child(work_dir: str, gemm: bool) -> None:
    """Runs inside the child process: one SCALE-Sim simulation, no traces."""
    from scalesim.scale_sim import scalesim

    wd = Path(work_dir)
    sim = scalesim(
        save_disk_space=True,
        verbose=False,
        config=str(wd / "scale.cfg"),
        topology=str(wd / "topology.csv"),
        layout=str(wd / "layout.csv"),
        input_type_gemm=gemm,
    )
    sim.run_scale(top_path=str(wd / "out"))


def run_case(name: str, out_dir: Path) -> float:
    """Run one case; returns the child's CPU seconds."""
    case = ALL_KNOWN_CASES[name]
    topo = TOPOLOGIES[case["topology"]]
    gemm = topo["format"] == "gemm"
    run_name = "run"

    with tempfile.TemporaryDirectory(prefix=f"scalesim_{name}_") as tmp:
        wd = Path(tmp)
        (wd / "scale.cfg").write_text(
            config_text(run_name, case["rows"], case["cols"], case["dataflow"])
        )
        topo_text = topology_csv_text(case["topology"])
        (wd / "topology.csv").write_text(topo_text)
        (wd / "layout.csv").write_text(LAYOUT_CSV_TEXT)

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        cmd = [sys.executable, os.path.abspath(__file__), "--_child", str(wd)]
        if gemm:
            cmd.append("--_gemm")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise RuntimeError(f"scalesim failed for case {name} (rc={proc.returncode})")

        report = wd / "out" / run_name / "COMPUTE_REPORT.csv"
        if not report.is_file():
            raise RuntimeError(f"no COMPUTE_REPORT.csv for case {name}")

        dest = out_dir / name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report, dest / "COMPUTE_REPORT.csv")
        (dest / "topology.csv").write_text(topo_text)
        meta = {
            "array_rows": case["rows"],
            "array_cols": case["cols"],
            "dataflow": case["dataflow"],
            "topology_format": topo["format"],
            "scalesim_version": _scalesim_version(),
            "topology_name": case["topology"],
            "interface_bandwidth": "CALC",
            "sram_kb": dict(SRAM_KB),
        }
        (dest / "case.json").write_text(json.dumps(meta, indent=2) + "\n")
        # the TemporaryDirectory (config, out/ with BANDWIDTH/DETAILED reports) is removed here

    print(f"{name}: cpu {cpu:.1f}s wall {wall:.1f}s", flush=True)
    return cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--all", action="store_true", help="run every case")
    p.add_argument("--case", action="append", default=[], help="run this case (repeatable)")
    p.add_argument(
        "--topology",
        action="append",
        default=[],
        help="run every case of this topology (repeatable)",
    )
    p.add_argument("--list", action="store_true", help="list case names and exit")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip cases whose COMPUTE_REPORT.csv already exists",
    )
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    p.add_argument("--_child", help=argparse.SUPPRESS)
    p.add_argument("--_gemm", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._child:
        _run_child(args._child, args._gemm)
        return 0

    if args.list:
        for name, c in ALL_KNOWN_CASES.items():
            slow = "\t(slow, opt-in)" if name in SLOW_CASES else ""
            print(f"{name}\t{c['topology']}\t{c['rows']}x{c['cols']}\t{c['dataflow']}{slow}")
        return 0

    try:
        version = _scalesim_version()
    except Exception:  # pragma: no cover - only when run outside the venv
        sys.exit("scalesim is not installed in this interpreter; see the module docstring")
    if version != SCALESIM_VERSION_EXPECTED:
        print(f"warning: scalesim {version} != {SCALESIM_VERSION_EXPECTED}", file=sys.stderr)

    names: list[str] = []
    if args.all:
        names = list(CASES)
    for t in args.topology:
        if t not in TOPOLOGIES:
            sys.exit(f"unknown topology {t!r}")
        names += [n for n, c in CASES.items() if c["topology"] == t]
    for n in args.case:
        if n not in ALL_KNOWN_CASES:
            sys.exit(f"unknown case {n!r} (see --list)")
        names.append(n)
    names = list(dict.fromkeys(names))
    if not names:
        p.error("nothing to do: pass --all, --case or --topology")

    total_cpu = 0.0
    for name in names:
        if args.skip_existing and (args.out_dir / name / "COMPUTE_REPORT.csv").is_file():
            continue
        total_cpu += run_case(name, args.out_dir)
    print(f"total scalesim cpu: {total_cpu:.1f}s over {len(names)} case(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
