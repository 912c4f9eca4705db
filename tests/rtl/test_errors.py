"""Bad parameters and missing tools give one-line RtlErrors (no Yosys needed)."""

import pytest

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")

from sod.errors import SodError
from sod.rtl import RtlError
from sod.rtl.table import DESIGNS, OTHER_DESIGNS, load_table, lookup_ge, make_design


@pytest.mark.parametrize(
    ("name", "params", "word"),
    [
        ("csr_match_pe", {"fifo_depth": 3}, "fifo_depth"),
        ("csr_match_pe", {"fifo_depth": 4, "comparators": 5}, "comparators"),
        ("bitmask_join_pe", {"chunk": 1}, "chunk"),
        ("decompressor", {"lanes": 12, "format": "bitmask"}, "lanes"),
        ("decompressor", {"lanes": 16, "format": "rle"}, "format"),
        ("dense_mac_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 8}, "acc_bits"),
        ("scnn_pe", {}, "unknown design"),
    ],
)
def test_bad_design_parameters(name, params, word):
    with pytest.raises(RtlError, match=word) as info:
        make_design(name, params)
    assert isinstance(info.value, SodError)
    assert "\n" not in str(info.value)


def test_unknown_library():
    from sod.rtl.synth import liberty_path

    with pytest.raises(RtlError, match="unknown library"):
        liberty_path("tsmc5")


def test_table_covers_every_design_and_lookup():
    table = load_table()

    def keys(rows):
        return {(r["name"], tuple(sorted(r["params"].items()))) for r in rows}

    assert keys(table["designs"]) == keys({"name": n, "params": p} for n, p in DESIGNS)
    assert keys(table["other_designs"]) == keys({"name": n, "params": p} for n, p in OTHER_DESIGNS)
    assert lookup_ge("stream_decompressor", lanes=16) > lookup_ge("decompressor", lanes=16)
    assert lookup_ge("bitmask_join_pe", chunk=32) > lookup_ge("bitmask_join_pe", chunk=16)
    with pytest.raises(RtlError, match="no synthesized design"):
        lookup_ge("bitmask_join_pe", chunk=7)


@pytest.mark.slow
def test_cli_unknown_library_exits_2(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sod.cli import main; main()",
            "hw",
            "synth",
            "--library",
            "nope",
            "--out",
            str(tmp_path / "t.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "unknown library" in proc.stderr or "not found" in proc.stderr
