"""Shared fixtures of the sweep tests: small specs on the models every build has."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

BASE_SPEC = {
    "workloads": ["lenet300", "lenet5"],
    "sparsity": ["uniform:0.3", "nm:2:4"],
    "architectures": ["dense", "sparse-on-dense"],
    "budgets_mm2": [2.0, 4.0],
    # Other engineers edit model files in this shared tree while tests run; under the
    # default 'code' policy that changes every key mid-test. The policy has its own tests.
    "version_policy": "release",
}


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a sweep spec (default: a 2 x 2 x 2 x 2 = 16-point LeNet grid) and return it."""

    def make(name: str = "spec", drop: tuple[str, ...] = (), **fields) -> Path:
        data = {k: v for k, v in BASE_SPEC.items() if k not in drop}
        data.update(fields)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return make
