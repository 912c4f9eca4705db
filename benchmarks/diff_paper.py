"""Compare two ``sod paper --out`` folders number by number (exit 1 on any difference).

    python benchmarks/diff_paper.py OUT_A OUT_B

Every CSV (cell by cell, as text) and ``results.json`` (recursively; NaN equals NaN) must be
identical: a speed change to the study must not move any result.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any


def _walk(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'B' if k not in a else 'A'}")
            else:
                _walk(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _walk(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {a!r} vs {b!r}")


def main() -> int:
    a_dir, b_dir = Path(sys.argv[1]), Path(sys.argv[2])
    diffs: list[str] = []
    names = sorted({p.name for p in a_dir.glob("*.csv")} | {p.name for p in b_dir.glob("*.csv")})
    for name in names:
        pa, pb = a_dir / name, b_dir / name
        if not (pa.exists() and pb.exists()):
            diffs.append(f"{name}: missing in one folder")
            continue
        ra = list(csv.reader(pa.open()))
        rb = list(csv.reader(pb.open()))
        if ra != rb:
            bad = [i for i, (x, y) in enumerate(zip(ra, rb, strict=False)) if x != y]
            diffs.append(f"{name}: {len(ra)} vs {len(rb)} rows, first differing rows {bad[:5]}")
    ja = json.loads((a_dir / "results.json").read_text())
    jb = json.loads((b_dir / "results.json").read_text())
    _walk(ja, jb, "results", diffs)
    for d in diffs[:50]:
        print(d)
    print(f"{len(names)} CSV files and results.json: {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
