"""The column-combining PE (sod.rtl.cc_pe) against its golden model, cycle by cycle, and
the golden model against plain arithmetic."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sod.rtl import RtlError

pytest.importorskip("amaranth", reason="amaranth not installed (pip install 'sparse-on-dense[hw]')")


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(g=st.sampled_from([1, 2, 3, 8]), seed=st.integers(0, 99))
def test_cc_pe_matches_golden(g, seed):
    from sod.rtl.cc_pe import CcPE, CcPeModel
    from sod.rtl.sim import run_lockstep

    rng = np.random.default_rng(seed)
    model = CcPeModel(32, g)
    inputs = [
        {
            "a_in": [int(x) for x in rng.integers(-128, 128, g)],
            "w_in": int(rng.integers(-128, 128)),
            "idx_in": int(rng.integers(0, g)),
            "w_load": int(rng.random() < 0.3),
            "psum_in": int(rng.integers(-(2**31), 2**31)),
        }
        for _ in range(40)
    ]
    run_lockstep(
        CcPE(8, 8, 32, g),
        lambda **v: model.step(**v),
        inputs,
        ["a_out", "w_out", "idx_out", "psum_out"],
    )


def test_golden_model_selects_the_member_lane():
    from sod.rtl.cc_pe import CcPeModel

    pe = CcPeModel(32, 4)
    pe.step([0, 0, 0, 0], 7, 2, 1, 0)  # load w = 7 for member 2
    pe.step([1, 2, 3, 4], 0, 0, 0, 100)
    assert pe.step([0, 0, 0, 0], 0, 0, 0, 0)["psum_out"] == 100 + 3 * 7


def test_bad_combine_is_rejected():
    from sod.rtl.cc_pe import CcPE

    with pytest.raises(RtlError, match="combine"):
        CcPE(combine=0)
