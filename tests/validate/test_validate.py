"""`sod validate`: the claims registry and the command (docs/validate.md)."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sod.cli import app
from sod.study import validate as v

ROW_KEYS = {"claim", "source", "published", "modelled", "rel_err", "tolerance", "status"}


def sod(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sod", *args], capture_output=True, text=True, timeout=300
    )


def test_registry_is_well_formed():
    ids = [c.id for c in v.CLAIMS]
    assert len(ids) == len(set(ids)) and len(ids) >= 8
    assert len({c.paper for c in v.CLAIMS}) >= 3
    for c in v.CLAIMS:
        assert c.source and c.setup and c.tolerance_reason, c.id
        assert c.tolerance >= 0 and c.published > 0, c.id
        assert c.expected_fail is None or len(c.expected_fail) > 20, c.id


def test_every_claim_holds_or_is_an_expected_failure():
    """In process (the inner loop): a model change that breaks a claim fails here."""
    results = v.run_claims()
    assert [r.claim.id for r in results] == [c.id for c in v.CLAIMS]
    failed = [(r.claim.id, r.modelled, r.rel_err) for r in results if r.failed]
    assert not failed


@pytest.mark.slow
def test_validate_json_runs_every_claim_and_passes():
    out = sod("validate", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["claim"] for r in rows] == [c.id for c in v.CLAIMS]
    for row in rows:
        assert ROW_KEYS <= row.keys()
        assert row["status"] in {"pass", "xfail", "xpass"}, row
        if row["status"] == "pass":
            assert abs(row["rel_err"]) <= row["tolerance"] + 1e-12
    by_id = {r["claim"]: r for r in rows}
    # SCALE-Sim: cycle-exact on every committed case.
    assert by_id["scalesim-cycles"]["rel_err"] == 0
    assert by_id["scalesim-cycles"]["modelled"] == by_id["scalesim-cycles"]["published"]


@pytest.mark.slow
def test_validate_table_and_only():
    out = sod("validate", "--only", "pe-ratio-csr-4,scnn-pe-area-16nm")
    assert out.returncode == 0, out.stderr
    assert "pe-ratio-csr-4" in out.stdout and "scnn-pe-area-16nm" in out.stdout
    assert "sparten-vs-dense" not in out.stdout


@pytest.mark.slow
def test_unknown_claim_is_one_line_exit_2():
    out = sod("validate", "--only", "pe-ratio-csr-4,no-such-claim")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no-such-claim" in lines[0] and "scalesim-cycles" in lines[0]


def _claim(cid: str, value: float, expected_fail: str | None = None) -> v.Claim:
    return v.Claim(
        id=cid,
        claim="x",
        source="test",
        paper="test",
        published=1.0,
        unit="x",
        setup="test",
        tolerance=0.1,
        tolerance_reason="test",
        model=lambda: v.Modelled(value),
        expected_fail=expected_fail,
    )


@pytest.mark.parametrize(
    ("value", "expected_fail", "status"),
    [
        (1.05, None, "pass"),
        (0.80, None, "FAIL"),
        (0.80, "known", "xfail"),
        (1.00, "known", "xpass"),
        (float("nan"), None, "FAIL"),
    ],
)
def test_status(value, expected_fail, status):
    result = v.run_claim(_claim("c", value, expected_fail))
    assert result.status == status
    assert result.failed == (status == "FAIL")


def test_exit_code_counts_only_unexpected_failures(monkeypatch):
    runner = CliRunner()
    monkeypatch.setattr(v, "CLAIMS", (_claim("ok", 1.0), _claim("known", 0.5, "reason")))
    res = runner.invoke(app, ["validate", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert [r["status"] for r in json.loads(res.output)] == ["pass", "xfail"]
    monkeypatch.setattr(v, "CLAIMS", (_claim("ok", 1.0), _claim("bad", 0.5)))
    res = runner.invoke(app, ["validate"])
    assert res.exit_code == 1
    assert "FAIL" in res.output


def test_a_value_that_cannot_be_computed_is_null_in_json():
    row = v.run_claim(_claim("c", float("nan"))).to_row()
    assert row["modelled"] is None and row["rel_err"] is None and row["status"] == "FAIL"
    json.dumps(row, allow_nan=False)
