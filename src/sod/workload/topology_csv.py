"""Read and write SCALE-Sim v3 topology CSV files.

Two formats, as ``scalesim==3.0.0`` parses them (``topology_utils.py``):

* **conv**: header row, then ``name, ifmap_h, ifmap_w, filter_h, filter_w, channels,
  num_filter, stride[, N:M],`` per layer. There is no padding column: the ifmap sizes are
  the *padded* sizes. A layer whose name contains ``DP`` is depthwise: SCALE-Sim runs it
  as ``channels`` separate one-channel convolutions with ``num_filter`` filters each.
* **gemm**: header row (``Layer, M, N, K,``), then ``name, M, N, K[, N:M],``. SCALE-Sim
  maps it to a conv with ifmap ``M × K``, filter ``1 × K``, 1 channel and ``N`` filters, i.e.
  A is M × K and W is K × N — the ``sod`` convention directly.

Quirks handled: SCALE-Sim drops the last comma-separated field of every row, so its own
files end each row with a trailing comma; this reader accepts rows with or without it
(and the writer always writes it). The optional ``N:M`` column is SCALE-Sim's weight
sparsity ratio; it is read into ``Gemm.weight_density = N / M``.

Output size: SCALE-Sim computes ``ofmap = ceil((ifmap - filter + stride) / stride)``, which
is one more than the true ``floor((ifmap - filter) / stride) + 1`` when the stride does not
divide ``ifmap - filter`` (the last window then runs past the input). By default the
reader uses the true size; ``scalesim_ofmap=True`` reproduces SCALE-Sim's, which is what
cycle-for-cycle comparisons need.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from sod.errors import WorkloadError
from sod.workload.gemm import Activation, ConvShape, Gemm, LayerKind, Workload
from sod.yamlio import read_text

TopologyFormat = Literal["conv", "gemm", "auto"]

CONV_HEADER = [
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
]
GEMM_HEADER = ["Layer", "M", "N", "K"]


def read_topology(
    path: str | Path, fmt: TopologyFormat = "auto", scalesim_ofmap: bool = False
) -> Workload:
    """Read a SCALE-Sim topology CSV into a :class:`Workload`."""
    path = Path(path)
    text = read_text(path, "topology file", WorkloadError)
    return parse_topology(
        text, name=path.stem, fmt=fmt, source=str(path), scalesim_ofmap=scalesim_ofmap
    )


def parse_topology(
    text: str,
    name: str = "topology",
    fmt: TopologyFormat = "auto",
    source: str = "topology",
    scalesim_ofmap: bool = False,
) -> Workload:
    """Parse the text of a SCALE-Sim topology CSV (see the module docstring)."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text))]
    except csv.Error as err:
        raise WorkloadError(f"{source}: not a CSV file ({err})") from None
    rows = [[c.strip() for c in r] for r in rows]
    # Drop blank lines and the trailing empty field left by SCALE-Sim's trailing comma.
    numbered = [(i + 1, r[:-1] if r and r[-1] == "" else r) for i, r in enumerate(rows)]
    numbered = [(i, r) for i, r in numbered if any(r)]
    if not numbered:
        raise WorkloadError(f"{source}: empty topology file")
    _, header = numbered[0]
    body = numbered[1:]
    if not body:
        raise WorkloadError(f"{source}: no layers after the header row")
    if fmt == "auto":
        fmt = _detect_format(header, body[0][1], source)
    gemms = []
    for line, row in body:
        where = f"{source}, line {line}"
        gemms.append(
            _parse_gemm_row(row, where)
            if fmt == "gemm"
            else _parse_conv_row(row, where, scalesim_ofmap)
        )
    names = [g.name for g in gemms]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise WorkloadError(f"{source}: layer name {dup!r} appears more than once")
    return Workload(name=name, gemms=tuple(gemms))


def _detect_format(header: list[str], first: list[str], source: str) -> Literal["conv", "gemm"]:
    keys = [h.strip().lower() for h in header]
    if keys[1:4] == ["m", "n", "k"]:
        return "gemm"
    if len(keys) > 1 and "ifmap" in keys[1]:
        return "conv"
    if len(first) in (4, 5):
        return "gemm"
    if len(first) in (8, 9):
        return "conv"
    raise WorkloadError(
        f"{source}: cannot tell conv from gemm topology (header {header!r}); "
        "conv rows have 8 fields (+ optional N:M), gemm rows 4 (+ optional N:M)"
    )


def _ints(row: list[str], count: int, where: str, fields: list[str]) -> list[int]:
    out = []
    for field, cell in zip(fields, row[1 : 1 + count], strict=True):
        try:
            value = int(cell)
        except ValueError:
            raise WorkloadError(f"{where}: {field} {cell!r} is not an integer") from None
        if value <= 0:
            raise WorkloadError(f"{where}: {field} must be positive, got {value}")
        out.append(value)
    return out


def _density(row: list[str], index: int, where: str) -> float:
    if len(row) <= index or row[index] == "":
        return 1.0
    parts = row[index].split(":")
    try:
        n, m = (int(p) for p in parts)
    except ValueError:
        raise WorkloadError(f"{where}: sparsity {row[index]!r} is not N:M") from None
    if m <= 0 or not 0 < n <= m:
        raise WorkloadError(f"{where}: sparsity {row[index]!r} needs 0 < N <= M")
    return n / m


def _check_name(name: str, where: str) -> None:
    if not name:
        raise WorkloadError(f"{where}: empty layer name")
    if not name.isprintable():
        raise WorkloadError(f"{where}: layer name {name[:40]!r} has control characters")


def _parse_gemm_row(row: list[str], where: str) -> Gemm:
    if len(row) not in (4, 5):
        raise WorkloadError(
            f"{where}: a gemm row needs name, M, N, K[, N:M]; got {len(row)} fields"
        )
    _check_name(row[0], where)
    m, n, k = _ints(row, 3, where, ["M", "N", "K"])
    return Gemm(
        name=row[0], m=m, k=k, n=n, kind=LayerKind.LINEAR, weight_density=_density(row, 4, where)
    )


def _parse_conv_row(row: list[str], where: str, scalesim_ofmap: bool) -> Gemm:
    if len(row) not in (8, 9):
        raise WorkloadError(
            f"{where}: a conv row needs name, ifmap_h, ifmap_w, filter_h, filter_w, channels, "
            f"num_filter, stride[, N:M]; got {len(row)} fields"
        )
    _check_name(row[0], where)
    ih, iw, fh, fw, ch, nf, stride = _ints(
        row,
        7,
        where,
        [
            "ifmap height",
            "ifmap width",
            "filter height",
            "filter width",
            "channels",
            "num filter",
            "stride",
        ],
    )
    if fh > ih or fw > iw:
        raise WorkloadError(f"{where}: filter {fh}x{fw} is larger than ifmap {ih}x{iw}")
    if scalesim_ofmap:
        oh, ow = -(-(ih - fh + stride) // stride), -(-(iw - fw + stride) // stride)
    else:
        oh, ow = (ih - fh) // stride + 1, (iw - fw) // stride + 1
    depthwise = "DP" in row[0]
    groups = ch if depthwise else 1
    shape = ConvShape(ih, iw, ch, nf * groups, fh, fw, stride, stride, groups=groups)
    return Gemm(
        name=row[0],
        m=oh * ow,
        k=(1 if depthwise else ch) * fh * fw,
        n=nf,
        repeat=groups,
        kind=LayerKind.CONV,
        input_activation=Activation.OTHER,
        conv=shape,
        weight_density=_density(row, 8, where),
    )


def write_topology(
    workload: Workload | Iterable[Gemm],
    path: str | Path | None = None,
    fmt: Literal["conv", "gemm"] = "gemm",
) -> str:
    """Write GEMMs as a SCALE-Sim topology CSV; returns the text (and writes ``path``).

    ``gemm`` format writes every GEMM exactly (a GEMM with ``repeat > 1`` becomes ``repeat``
    rows, ``name#i``). ``conv`` format needs each GEMM's :class:`ConvShape` (padding is
    folded into the ifmap size; grouped convolutions become one row per group, depthwise
    ones a ``DP`` row) and falls back to a ``1 × K`` filter over an ``M × K`` ifmap for
    GEMMs without one, which is how SCALE-Sim itself maps GEMMs.
    """
    gemms = list(workload)
    out = io.StringIO()
    header = GEMM_HEADER if fmt == "gemm" else CONV_HEADER
    out.write(", ".join(header) + ",\n")
    for g in gemms:
        sparsity = "" if g.weight_density >= 1.0 else f"{_nm(g.weight_density)},"
        names = [g.name] if g.repeat == 1 else [f"{g.name}#{i}" for i in range(g.repeat)]
        if fmt == "gemm":
            for name in names:
                out.write(f"{name}, {g.m}, {g.n}, {g.k},{sparsity}\n")
            continue
        c = g.conv
        if c is None or c.dilation_h != 1 or c.dilation_w != 1 or c.stride_h != c.stride_w:
            rows = [(name, g.m, g.k, 1, g.k, 1, g.n, 1) for name in names]
        elif c.groups > 1 and c.groups == c.in_channels and g.k == c.kernel_h * c.kernel_w:
            rows = [
                (
                    f"{g.name}_DP",
                    c.in_h + 2 * c.pad_h,
                    c.in_w + 2 * c.pad_w,
                    c.kernel_h,
                    c.kernel_w,
                    c.in_channels,
                    g.n,
                    c.stride_h,
                )
            ]
        else:
            rows = [
                (
                    name,
                    c.in_h + 2 * c.pad_h,
                    c.in_w + 2 * c.pad_w,
                    c.kernel_h,
                    c.kernel_w,
                    c.in_channels // c.groups,
                    g.n,
                    c.stride_h,
                )
                for name in names
            ]
        for r in rows:
            out.write(", ".join(str(v) for v in r) + f",{sparsity}\n")
    text = out.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text


def _nm(density: float, m: int = 100) -> str:
    return f"{round(density * m)}:{m}"
