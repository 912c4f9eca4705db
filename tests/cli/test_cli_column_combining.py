"""`sod run` / `sod compare` with the column-combining preset (in process)."""

from __future__ import annotations

import json

from sod.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_json_reports_the_packing(capsys):
    code, out, _ = run(
        capsys,
        "run",
        "--model",
        "lenet300",
        "--arch",
        "column-combining",
        "-a",
        "16x16",
        "-s",
        "han2015",
        "--format",
        "json",
    )
    assert code == 0
    assert '"combine_ratio"' in out and '"packed_rows"' in out
    assert json.loads(out)  # one JSON document


def test_compare_and_sizing(capsys):
    code, out, _ = run(
        capsys,
        "compare",
        "-m",
        "lenet5",
        "-s",
        "han2015",
        "--archs",
        "sparse-on-dense,column-combining",
        "--budget-mm2",
        "3",
    )
    assert code == 0 and "column-combining" in out


def test_other_dataflow_is_a_one_line_error(capsys):
    code, _, err = run(capsys, "run", "--model", "lenet5", "--arch", "column-combining", "-d", "is")
    assert code == 2
    assert "dataflow" in err and len(err.strip().splitlines()) == 1
