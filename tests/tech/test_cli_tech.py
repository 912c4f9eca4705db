"""`sod tech show [NODE]`, run as a user would (subprocess)."""

import subprocess
import sys

import pytest
import yaml

from sod.tech.scaling import BASE_FILE

# Every test here starts `sod` in a subprocess.
pytestmark = pytest.mark.slow


def sod(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sod", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
    )


def test_show_prints_numbers_with_sources():
    out = sod("tech", "show", "16")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "technology 16nm" in text and "Stillmaker" in text
    assert "horowitz2014" in text and "ISSCC 2014" in text and "int8_mult" in text
    assert "lpddr4" in text and "CACTI 7 at 22 nm" in text
    assert "dense_mac_pe" in text and "bitmask_join_pe" in text and "synth:" in text


def test_show_bad_node_and_bad_file(tmp_path):
    out = sod("tech", "show", "12")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: unknown technology node 12nm (known: 45nm, 32nm, 28nm, 22nm, 16nm, 7nm)"
    )
    data = yaml.safe_load(BASE_FILE.read_text())
    data["energy_pj"]["int8_mult"]["value"] = -1
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    out = sod("tech", "show", str(path), "--no-pes")
    assert out.returncode == 2
    assert "energy_pj.int8_mult.value" in out.stderr and len(out.stderr.splitlines()) == 1
