"""SCALE-Sim topology CSV reading and writing, with its quirks."""

import pytest

from sod.errors import WorkloadError
from sod.workload.topology_csv import parse_topology, read_topology, write_topology
from sod.workload.zoo import get_model

CONV = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1, 227, 227, 11, 11, 3, 96, 4,
Conv2, 31, 31, 5, 5, 48, 128, 1,
odd, 10, 10, 3, 3, 2, 4, 2,
"""

GEMM = """Layer, M, N, K,
fc1, 7, 13, 5,
fc2, 100, 3, 257, 2:4,
"""


def test_conv_format():
    w = parse_topology(CONV)
    c1, c2, odd = w.gemms
    assert (c1.m, c1.k, c1.n) == (55 * 55, 11 * 11 * 3, 96)
    assert (c2.m, c2.k, c2.n) == (27 * 27, 25 * 48, 128)
    assert odd.m == 4 * 4  # floor((10 - 3) / 2) + 1


def test_scalesim_ofmap_rounding():
    odd = parse_topology(CONV, scalesim_ofmap=True).gemms[2]
    assert odd.m == 5 * 5  # SCALE-Sim: ceil((10 - 3 + 2) / 2)


def test_gemm_format_and_sparsity_column():
    fc1, fc2 = parse_topology(GEMM).gemms
    assert (fc1.m, fc1.k, fc1.n) == (7, 5, 13)
    assert (fc2.m, fc2.k, fc2.n) == (100, 257, 3)
    assert fc1.weight_density == 1.0 and fc2.weight_density == 0.5


def test_rows_without_trailing_comma():
    text = "Layer, M, N, K\nfc1, 7, 13, 5\n"
    (g,) = parse_topology(text).gemms
    assert (g.m, g.k, g.n) == (7, 5, 13)


def test_depthwise_dp_rows():
    text = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\nConvDP1, 114, 114, 3, 3, 32, 1, 1,\n"
    )
    (g,) = parse_topology(text).gemms
    assert (g.m, g.k, g.n, g.repeat) == (112 * 112, 9, 1, 32)


@pytest.mark.parametrize("model", ["alexnet", "mobilenetv2", "bert-base"])
def test_roundtrip_gemm_format(model, tmp_path):
    w = get_model(model, seq_len=16)
    path = tmp_path / "t.csv"
    write_topology(w, path, fmt="gemm")
    back = read_topology(path)
    assert back.macs == w.macs
    assert sum(g.repeat for g in w) == len(back)


@pytest.mark.parametrize("model", ["alexnet", "vgg16", "resnet50", "mobilenetv2"])
def test_roundtrip_conv_format(model, tmp_path):
    w = get_model(model)
    path = tmp_path / "t.csv"
    write_topology(w, path, fmt="conv")
    assert read_topology(path).macs == w.macs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Layer, M, N, K,\n", "no layers"),
        ("Layer, M, N, K,\nfc, 1, 2,\n", "got 3 fields"),
        ("Layer, M, N, K,\nfc, 1, x, 3,\n", "N 'x' is not an integer"),
        ("Layer, M, N, K,\nfc, 1, 0, 3,\n", "N must be positive"),
        ("Layer, M, N, K,\nfc, 1, 2, 3, 5:4,\n", "0 < N <= M"),
        ("Layer, M, N, K,\nfc, 1, 2, 3,\nfc, 1, 2, 3,\n", "more than once"),
        (CONV.splitlines()[0] + "\nc, 5, 5, 7, 7, 1, 1, 1,\n", "larger than ifmap"),
        (CONV.splitlines()[0] + "\nc, 5, 5, 3, 3, 1, 1,\n", "conv row needs"),
        (CONV.splitlines()[0] + "\nc, 5, 5, 3\n", "line 2"),
    ],
)
def test_malformed(text, message):
    with pytest.raises(WorkloadError, match=message):
        parse_topology(text, source="t.csv")


def test_missing_file(tmp_path):
    with pytest.raises(WorkloadError, match="cannot read topology file"):
        read_topology(tmp_path / "nope.csv")
