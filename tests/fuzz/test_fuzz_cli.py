"""Fuzz: hundreds of bad inputs across every reader and CLI option.

Each case is an argv (``{d}`` is replaced by a scratch folder holding the case's files)
plus the files it needs. Every case must end as the error contract says (README, "Errors"):
exit code 2, exactly one ``error: ...`` line on stderr, no traceback, no ``please
report``, within a time limit. Most cases run in process (``run_sod``); a few run as
real subprocesses at the end.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import assert_one_line_error


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    files: dict[str, bytes | Callable[[], bytes]] = field(default_factory=dict)


CASES: list[Case] = []


def case(id: str, *argv: str, **files: bytes | Callable[[], bytes]) -> None:
    CASES.append(Case(id, argv, {k.replace("__", "."): v for k, v in files.items()}))


# --- numbers on the command line -------------------------------------------------------

BAD_INTS = ["0", "-1", "-99999999999", "1e3", "nan", "inf", "x", "", "1.5", "10" * 20, "0x10"]
BAD_FLOATS = ["0", "-1", "nan", "NaN", "inf", "-inf", "1e309", "1e300", "-0", "x", "", "1e-320"]
BAD_ARRAYS = [
    "0x4",
    "4x0",
    "-1x4",
    "x",
    "",
    "4x",
    "x4",
    "4x4x4",
    "axb",
    "1.5x2",
    "nanxnan",
    "1e9x1e9",
    "99999999x99999999",
    "4 x 4 x",
    "100000x100000",
    "2147483648x1",
]

for v in BAD_INTS:
    case(f"run-batch-{v}", "run", "-m", "lenet5", "--batch", v)
    case(f"run-seqlen-{v}", "run", "-m", "bert-base", "--seq-len", v)
case("run-batch-huge", "run", "-m", "lenet5", "--batch", "1000000000000")
case("run-seqlen-huge", "run", "-m", "bert-base", "--seq-len", "1000000000000")
case("run-batch-huge-sparse", "run", "-m", "vgg16", "-s", "uniform:0.3", "--batch", "100000")
# Bounded work: masks that would need more than --max-memory-gb are refused before building.
# (activation patterns are drawn for --act-images images, repeated over the batch)
case(
    "run-memory-vgg-b2000",
    *("run", "-m", "vgg16", "-s", "uniform:0.3", "--batch", "2000", "--act-images", "2000"),
)
for v in BAD_INTS:
    case(f"run-act-images-{v}", "run", "-m", "lenet5", "--act-images", v)
    case(f"compare-act-images-{v}", "compare", "-m", "lenet5", "--act-images", v)
    case(f"workload-act-images-{v}", "workload", "-m", "lenet5", "--act-images", v)
case("run-memory-llama-seq", "run", "-m", "llama2-7b", "-s", "auto", "--seq-len", "1000000")
case("workload-memory-vgg-b64", "workload", "-m", "vgg16", "--batch", "64", "--max-memory-gb", "1")
case("compare-memory-small", "compare", "-m", "alexnet", "--max-memory-gb", "0.01")
case("compile-memory-vgg", "compile", "-m", "vgg16", "--out", "{d}/i", "--batch", "64")
case("paper-memory-small", "paper", "--out", "{d}/p", "--max-memory-gb", "0.5")
case("paper-memory-workload", "paper", "--out", "{d}/p", "-w", "alexnet", "--max-memory-gb", "0.01")
case(
    "sweep-memory-vgg-b256",
    "sweep",
    "{d}/s.yaml",
    "--max-memory-gb",
    "1",
    s__yaml=b"name: big\nworkloads: [{model: vgg16, batch: 256}]\nsparsity: [han2015]\n"
    b"architectures: [dense]\n",
)
for v in ["0", "-1", "nan", "inf", "1e309", "x", ""]:
    case(f"run-maxmem-{v}", "run", "-m", "lenet5", "-s", "auto", "--max-memory-gb", v)
    case(f"workload-maxmem-{v}", "workload", "-m", "lenet5", "--max-memory-gb", v)
    case(f"paper-maxmem-{v}", "paper", "--out", "{d}/p", "--max-memory-gb", v)
case("run-seqlen-huge-llama", "run", "-m", "llama2-7b", "-s", "auto", "--seq-len", "4000000")
for v in BAD_FLOATS:
    case(f"run-budget-{v}", "run", "-m", "lenet5", "--arch", "sparse-on-dense", "--budget-mm2", v)
    case(f"run-freq-{v}", "run", "-m", "lenet5", "--frequency-mhz", v)
    case(f"compare-budget-{v}", "compare", "-m", "lenet5", "--budget-mm2", v)
case("run-budget-huge", "run", "-m", "lenet5", "--budget-mm2", "1e12")
case("run-freq-huge", "run", "-m", "lenet5", "--frequency-mhz", "1e30")
case("compare-budget-huge", "compare", "-m", "lenet5", "--budget-mm2", "1e15")
for v in BAD_ARRAYS:
    case(f"run-array-{v}", "run", "-m", "lenet5", "--array", v)
    case(f"compile-array-{v}", "compile", "-m", "lenet5", "--array", v, "--out", "{d}/img")
    case(f"workload-tile-{v}", "workload", "-m", "lenet5", "--tile", v)
for v in ["0", "-1", "3", "1000000", "x", "nan", "1e3"]:
    case(f"run-node-{v}", "run", "-m", "lenet5", "--node", v)
    case(f"compare-node-{v}", "compare", "-m", "lenet5", "--node", v)
    case(f"tech-node-{v}", "tech", "show", v)
for v in ["-1", "x", "1e3", "99999999999999999999999999"]:
    case(f"run-seed-{v}", "run", "-m", "lenet5", "-s", "uniform:0.5", "--seed", v)
    case(f"workload-seed-{v}", "workload", "-m", "lenet5", "--seed", v)
for v in ["0", "-8", "7", "12", "x", "1000000000000"]:
    case(f"compile-readwidth-{v}", "compile", "-m", "lenet5", "--read-width", v, "--out", "{d}/i")
for v in ["0", "-1", "65", "1000000000", "x"]:
    case(f"compile-valuebits-{v}", "compile", "-m", "lenet5", "--value-bits", v, "--out", "{d}/i")
    case(f"compile-runbits-{v}", "compile", "-m", "lenet5", "--run-bits", v, "--out", "{d}/i")
for v in ["-1", "2", "1000000000", "x"]:
    case(f"compile-group-{v}", "compile", "-m", "lenet5", "--group", v, "--out", "{d}/i")

# --- unknown names --------------------------------------------------------------------

for args in [
    ("frobnicate",),
    ("run", "-m", "resnet51"),
    ("run", "-m", ""),
    ("run", "-m", "lenet5", "--arch", "tpu"),
    ("run", "-m", "lenet5", "--arch", ""),
    ("run", "-m", "lenet5", "--dataflow", "xs"),
    ("run", "-m", "lenet5", "--format", "xml"),
    ("run", "-m", "lenet5", "--topology-format", "onnx"),
    ("run", "-m", "lenet5", "--no-such-option"),
    ("run", "-m", "lenet5", "-m", "vgg16", "--topology", "x.csv"),
    ("run", "--onnx", "a.onnx", "--torch", "m:f"),
    ("run", "-m", "lenet5", "--onnx", "a.onnx"),
    ("run",),
    ("run", "-m"),
    ("run", "-m", "lenet5", "--arch", "sparse-on-dense", "--dataflow", "ws", "--array", "2x"),
    ("run", "-m", "lenet5", "--arch", "scnn", "--array", "4x4"),
    ("compare", "-m", "nope"),
    ("compare", "-m", "lenet5", "--archs", ""),
    ("compare", "-m", "lenet5", "--archs", ",,,"),
    ("compare", "-m", "lenet5", "--archs", "nope"),
    ("compare", "-m", "lenet5", "--archs", "dense,nope"),
    ("compare",),
    ("workload",),
    ("workload", "-m", "nope"),
    ("workload", "-m", "lenet5", "--onnx", "x.onnx"),
    ("compile", "--out", "{d}/i"),
    ("compile", "-m", "nope", "--out", "{d}/i"),
    ("compile", "-m", "lenet5", "--layer", "nope", "--out", "{d}/i"),
    ("compile", "-m", "lenet5", "--format", "zip", "--out", "{d}/i"),
    ("compile", "-m", "lenet5", "--dataflow", "xs", "--out", "{d}/i"),
    ("compile", "-m", "lenet5", "--weights", "{d}/w.npy", "--out", "{d}/i"),
    ("compile", "-m", "lenet5"),
    ("compile", "-m", "bert-base", "--layer", "l0.qk", "--out", "{d}/i"),
    ("tech", "show", "nope"),
    ("tech", "show", "45", "extra"),
    ("tech", "nope"),
    ("hw", "nope"),
    ("hw", "synth", "--library", "nope", "--bogus"),
    ("sweep",),
    ("sweep", "{d}/missing.yaml"),
    ("results", "{d}/missing.yaml"),
    ("paper", "--budget-mm2", "nan", "--out", "{d}/p"),
    ("paper", "--budget-mm2", "-1", "--out", "{d}/p"),
    ("paper", "--budget-mm2", "inf", "--out", "{d}/p"),
    ("models", "extra"),
    ("archs", "--bogus"),
]:
    case("unknown-" + "-".join(a.replace("{d}/", "") for a in args)[:80], *args)

# --- sparsity specs -------------------------------------------------------------------

BAD_SPARSITY = [
    "nm:1:1000000000",
    "nm:0:4",
    "nm:5:4",
    "nm:a:b",
    "nm:1",
    "nm:1:0",
    "nm:-1:4",
    "nm:2:4:8",
    "uniform",
    "uniform:0",
    "uniform:-0.5",
    "uniform:1.5",
    "uniform:nan",
    "uniform:inf",
    "uniform:1e309",
    "uniform:x",
    "uniform:%",
    "uniform:200%",
    "uniform:0.5,act=nan",
    "uniform:0.5,act=2",
    "uniform:0.5,act=-1",
    "uniform:0.5,weights=zzz",
    "uniform:0.5,zzz=1",
    "uniform:0.5,",
    "uniform:0.5,act",
    "global:nan",
    "global:0",
    "rowbal:0",
    "rowbal:inf",
    "block:0:0.5",
    "block:1000000000:0.5",
    "block:-4:0.5",
    "block:4:nan",
    "block:4",
    "bert:nan",
    "llama:3:2",
    "llama:1:1000000000",
    "han2015:0.5",
    "zzz",
    "",
    ",",
    ":",
    "::::",
    "nm:" + "9" * 400 + ":4",
    "uniform:0." + "0" * 400 + "1",
]
for v in BAD_SPARSITY:
    case(f"run-sparsity-{v[:40]}", "run", "-m", "lenet5", "-s", v)
    case(f"workload-sparsity-{v[:40]}", "workload", "-m", "lenet5", "-s", v)
case("run-han2015-on-bert", "run", "-m", "bert-base", "-s", "han2015")
case("workload-han2015-on-gpt2", "workload", "-m", "gpt2", "-s", "han2015")
case("compare-sparsity-nm-huge", "compare", "-m", "lenet5", "-s", "nm:1:1000000000")
case("compile-sparsity-bad", "compile", "-m", "lenet5", "--sparsity", "nm:9:4", "--out", "{d}/i")

# --- topology CSV ---------------------------------------------------------------------

GEMM_HEAD = b"Layer, M, N, K,\n"
CONV_HEAD = b"Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
BAD_TOPOLOGIES: dict[str, bytes] = {
    "empty": b"",
    "blank-lines": b"\n\n\n",
    "header-only": GEMM_HEAD,
    "binary": bytes(range(256)) * 4,
    "latin1": GEMM_HEAD + "fc\xe9, 1, 2, 3,\n".encode("latin-1"),
    "utf16": "Layer, M, N, K,\nfc, 1, 2, 3,\n".encode("utf-16"),
    "nul-bytes": GEMM_HEAD + b"fc\x00, 1, 2, 3,\n",
    "zero-dim": GEMM_HEAD + b"fc, 0, 2, 3,\n",
    "neg-dim": GEMM_HEAD + b"fc, -5, 2, 3,\n",
    "float-dim": GEMM_HEAD + b"fc, 1.5, 2, 3,\n",
    "sci-dim": GEMM_HEAD + b"fc, 1e26, 2, 3,\n",
    "nan-dim": GEMM_HEAD + b"fc, nan, 2, 3,\n",
    "inf-dim": GEMM_HEAD + b"fc, inf, 2, 3,\n",
    "huge-dim": GEMM_HEAD + b"fc, 100000000000000000000000000, 2, 3,\n",
    "huge-product": GEMM_HEAD + b"fc, 2000000000, 2000000000, 2000000000,\n",
    "huge-digits": GEMM_HEAD + b"fc, " + b"9" * 5000 + b", 2, 3,\n",
    "too-few": GEMM_HEAD + b"fc, 1, 2,\n",
    "too-many": GEMM_HEAD + b"fc, 1, 2, 3, 4, 5, 6,\n",
    "no-name": GEMM_HEAD + b", 1, 2, 3,\n",
    "dup-names": GEMM_HEAD + b"fc, 1, 2, 3,\nfc, 1, 2, 3,\n",
    "bad-nm": GEMM_HEAD + b"fc, 1, 2, 3, 5:4,\n",
    "bad-nm-text": GEMM_HEAD + b"fc, 1, 2, 3, a:b,\n",
    "bad-nm-zero": GEMM_HEAD + b"fc, 1, 2, 3, 0:0,\n",
    "conv-filter-too-big": CONV_HEAD + b"c1, 3, 3, 5, 5, 1, 1, 1,\n",
    "conv-stride-zero": CONV_HEAD + b"c1, 8, 8, 3, 3, 1, 1, 0,\n",
    "conv-huge": CONV_HEAD + b"c1, 1000000000, 1000000000, 1, 1, 1000000000, 1000000000, 1,\n",
    "conv-huge-dp": CONV_HEAD + b"c1_DP, 100000, 100000, 1, 1, 1000000000, 1000000, 1,\n",
    "conv-few": CONV_HEAD + b"c1, 8, 8, 3, 3, 1,\n",
    "unknown-header": b"a, b\nc, d\n",
    "unclosed-quote": GEMM_HEAD + b'"fc, 1, 2, 3,\n',
    "huge-field": GEMM_HEAD + b"fc" * 200000 + b", 1, 2, 3,\n",
    "many-rows-bad-last": GEMM_HEAD + b"".join(b"fc%d, 1, 2, 3,\n" % i for i in range(500)) + b"x",
    "yaml-not-csv": b"workloads: [lenet5]\n",
    "json": b'{"layers": []}',
}
for name, body in BAD_TOPOLOGIES.items():
    case(f"run-topology-{name}", "run", "-t", "{d}/t.csv", t__csv=body)
case("compare-topology-huge", "compare", "-t", "{d}/t.csv", t__csv=BAD_TOPOLOGIES["huge-dim"])
case("compare-topology-bin", "compare", "-t", "{d}/t.csv", t__csv=BAD_TOPOLOGIES["binary"])
case("run-topology-gemm-forced-on-conv", "run", "-t", "{d}/t.csv", "--topology-format", "gemm",
     t__csv=CONV_HEAD + b"c1, 8, 8, 3, 3, 1, 1, 1,\n")  # fmt: skip
case("run-topology-missing", "run", "-t", "{d}/missing.csv")
case("run-topology-dir", "run", "-t", "{d}")
case("run-topology-devnull", "run", "-t", "/dev/null")
case("run-topology-devzero", "run", "-t", "/dev/zero")
case("compare-topology-devzero", "compare", "-t", "/dev/zero")

# --- YAML: architectures, technologies, sweep specs -----------------------------------

DEEP_LIST = b"a: " + b"[" * 100000 + b"]" * 100000 + b"\n"
DEEP_BLOCK = "".join(" " * i + f"k{i}:\n" for i in range(1500)).encode() + b" " * 1500 + b"1\n"
DEEP_MAP = b"a: " + b"{b: " * 50000 + b"1" + b"}" * 50000 + b"\n"
ALIAS_BOMB = b'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + b"".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n".encode()
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DENSE_YAML = b"kind: dense\narray_rows: 32\narray_cols: 32\n"
BAD_YAMLS: dict[str, bytes] = {
    "empty": b"",
    "null": b"null\n",
    "list": b"- 1\n- 2\n",
    "scalar": b"42\n",
    "syntax": b"kind: dense\n  array_rows: [\n",
    "tabs": b"kind:\tdense\n\tarray_rows: 4\n",
    "binary": bytes(range(256)),
    "latin1": "kind: dens\xe9\n".encode("latin-1"),
    "utf16": "kind: dense\n".encode("utf-16"),
    "deep-list": DEEP_LIST,
    "deep-map": DEEP_MAP,
    "deep-block": DEEP_BLOCK,
    "alias-bomb": ALIAS_BOMB,
    "python-tag": b"kind: !!python/object/apply:os.system ['true']\n",
    "unknown-tag": b"kind: !foo dense\n",
    "dup-keys": b"kind: dense\nkind: scnn\narray_rows: 1e26\n",
    "no-kind": b"array_rows: 4\n",
    "bad-kind": b"kind: tpu\n",
    "kind-list": b"kind: [dense]\n",
    "rows-1e26": DENSE_YAML.replace(b"32\narray_cols", b"1e26\narray_cols"),
    "rows-huge-int": DENSE_YAML.replace(b"32\narray_cols", b"100000000000000000000\narray_cols"),
    "rows-zero": DENSE_YAML.replace(b"32\narray_cols", b"0\narray_cols"),
    "rows-neg": DENSE_YAML.replace(b"32\narray_cols", b"-3\narray_cols"),
    "rows-nan": DENSE_YAML.replace(b"32\narray_cols", b".nan\narray_cols"),
    "rows-inf": DENSE_YAML.replace(b"32\narray_cols", b".inf\narray_cols"),
    "rows-str": DENSE_YAML.replace(b"32\narray_cols", b"many\narray_cols"),
    "rows-float": DENSE_YAML.replace(b"32\narray_cols", b"3.5\narray_cols"),
    "rows-bool": DENSE_YAML.replace(b"32\narray_cols", b"true\narray_cols"),
    "rows-list": DENSE_YAML.replace(b"32\narray_cols", b"[1, 2]\narray_cols"),
    "cols-huge": DENSE_YAML + b"array_cols: 1000000000\n",
    "freq-nan": DENSE_YAML + b"frequency_mhz: .nan\n",
    "freq-inf": DENSE_YAML + b"frequency_mhz: .inf\n",
    "freq-huge": DENSE_YAML + b"frequency_mhz: 1e300\n",
    "glb-nan": DENSE_YAML + b"glb_kib: .nan\n",
    "glb-inf": DENSE_YAML + b"glb_kib: .inf\n",
    "glb-huge": DENSE_YAML + b"glb_kib: 1e30\n",
    "glb-tiny": DENSE_YAML + b"glb_kib: 1e-300\n",
    "dram-nan": DENSE_YAML + b"dram_bandwidth_bytes_per_cycle: .nan\n",
    "dram-inf": DENSE_YAML + b"dram_bandwidth_bytes_per_cycle: .inf\n",
    "banks-huge": DENSE_YAML + b"glb_banks: 100000000000000\n",
    "width-huge": DENSE_YAML + b"glb_read_width_bits: 100000000000000\n",
    "value-bits-zero": DENSE_YAML + b"value_bits: 0\n",
    "node-zero": DENSE_YAML + b"node_nm: 0\n",
    "node-odd": DENSE_YAML + b"node_nm: 3\n",
    "dram-kind": DENSE_YAML + b"dram_kind: floppy\n",
    "extra-field": DENSE_YAML + b"turbo: true\n",
    "dataflow-bad": DENSE_YAML + b"dataflow: xs\n",
    "name-dict": DENSE_YAML + b"name: {a: 1}\n",
    "sod-nan": b"kind: sparse_on_dense\narray_rows: 8\narray_cols: 8\nfrequency_mhz: .nan\n",
    "scnn-huge": b"kind: scnn\npes: 1000000000000\n",
}
for name, body in BAD_YAMLS.items():
    case(f"run-arch-{name}", "run", "-m", "lenet5", "--arch", "{d}/a.yaml", a__yaml=body)
for name in ("deep-list", "binary", "latin1", "syntax", "rows-1e26", "freq-nan", "glb-inf"):
    case(f"compare-arch-{name}", "compare", "-m", "lenet5", "--archs", "{d}/a.yaml",
         a__yaml=BAD_YAMLS[name])  # fmt: skip
case("run-arch-missing", "run", "-m", "lenet5", "--arch", "{d}/missing.yaml")
case("run-arch-dir", "run", "-m", "lenet5", "--arch", "{d}/")
case("run-arch-devzero", "run", "-m", "lenet5", "--arch", "/dev/zero")

for name in ("empty", "list", "syntax", "binary", "latin1", "deep-list", "deep-map", "deep-block", "alias-bomb",
             "python-tag", "dup-keys"):  # fmt: skip
    case(f"tech-yaml-{name}", "tech", "show", "{d}/t.yaml", t__yaml=BAD_YAMLS[name])
case("tech-yaml-missing", "tech", "show", "{d}/missing.yaml")
case("tech-yaml-devzero", "tech", "show", "/dev/zero")

SPEC = b"workloads: [lenet5]\nsparsity: [dense]\narchitectures: [dense]\nbudgets_mm2: [2.0]\n"
BAD_SPECS: dict[str, bytes] = {
    "empty": b"",
    "list": b"- lenet5\n",
    "syntax": b"workloads: [lenet5\n",
    "binary": bytes(range(256)),
    "latin1": "workloads: [lenet\xe9]\n".encode("latin-1"),
    "deep-list": DEEP_LIST,
    "deep-map": DEEP_MAP,
    "deep-block": DEEP_BLOCK,
    "alias-bomb": ALIAS_BOMB,
    "python-tag": b"workloads: !!python/name:os.system\n",
    "no-workloads": SPEC.replace(b"workloads: [lenet5]\n", b""),
    "unknown-key": SPEC + b"turbo: true\n",
    "budget-nan": SPEC.replace(b"[2.0]", b"[.nan]"),
    "budget-inf": SPEC.replace(b"[2.0]", b"[.inf]"),
    "budget-neg": SPEC.replace(b"[2.0]", b"[-2]"),
    "budget-str": SPEC.replace(b"[2.0]", b"[big]"),
    "empty-list": SPEC.replace(b"[dense]\narch", b"[]\narch"),
    "workloads-int": SPEC.replace(b"[lenet5]", b"[42]"),
    "workloads-dict": SPEC.replace(b"[lenet5]", b"{a: 1}"),
}
for name, body in BAD_SPECS.items():
    case(f"sweep-spec-{name}", "sweep", "{d}/s.yaml", "--dry-run", s__yaml=body)
    case(f"results-spec-{name}", "results", "{d}/s.yaml", s__yaml=body)
case("sweep-spec-devzero", "sweep", "/dev/zero", "--dry-run")
case("sweep-spec-dir", "sweep", "{d}", "--dry-run")


# --- .npy weights for `sod compile` ---------------------------------------------------


def npy(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple[int, ...], payload: bytes = b"\0" * 100) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def _pickled() -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


BAD_NPYS: dict[str, bytes | Callable[[], bytes]] = {
    "empty-file": b"",
    "text": b"hello world\n",
    "magic-only": b"\x93NUMPY",
    "bad-version": b"\x93NUMPY\x09\x00" + b"\0" * 100,
    "lying-header": npy_header("|i1", (1000000, 1000000)),
    "lying-header-f8": npy_header("<f8", (1000000, 1000000)),
    "lying-header-3d": npy_header("|i1", (100000, 100000, 100000)),
    "negative-shape": npy_header("|i1", (-4, 4)),
    "garbage-header": b"\x93NUMPY\x01\x00\x10\x00{'descr': zzz}  \n",
    "truncated": npy(np.ones((40, 24), np.int8))[:-50],
    "zero-size": npy(np.zeros((0, 4), np.int8)),
    "zero-cols": npy(np.zeros((4, 0), np.int8)),
    "scalar": npy(np.array(3, np.int8)),
    "1d": npy(np.ones(16, np.int8)),
    "3d": npy(np.ones((2, 3, 4), np.int8)),
    "float-nan": npy(np.full((8, 8), np.nan)),
    "float-inf": npy(np.full((8, 8), np.inf)),
    "float-frac": npy(np.full((8, 8), 0.5)),
    "int-overflow": npy(np.full((8, 8), 1000, np.int64)),
    "complex": npy(np.ones((8, 8), np.complex128)),
    "strings": npy(np.array([["a", "b"], ["c", "d"]])),
    "bool": npy(np.ones((8, 8), bool)),
    "structured": npy(np.zeros((4, 4), dtype=[("a", "i1"), ("b", "f4")])),
    "datetime": npy(np.zeros((4, 4), dtype="datetime64[s]")),
    "object-pickle": _pickled,
    "npz": b"PK\x03\x04" + b"\0" * 60,
}
for name, body in BAD_NPYS.items():
    case(f"compile-npy-{name}", "compile", "--weights", "{d}/w.npy", "--out", "{d}/i", w__npy=body)
case("compile-npy-missing", "compile", "--weights", "{d}/missing.npy", "--out", "{d}/i")
case("compile-npy-dir", "compile", "--weights", "{d}", "--out", "{d}/i")
case("compile-npy-devzero", "compile", "--weights", "/dev/zero", "--out", "{d}/i")

# --- unwritable outputs ---------------------------------------------------------------

for out in ("{d}/no/such/dir/x.json", "{d}", "/proc/version", "/dev/full/x", "{d}/f.txt/x"):
    case(f"run-out-{out}", "run", "-m", "lenet5", "--out", out, f__txt=b"")
    case(f"compile-out-{out}", "compile", "-m", "lenet5", "--out", out, f__txt=b"")
case("results-csv-unwritable", "results", "{d}/s.yaml", "--csv", "{d}/no/dir/x.csv", s__yaml=SPEC)
case("paper-out-unwritable", "paper", "--out", "/proc/version/x")


def _materialize(c: Case, root: Path) -> list[str]:
    root.mkdir(exist_ok=True)
    for name, body in c.files.items():
        (root / name).write_bytes(body() if callable(body) else body)
    return [a.replace("{d}", str(root)) for a in c.argv]


def test_enough_cases():
    assert len(CASES) >= 300, len(CASES)
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_bad_input_gives_one_line_exit_2(c: Case, run_sod, tmp_path: Path):
    argv = _materialize(c, tmp_path / "case")
    assert_one_line_error(run_sod(*argv))


# --- a few real processes: the console script, stdin/stdout as a user has them ---------

SUBPROCESS_CASES = [
    ("run", "-m", "resnet51"),
    ("run", "-m", "lenet5", "--budget-mm2", "nan"),
    ("run", "-t", "/dev/zero"),
    ("compile", "--weights", "{d}/w.npy", "--out", "{d}/i"),
    ("run", "-m", "lenet5", "--arch", "{d}/a.yaml"),
]


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=["-".join(a[:3]) for a in SUBPROCESS_CASES])
def test_console_script_subprocess(argv: tuple[str, ...], tmp_path: Path):
    (tmp_path / "w.npy").write_bytes(npy_header("|i1", (1000000, 1000000)))
    (tmp_path / "a.yaml").write_bytes(DEEP_LIST)
    args = [a.replace("{d}", str(tmp_path)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "sod", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr


def test_internal_error_names_a_log_with_the_traceback(run_sod, monkeypatch, tmp_path: Path):
    """An unexpected exception (a bug) is one line, 'please report', exit 1, and a log."""
    import sod.cli.run as run_module

    def boom() -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(run_module, "models_command", boom)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    res = run_sod("models")
    assert res.code == 1, res.describe()
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and "please report" in lines[0] and "KeyError" in lines[0]
    log = Path(lines[0].rsplit(" ", 1)[-1])
    assert log.parent == tmp_path / "state" / "sod" and "Traceback" in log.read_text()
    assert "surprise" in log.read_text()


def _reject_constant(name: str) -> None:
    pytest.fail(f"{name} in JSON output")


def test_json_output_is_strict_json(run_sod):
    """JSON output never holds NaN or Infinity (which strict JSON readers reject)."""
    import json

    for argv in (
        ("run", "-m", "lenet5", "-f", "json"),
        ("workload", "-m", "bert-base", "--seq-len", "16", "--json"),
        ("compare", "-m", "lenet5", "-f", "json"),
    ):
        res = run_sod(*argv)
        assert res.code == 0, res.describe()
        json.loads(res.stdout, parse_constant=_reject_constant)


# --- ONNX bytes and GLB images --------------------------------------------------------


def _onnx_inconsistent() -> bytes:
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w = helper.make_tensor("W", TensorProto.FLOAT, [5, 5], b"\0" * 100, raw=True)
    w.dims[:] = [1000000, 1000000]  # the header lies: 10^12 floats in 100 bytes
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1000000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000000])],
        initializer=[w],
    )
    return helper.make_model(graph).SerializeToString()


ONNX_BYTES: dict[str, bytes | Callable[[], bytes]] = {
    "empty": b"",
    "garbage": b"\x08\x07this is not a protobuf\xff\xff",
    "zeros": b"\0" * 1000,
    "text": b"ir_version: 7\n",
    "inconsistent-initializer": _onnx_inconsistent,
    "truncated": lambda: _onnx_inconsistent()[:40],
}
for name, body in ONNX_BYTES.items():
    case(f"run-onnx-{name}", "run", "--onnx", "{d}/m.onnx", m__onnx=body)
    case(f"workload-onnx-{name}", "workload", "--onnx", "{d}/m.onnx", m__onnx=body)


@pytest.mark.parametrize(
    ("bin_bytes", "manifest"),
    [
        (b"", b""),
        (b"", b"{}"),
        (b"\0" * 8, b"[]"),
        (b"\0" * 8, b"not json"),
        (b"\0" * 8, b'{"format_version": 1}'),
        (b"\xff" * 64, b'{"k": -1, "n": 1e300}'),
        (b"", "{\u00e9".encode("latin-1")),
    ],
)
def test_glb_image_reader_rejects_bad_files(bin_bytes: bytes, manifest: bytes, tmp_path: Path):
    from sod.compiler import read_image
    from sod.errors import SodError

    (tmp_path / "img.bin").write_bytes(bin_bytes)
    (tmp_path / "img.json").write_bytes(manifest)
    with pytest.raises(SodError) as err:
        read_image(tmp_path / "img")
    assert "\n" not in str(err.value)
