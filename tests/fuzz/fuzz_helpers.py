"""In-process runner (fixture ``run_sod``, registered by conftest.py) of the ``sod`` command for the fuzz tests.

Hundreds of subprocesses would take minutes; :func:`run_sod` calls
:func:`sod.cli.main` with an argv in this process instead, capturing stdout and stderr
(pytest's ``capsys``) and the exit code (``SystemExit``), under a wall-clock alarm.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sod.cli import main

CASE_TIMEOUT_S = 20.0


class CaseTimeout(BaseException):
    """A case ran past its time limit (a hang)."""


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.code}\n--- stderr:\n{self.stderr}\n--- stdout:\n{self.stdout[-2000:]}"


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout(f"no answer within {CASE_TIMEOUT_S} s")


@pytest.fixture
def run_sod(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[..., Outcome]]:
    """``run_sod(*argv)`` -> :class:`Outcome` (crash logs go under ``tmp_path``)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "120")

    def run(*argv: str, timeout_s: float = CASE_TIMEOUT_S) -> Outcome:
        capsys.readouterr()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        code: int | None = 0
        try:
            main(list(argv))
        except SystemExit as err:
            code = err.code if isinstance(err.code, int) or err.code is None else 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        out = capsys.readouterr()
        return Outcome(code, out.out, out.err)

    yield run


def assert_one_line_error(res: Outcome) -> None:
    """The error contract for bad input: exit 2, one ``error:`` line, no traceback."""
    assert "Traceback" not in res.stderr + res.stdout, res.describe()
    assert "please report" not in res.stderr, res.describe()
    assert res.code == 2, res.describe()
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stderr.endswith("\n"), res.describe()
    assert lines[0].startswith("error: ") and len(lines[0]) > len("error: "), res.describe()
