"""The design list and the committed GE table (``sod/tech/data/synth_ge.yaml``).

:data:`DESIGNS` names every (design, parameters) pair the area model uses. :func:`build_table`
synthesizes each unique module once (the array is its PE × R·C, see :mod:`sod.rtl.array`)
and returns the table with provenance; ``sod hw synth`` writes it. :func:`load_table` reads
the committed file without Amaranth or Yosys.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sod.rtl import RtlError
from sod.yamlio import SafeLoader  # libyaml's loader when present

TABLE_PATH = Path(str(resources.files("sod.tech") / "data" / "synth_ge.yaml"))


def _im(window: int, fifo_depth: int, idx_bits: int) -> dict[str, Any]:
    return {
        "window": window,
        "fifo_depth": fifo_depth,
        "idx_bits": idx_bits,
        "value_bits": 8,
        "acc_bits": 32,
    }


def _scnn_core(value_bits: int, acc_bits: int) -> dict[str, Any]:
    return {
        "f": 4,
        "i": 4,
        "value_bits": value_bits,
        "acc_bits": acc_bits,
        "acc_banks": 32,
        "acc_entries": 32,
    }


#: SCNN output-channel group per PE (Kc = 8, SCNNArch.out_channel_group): 3 bits of the
#: accumulator address come from the weight's output channel.
SCNN_K_BITS = 3

#: (name, params) of every design in the committed table.
DESIGNS: list[tuple[str, dict[str, Any]]] = [
    ("dense_mac_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("csr_match_pe", {"fifo_depth": 4, "comparators": 1}),
    ("csr_match_pe", {"fifo_depth": 8, "comparators": 1}),
    ("csr_match_pe", {"fifo_depth": 8, "comparators": 2}),
    ("bitmask_join_pe", {"chunk": 16}),
    ("bitmask_join_pe", {"chunk": 32}),
    ("bitmask_join_pe", {"chunk": 64}),
    ("decompressor", {"lanes": 8, "format": "bitmask", "realign": True}),
    ("decompressor", {"lanes": 16, "format": "bitmask", "realign": True}),
    ("decompressor", {"lanes": 32, "format": "bitmask", "realign": True}),
    ("decompressor", {"lanes": 8, "format": "bitmask", "realign": False}),
    ("decompressor", {"lanes": 16, "format": "bitmask", "realign": False}),
    ("decompressor", {"lanes": 32, "format": "bitmask", "realign": False}),
    # IndexMatchArch's windowed PE (sod.rtl.index_match_pe): the preset (window 4, FIFO 8,
    # 8-bit indices), 16-bit indices (fibers up to 65,536 long), and FIFO 16 for both.
    ("index_match_pe", _im(4, 8, 8)),
    ("index_match_pe", _im(4, 8, 16)),
    ("index_match_pe", _im(4, 16, 8)),
    ("index_match_pe", _im(4, 16, 16)),
    # SCNN's PE (sod.rtl.scnn_pe) = core + acc_banks x double-buffered bank: F = I = 4,
    # 32 banks of 32 entries; int8 values with 24- and 32-bit accumulators (the preset's
    # value/acc widths are 8/32), and the paper's 16-bit values with 24-bit accumulators.
    ("scnn_core", _scnn_core(8, 24)),
    ("scnn_core", _scnn_core(8, 32)),
    ("scnn_core", _scnn_core(16, 24)),
    ("scnn_acc_bank", {"acc_entries": 32, "acc_bits": 24}),
    ("scnn_acc_bank", {"acc_entries": 32, "acc_bits": 32}),
    # VUSA's windows (sod.rtl.vusa_pe), V virtual PEs served by M MACs, int8 / int32:
    # along k (the preset) and along n; V, M = (5, 3) (the preset), (4, 2) and (8, 4).
    ("vusa_kwindow", {"slots": 5, "macs": 3, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("vusa_kwindow", {"slots": 4, "macs": 2, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("vusa_kwindow", {"slots": 8, "macs": 4, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("vusa_nwindow", {"slots": 5, "macs": 3, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("vusa_nwindow", {"slots": 4, "macs": 2, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    ("vusa_nwindow", {"slots": 8, "macs": 4, "a_bits": 8, "w_bits": 8, "acc_bits": 32}),
    # The N:M array's PE (sod.rtl.nm_pe): one multiplier, M activations forwarded,
    # log2(M)-bit index, M-to-1 activation mux; 2:4 / 1:4 (M = 4) and 2:8 / 4:8 (M = 8).
    ("nm_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 32, "m_group": 4}),
    ("nm_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 32, "m_group": 8}),
    # The column-combining PE (sod.rtl.cc_pe): int8 MAC + g-lane activation pipeline,
    # member index and g-to-1 mux, for g = 1, 2, 4, 8 (the preset) and 16.
    *(
        ("cc_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 32, "combine": g})
        for g in (1, 2, 4, 8, 16)
    ),
]

#: Synthesized too, but written under ``other_designs``: the area model (sod.cost) has no
#: composition for them yet, and it checks every ``designs`` entry against one.
OTHER_DESIGNS: list[tuple[str, dict[str, Any]]] = [
    # The bit-serial bitmap unit of sod.reference.decompressor: GLB word = lanes × 8 bits,
    # smallest buffer (one word + one full vector).
    ("stream_decompressor", {"lanes": 8, "format": "bitmap", "word_bits": 64, "buffer_bits": 136}),
    (
        "stream_decompressor",
        {"lanes": 16, "format": "bitmap", "word_bits": 128, "buffer_bits": 272},
    ),
]


def make_design(name: str, params: dict[str, Any]):
    """Amaranth component of a table entry."""
    from sod.rtl.bitmask_pe import BitmaskJoinPE
    from sod.rtl.cc_pe import CcPE
    from sod.rtl.csr_pe import CsrMatchPE
    from sod.rtl.decompressor import BitmaskDecompressor
    from sod.rtl.index_match_pe import IndexMatchPE
    from sod.rtl.nm_pe import NMPE
    from sod.rtl.pe import DenseMacPE
    from sod.rtl.scnn_pe import ScnnAccBank, ScnnCore
    from sod.rtl.stream_decompressor import StreamBitmapDecompressor
    from sod.rtl.vusa_pe import VusaKWindow, VusaWindow

    builders: dict[str, Callable[..., Any]] = {
        "dense_mac_pe": DenseMacPE,
        "nm_pe": lambda a_bits, w_bits, acc_bits, m_group: NMPE(m_group, a_bits, w_bits, acc_bits),
        "cc_pe": CcPE,
        "csr_match_pe": CsrMatchPE,
        "bitmask_join_pe": BitmaskJoinPE,
        "decompressor": lambda lanes, format, realign=True: _decompressor(
            BitmaskDecompressor, lanes, format, realign
        ),
        "index_match_pe": lambda window, fifo_depth, idx_bits, value_bits=8, acc_bits=32: (
            IndexMatchPE(window, fifo_depth, idx_bits, value_bits, acc_bits)
        ),
        "scnn_core": lambda f, i, value_bits, acc_bits, acc_banks, acc_entries: ScnnCore(
            f, i, value_bits, acc_bits, acc_banks, acc_entries, SCNN_K_BITS
        ),
        "scnn_acc_bank": lambda acc_entries, acc_bits: ScnnAccBank(acc_entries, acc_bits),
        "vusa_kwindow": VusaKWindow,
        "vusa_nwindow": VusaWindow,
        "stream_decompressor": lambda lanes, format, word_bits, buffer_bits=None: (
            _stream_decompressor(StreamBitmapDecompressor, lanes, format, word_bits, buffer_bits)
        ),
    }
    if name not in builders:
        raise RtlError(f"unknown design {name!r}: choose one of {', '.join(builders)}")
    return builders[name](**params)


def _decompressor(cls, lanes: int, fmt: str, realign: bool):
    if fmt != "bitmask":
        raise RtlError(f"decompressor format {fmt!r} has no RTL yet (only bitmask)")
    return cls(lanes=lanes, realign=realign)


def _stream_decompressor(cls, lanes: int, fmt: str, word_bits: int, buffer_bits):
    if fmt != "bitmap":
        raise RtlError(f"stream decompressor format {fmt!r} has no RTL yet (only bitmap)")
    return cls(lanes=lanes, word_bits=word_bits, buffer_bits=buffer_bits)


def build_table(library: str = "sky130", designs=None, progress=None) -> dict[str, Any]:
    """Synthesize every design and return the table (dict ready for YAML)."""
    from sod.rtl.synth import (
        LIBRARY_DESCRIPTION,
        amaranth_version,
        liberty_path,
        synthesize,
        yosys_version,
    )

    nand2 = None

    def run(design_list):
        nonlocal nand2
        rows = []
        for name, params in design_list:
            result = synthesize(make_design(name, params), name=name, library=library)
            nand2 = result.nand2_area_um2
            rows.append(
                {
                    "name": name,
                    "params": dict(params),
                    "ge": round(result.ge, 1),
                    "area_um2": round(result.area_um2, 2),
                    "ff_bits": result.ff_bits,
                    "cells": result.cell_count,
                }
            )
            if progress:
                progress(rows[-1])
        return rows

    rows = run(DESIGNS if designs is None else designs)
    others = run(OTHER_DESIGNS if designs is None else [])
    return {
        "provenance": {
            "flow": "Amaranth -> Verilog (Amaranth's bundled Yosys) -> yosys: synth -flatten "
            "-noalumacc; dfflibmap; abc -liberty; stat (unplaced cell area, no timing)",
            "yosys": yosys_version(),
            "amaranth": amaranth_version(),
            "library": f"{library}: {LIBRARY_DESCRIPTION[library]} ({liberty_path(library).name})",
            "date": _dt.date.today().isoformat(),
            "command": f"sod hw synth --library {library}",
        },
        "ge_area_um2": nand2,
        "designs": rows,
        "other_designs": others,
    }


def dump_table(table: dict[str, Any], path: Path) -> None:
    header = (
        "# Gate-equivalent (NAND2 = 1) areas of the RTL designs in sod.rtl, written by\n"
        "# `sod hw synth` (see docs/rtl.md). Do not edit by hand.\n"
    )
    body = yaml.safe_dump(
        {"provenance": table["provenance"], "ge_area_um2": table["ge_area_um2"]},
        sort_keys=False,
        default_flow_style=False,
        width=1000,
    )

    def rows(key: str) -> str:
        return f"{key}:\n" + "".join(
            "  - " + yaml.safe_dump(row, sort_keys=False, default_flow_style=True, width=1000)
            for row in table.get(key) or []
        )

    with open(path, "w") as fh:
        fh.write(header + body + rows("designs") + rows("other_designs"))


def load_table(path: Path | None = None) -> dict[str, Any]:
    """The committed GE table (no Amaranth or Yosys needed)."""
    with open(path or TABLE_PATH) as fh:
        return yaml.load(fh, Loader=SafeLoader)


def lookup_ge(name: str, table: dict[str, Any] | None = None, **params: Any) -> float:
    """GE of the table entry ``name`` whose params include ``params``."""
    table = table or load_table()
    for row in table["designs"] + (table.get("other_designs") or []):
        if row["name"] == name and all(row["params"].get(k) == v for k, v in params.items()):
            return float(row["ge"])
    raise RtlError(f"no synthesized design {name} with {params} in the GE table")
