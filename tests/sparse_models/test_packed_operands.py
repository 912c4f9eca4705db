"""The packed-operand path of SparTen and index matching (issue 13 item 6): a GEMM's
2-D BitMasks used as they are (no bool unpack) give the same Counts as the bool arrays,
in both orientations, and the memo hashes an immutable mask's bytes once."""

import numpy as np
import pytest

from sod.arch.sparse import IndexMatchArch, SparTenArch
from sod.designs.index_match import stored_bits as im_bits
from sod.designs.sparten import stored_bits as sp_bits
from sod.models import index_match, memo, sparten
from sod.models.accelerators import evaluate_accelerator, shared_bitmasks, transposed
from sod.models.fibers import frozen_packed
from sod.models.index_match import evaluate_index_match
from sod.models.operands import operand_masks
from sod.models.sparten import evaluate_sparten
from sod.workload.gemm import Gemm
from sod.workload.mask import BitMask


@pytest.mark.parametrize(("m", "k", "n"), [(40, 300, 70), (3, 129, 50), (70, 64, 9)])
@pytest.mark.parametrize("orientation", ["gemm", "transposed"])
@pytest.mark.parametrize(
    ("model", "bits", "arch"),
    [
        (evaluate_sparten, sp_bits, SparTenArch(clusters=4, units_per_cluster=8)),
        (evaluate_index_match, im_bits, IndexMatchArch(pe_rows=4, pe_cols=4)),
    ],
)
def test_packed_masks_equal_bool_ones(m, k, n, orientation, model, bits, arch):
    rng = np.random.default_rng(m * k + n)
    w = BitMask.from_bool(rng.random((k, n)) < 0.3)
    a = BitMask.from_bool(rng.random((m, k)) < 0.5)
    gemm = Gemm("g", m, k, n, 2, weight_mask=w, act_mask=a)
    compute = transposed(model) if orientation == "transposed" else model
    packed = shared_bitmasks(gemm)
    assert packed is not None
    got = evaluate_accelerator(gemm, arch, compute, bits, packed)
    sparten.pair_cycles.cache_clear()
    index_match.pair_steps.cache_clear()
    want = evaluate_accelerator(gemm, arch, compute, bits, operand_masks(gemm, tiled=True))
    assert got == want


def test_immutable_arrays_hashed_once(monkeypatch):
    mask = BitMask.from_bool(np.eye(9, dtype=bool))
    view = frozen_packed(mask)
    assert view is frozen_packed(mask) and not view.flags.writeable
    first = memo._digest(view)
    monkeypatch.setattr(memo, "_hash", lambda _: pytest.fail("hashed again"))
    assert memo._digest(view) == first
    with pytest.raises(ValueError):
        memo.mark_immutable(np.zeros(3))
