"""``sod compile`` writes a readable image; bad input exits 2 with one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from sod.cli import app
from sod.compiler import read_image


def test_compile_weights_file(tmp_path):
    rng = np.random.default_rng(0)
    w = np.where(rng.random((40, 24)) < 0.2, rng.integers(-100, 100, (40, 24)), 0)
    np.save(tmp_path / "w.npy", w.astype(np.int8))
    res = CliRunner().invoke(
        app,
        [
            "compile",
            "--weights",
            str(tmp_path / "w.npy"),
            "--array",
            "8x8",
            "--dataflow",
            "is",
            "--format",
            "bitmap",
            "--out",
            str(tmp_path / "img"),
        ],
    )
    assert res.exit_code == 0, res.output
    img = read_image(tmp_path / "img")
    assert img.manifest["dataflow"] == "is" and img.manifest["format"] == "bitmap"
    assert np.array_equal(img.decode_weights(), w.astype(np.int8))


def test_compile_zoo_layer(tmp_path):
    res = CliRunner().invoke(
        app, ["compile", "--model", "lenet5", "--layer", "conv2", "--out", str(tmp_path / "c2")]
    )
    assert res.exit_code == 0, res.output
    img = read_image(tmp_path / "c2")
    assert (img.manifest["k"], img.manifest["n"]) == (500, 50)


@pytest.mark.slow
def test_bad_input_exits_2(tmp_path):
    for args in (
        ["--model", "lenet5", "--layer", "nope"],
        ["--model", "lenet5", "--format", "zip"],
        ["--model", "lenet5", "--read-width", "12"],
    ):
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from sod.cli import main; main()",
                "compile",
                *args,
                "--out",
                str(tmp_path / "x"),
            ],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
