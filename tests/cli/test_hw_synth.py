"""`sod hw synth` writes a user file by default; only `--install` replaces the package's
table (synthesis itself is stubbed here: tests/rtl runs the real flow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import sod
from sod.cli import app
from sod.rtl import table as synth_table

TABLE = {
    "provenance": {"flow": "stub"},
    "ge_area_um2": 1.0,
    "designs": [{"name": "dense_mac_pe", "params": {"a_bits": 8}, "ge": 1.0, "ff_bits": 1}],
}


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    """A fake synthesis and a fake installed table; returns the installed table's path."""
    installed = tmp_path / "pkg" / "synth_ge.yaml"
    installed.parent.mkdir()
    installed.write_text("original\n")
    monkeypatch.setattr(synth_table, "TABLE_PATH", installed)
    monkeypatch.setattr(synth_table, "build_table", lambda library, progress: TABLE)
    monkeypatch.setattr("sod.rtl.require_amaranth", lambda: None)
    return installed


def test_default_writes_to_the_working_directory(stubbed, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["hw", "synth"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((work / "synth_ge.yaml").read_text())["ge_area_um2"] == 1.0
    assert stubbed.read_text() == "original\n"  # the package's table is untouched


def test_out_writes_there(stubbed, tmp_path):
    out = tmp_path / "mine" / "t.yaml"
    result = CliRunner().invoke(app, ["hw", "synth", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and stubbed.read_text() == "original\n"


def test_install_replaces_the_package_table(stubbed):
    result = CliRunner().invoke(app, ["hw", "synth", "--install"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(stubbed.read_text())["designs"][0]["name"] == "dense_mac_pe"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--install", "--out", "x.yaml"], "--out PATH or --install, not both"),
        (["--out", "/proc/nope/t.yaml"], "cannot write /proc/nope/t.yaml"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(args, expected, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "sod", "hw", "synth", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # this checkout's sod, whatever the working directory
        env={**os.environ, "PYTHONPATH": str(Path(sod.__file__).resolve().parents[1])},
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert expected in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "x.yaml").exists()
