"""Synthesis checks (need yosys + amaranth): area ratios against REFERENCES.md §4, the
decompressor share of a 16×16 array, hierarchical = flat, and the committed table."""

import shutil

import pytest

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")
if shutil.which("yosys") is None:
    pytest.skip("yosys not installed (apt-get install yosys)", allow_module_level=True)

from sod.rtl.synth import synthesize
from sod.rtl.table import load_table, make_design

# Each test runs Yosys synthesis: seconds to minutes per design.
pytestmark = pytest.mark.slow

# REFERENCES.md §4 (sky130, earlier measurement for this project): GE of the dense PE and
# the sparse PEs' area relative to it.
REF_DENSE_GE = 1325
REF_RATIOS = {
    ("csr_match_pe", (("fifo_depth", 4), ("comparators", 1))): 2.4,
    ("csr_match_pe", (("fifo_depth", 8), ("comparators", 1))): 3.5,
    ("bitmask_join_pe", (("chunk", 16),)): 3.9,
    ("bitmask_join_pe", (("chunk", 32),)): 6.6,
}
REF_DECOMP_GE = {8: 1107, 16: 2903}

_cache: dict = {}


def ge(name, **params):
    key = (name, tuple(sorted(params.items())))
    if key not in _cache:
        _cache[key] = synthesize(make_design(name, params), name=name)
    return _cache[key]


def test_dense_pe_ge_and_flops():
    r = ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32)
    assert r.ff_bits == 48
    assert abs(r.ge / REF_DENSE_GE - 1) < 0.25


@pytest.mark.parametrize(("key", "ratio"), list(REF_RATIOS.items()))
def test_sparse_pe_ratio_within_25_percent_of_references(key, ratio):
    dense = ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32).ge
    name, params = key
    got = ge(name, **dict(params)).ge / dense
    assert abs(got / ratio - 1) < 0.25, f"{name} {params}: {got:.2f}x vs {ratio}x"


@pytest.mark.parametrize("lanes", [8, 16])
def test_decompressor_brackets_reference(lanes):
    """§4's decompressor lies between our expansion core and our full unit with the
    straddle window (the earlier design's exact structure is unknown; docs/rtl.md)."""
    core = ge("decompressor", lanes=lanes, format="bitmask", realign=False).ge
    full = ge("decompressor", lanes=lanes, format="bitmask", realign=True).ge
    assert core < REF_DECOMP_GE[lanes] < full


def test_decompressors_share_of_16x16_array():
    array = 256 * ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32).ge
    full = ge("decompressor", lanes=16, format="bitmask", realign=True).ge
    core = ge("decompressor", lanes=16, format="bitmask", realign=False).ge
    assert 0.01 <= full / array <= 0.02  # one full unit (activation side)
    assert 0.01 <= 2 * core / array <= 0.02  # two expansion cores (both operands)


def test_hierarchical_array_area_equals_flat_synthesis():
    from sod.rtl.array import SystolicArray

    pe = ge("dense_mac_pe", a_bits=8, w_bits=8, acc_bits=32).ge
    flat = synthesize(SystolicArray(2, 2), name="array").ge
    assert abs(flat / (4 * pe) - 1) < 0.02


def test_committed_table_reproduced():
    """`sod hw synth` output (committed) equals a fresh synthesis of the same designs."""
    table = load_table()
    rows = {(r["name"], tuple(sorted(r["params"].items()))): r for r in table["designs"]}
    for name, params in [
        ("dense_mac_pe", {"a_bits": 8, "w_bits": 8, "acc_bits": 32}),
        ("csr_match_pe", {"fifo_depth": 4, "comparators": 1}),
    ]:
        row = rows[(name, tuple(sorted(params.items())))]
        fresh = ge(name, **params)
        assert row["ge"] == pytest.approx(fresh.ge, rel=0.005)
        assert row["ff_bits"] == fresh.ff_bits
    assert "yosys" in table["provenance"]["yosys"].lower()


def test_index_match_and_scnn_bank_reproduce_table_with_expected_flops():
    """The windowed index-match PE and one SCNN accumulator bank: committed GE reproduced,
    flip-flops exactly the designs' storage."""
    table = load_table()
    rows = {(r["name"], tuple(sorted(r["params"].items()))): r for r in table["designs"]}
    im = {"window": 4, "fifo_depth": 8, "idx_bits": 8, "value_bits": 8, "acc_bits": 32}
    bank = {"acc_entries": 32, "acc_bits": 24}
    for name, params in (("index_match_pe", im), ("scnn_acc_bank", bank)):
        fresh = ge(name, **params)
        row = rows[(name, tuple(sorted(params.items())))]
        assert row["ge"] == pytest.approx(fresh.ge, rel=0.005)
    # 2 FIFOs x 2 window slots x (4 entries x (8 idx + 8 val) + 4 valid + last), read
    # pointer and count per FIFO, the 32-bit accumulator, two done flags.
    assert ge("index_match_pe", **im).ff_bits == 2 * 2 * (4 * 16 + 4 + 1) + 2 * 3 + 32 + 2
    # Two buffers of 32 x 24 bits and the active-buffer bit.
    assert ge("scnn_acc_bank", **bank).ff_bits == 2 * 32 * 24 + 1
    # A wider index costs area (the comparators and FIFO bits).
    assert (
        rows[("index_match_pe", tuple(sorted({**im, "idx_bits": 16}.items())))]["ge"]
        > (rows[("index_match_pe", tuple(sorted(im.items())))]["ge"])
    )
