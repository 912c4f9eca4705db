"""Test-suite settings shared by every room.

Hypothesis runs derandomized (the same examples on every run and machine): the suite is
deterministic, and a failure found once is found again.

The on-disk mask cache (:mod:`sod.sparsity.cache`) goes to a temporary directory made
when this file is imported (before collection, so module-level workloads and
module-scoped fixtures use it too), removed at the end of the session: the suite never
writes to ``$HOME``. Subprocesses inherit it through the environment.
"""

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("sod", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("sod")

_CACHE_DIR = tempfile.mkdtemp(prefix="sod-test-cache-")
os.environ["SOD_CACHE_DIR"] = _CACHE_DIR


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _sod_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes generated masks to the session's temporary cache (even if an
    earlier test changed the variable)."""
    monkeypatch.setenv("SOD_CACHE_DIR", _CACHE_DIR)
