"""`sod` alone, `--version`, and help text that says what it means."""

from __future__ import annotations

import sod
from sod.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sod_alone_prints_help_and_succeeds(capsys):
    code, out, err = run(capsys)
    assert code == 0 and "Usage: sod" in out and "compare" in out and err == ""


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"sod {sod.__version__}"


def test_help_text_is_not_mangled_by_markup(capsys):
    code, out, _ = run(capsys, "workload", "--help")
    assert code == 0
    assert "block:B:D" in " ".join(out.split())  # not an emoji
    assert "🅱" not in out


def test_timing_option(capsys):
    code, out, _ = run(
        capsys, "run", "--model", "lenet5", "--timing", "scalesim", "-d", "ws", "--format", "json"
    )
    assert code == 0
    import json

    layers = json.loads(out)["layers"]
    assert all(x["details"]["timing"] == "scalesim" for x in layers)
    code, _, err = run(capsys, "run", "--model", "lenet5", "--timing", "fast")
    assert code == 2 and "--timing must be tpu or scalesim" in err
    code, _, err = run(capsys, "run", "--model", "lenet5", "--arch", "scnn", "--timing", "tpu")
    assert code == 2 and "timing" in err and len(err.strip().splitlines()) == 1
