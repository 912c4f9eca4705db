"""Test-suite settings shared by every room.

Hypothesis runs derandomized (the same examples on every run and machine): the suite is
deterministic, and a failure found once is found again.

The on-disk mask cache (:mod:`sod.sparsity.cache`) goes to a per-session temporary
directory, so the suite never writes to ``$HOME``.
"""

import pytest
from hypothesis import settings

settings.register_profile("sod", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("sod")


@pytest.fixture(scope="session")
def _sod_cache_root(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("sod-cache")


@pytest.fixture(autouse=True)
def _sod_cache_dir(_sod_cache_root, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes generated masks to the session's temporary cache."""
    monkeypatch.setenv("SOD_CACHE_DIR", str(_sod_cache_root))
