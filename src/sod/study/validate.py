"""``sod validate``: each model checked against its own published results, on that paper's
setup (docs/validate.md).

A :class:`Claim` is one published number (with its source) and a function that builds that
paper's setup with sod's models — its network, its sparsity, its PE counts, its node — and
returns the modelled value. Every claim is computed by running sod's models (evaluation,
area composition, energy tables); none reads back the constant it is compared with.

A claim passes when ``|modelled − published| / published ≤ tolerance``; each tolerance
carries its reason. A claim known not to hold is marked ``expected_fail`` with the reason: it
is still run and reported (status ``xfail``, or ``xpass`` if it starts to hold), but only
plain failures make ``sod validate`` exit non-zero.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sod.errors import SodError
from sod.study.validate_models import (
    Modelled,
    _scalesim_published,
    bitmask_pe_ratio,
    bitmask_pe_ratio_64,
    csr_pe_ratio,
    horowitz_mac,
    horowitz_sram,
    s2ta_mac_share,
    scalesim_cycles,
    scnn_chip_area,
    scnn_energy,
    scnn_multiplier_share,
    scnn_pe_area,
    scnn_speedup,
    sod_decompressor_share,
    sparten_vs_dense,
    sparten_vs_scnn,
)
from sod.study.validate_models_cc import sparse_tpu_area
from sod.study.validate_models_nm import a100_sparse_footprint, a100_sparse_math_speedup
from sod.study.validate_models_vusa import vusa_area_saving, vusa_power_saving

# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str  # the published statement
    source: str  # paper, table / figure
    paper: str  # short name for tables
    published: float
    unit: str
    setup: str  # how sod models it (the paper's setup, and any reduction of it)
    tolerance: float  # relative
    tolerance_reason: str
    model: Callable[[], Modelled] = field(repr=False)
    expected_fail: str | None = None  # reason, when the claim is known not to hold


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    modelled: float
    rel_err: float
    status: str  # pass | FAIL | xfail | xpass
    detail: str
    seconds: float

    @property
    def failed(self) -> bool:
        """Out of tolerance and not expected to be."""
        return self.status == "FAIL"

    def to_row(self) -> dict[str, Any]:
        """One JSON-safe row (a value that could not be computed is null)."""
        c = self.claim

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "claim": c.id,
            "text": c.claim,
            "source": c.source,
            "paper": c.paper,
            "published": c.published,
            "modelled": num(self.modelled),
            "unit": c.unit,
            "rel_err": num(self.rel_err),
            "tolerance": c.tolerance,
            "tolerance_reason": c.tolerance_reason,
            "status": self.status,
            "expected_fail": c.expected_fail,
            "setup": c.setup,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


class UnknownClaimError(SodError):
    """An unknown claim id was asked for."""


def _status(within: bool, expected_fail: str | None) -> str:
    if expected_fail:
        return "xpass" if within else "xfail"
    return "pass" if within else "FAIL"


def run_claim(claim: Claim) -> ClaimResult:
    t0 = time.perf_counter()
    out = claim.model()
    seconds = time.perf_counter() - t0
    rel = out.rel_err
    if rel is None:
        rel = (out.value - claim.published) / claim.published if claim.published else math.nan
    within = math.isfinite(rel) and abs(rel) <= claim.tolerance + 1e-12
    return ClaimResult(
        claim, out.value, rel, _status(within, claim.expected_fail), out.detail, seconds
    )


def select_claims(only: Sequence[str] | None = None) -> list[Claim]:
    """The claims named in ``only`` (all when empty), in registry order."""
    if not only:
        return list(CLAIMS)
    known = {c.id: c for c in CLAIMS}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise UnknownClaimError(
            f"unknown claim id {', '.join(repr(u) for u in unknown)} (known: {', '.join(known)})"
        )
    wanted = set(only)
    return [c for c in CLAIMS if c.id in wanted]


def run_claims(only: Sequence[str] | None = None) -> list[ClaimResult]:
    return [run_claim(c) for c in select_claims(only)]


def results_json(results: Sequence[ClaimResult]) -> str:
    return json.dumps([r.to_row() for r in results], indent=2)


# --- the claims --------------------------------------------------------------------------

_CNN_SETUP = (
    "conv layers of AlexNet (Caffe, grouped) and VGG-16 at batch 1, Han et al. 2015 per-layer "
    "weight/activation densities with structured synthetic masks (seed 0); geometric mean "
    "over the two networks; ideal memory (compute cycles)"
)
_SYNTHETIC = (
    "the paper ran real pruned networks (and GoogLeNet, which sod does not have); we use "
    "Han's densities on synthetic masks and two of its networks: ±35 %"
)

CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="scnn-speedup",
        claim="SCNN is 2.7x faster than a comparably provisioned dense DCNN",
        source="Parashar et al., SCNN, ISCA 2017, abstract and §VI (average over networks)",
        paper="SCNN, ISCA 2017",
        published=2.7,
        unit="x",
        setup="SCNN 8x8 PEs of 4x4 multipliers (1,024) vs a 32x32 dense array (1,024 "
        "MACs, default timing), both 16-bit values / 24-bit accumulators at 16 nm; " + _CNN_SETUP,
        tolerance=0.35,
        tolerance_reason=_SYNTHETIC,
        model=scnn_speedup,
        # Was an expected failure (1.14x) while SCNN ran AlexNet conv1 (11x11, stride 4)
        # directly, computing every stride-skipped product (15 of 16 wasted): AlexNet
        # 0.36x. With the per-layer mapping search (polyphase strided convs, channel-split
        # FC layers; docs/paper-comparison.md, "mapping search") AlexNet gives 1.70x,
        # VGG-16 3.61x.
    ),
    Claim(
        id="scnn-energy",
        claim="SCNN uses 2.3x less energy than the dense DCNN",
        source="Parashar et al., SCNN, ISCA 2017, abstract and §VI",
        paper="SCNN, ISCA 2017",
        published=2.3,
        unit="x",
        setup="as scnn-speedup; on-chip energy (dynamic + leakage, DRAM left out: SCNN keeps "
        "activations on chip), sod's 16 nm tables",
        tolerance=0.35,
        tolerance_reason=_SYNTHETIC,
        model=scnn_energy,
        # Was an expected failure (0.85x) for the same reason as scnn-speedup; with the
        # mapping search and the one accumulator rule (SCNN no longer pays its adder
        # twice) AlexNet gives 1.49x, VGG-16 2.54x.
    ),
    Claim(
        id="scnn-pe-area-16nm",
        claim="one SCNN PE (4x4 multipliers, 32 accumulator banks, crossbar, IARAM/OARAM) "
        "is about 0.123 mm² at 16 nm",
        source="Parashar et al., SCNN, ISCA 2017, area table (REFERENCES.md §5, mark R)",
        paper="SCNN, ISCA 2017",
        published=0.123,
        unit="mm²",
        setup="sod's SCNN PE as its design prices it (synthesized core and accumulator "
        "banks where the synthesis table has them, else composed; 16 16-bit multipliers, "
        "32 24-bit banks, crossbar, composed weight FIFO, 2 x 10 KB CACTI SRAM) at 16 nm",
        tolerance=0.25,
        tolerance_reason="synthesized GE / composed parts moved to 16 nm by node scaling "
        "(SRAM scales less than logic); the published figure is re-quoted (R): ±25 %",
        model=scnn_pe_area,
    ),
    Claim(
        id="scnn-multiplier-share",
        claim="the 4x4 multiplier array is about 6.5 % of an SCNN PE's area",
        source="Parashar et al., SCNN, ISCA 2017, area table (REFERENCES.md §5, mark R)",
        paper="SCNN, ISCA 2017",
        published=0.065,
        unit="share",
        setup="in sod's component composition of SCNN's PE (16-bit values, 24-bit "
        "accumulators, 16 nm): the multipliers' placed area / the placed PE",
        tolerance=0.35,
        tolerance_reason="a share of a component composition, against a re-quoted (R) "
        "figure: ±35 %",
        model=scnn_multiplier_share,
        expected_fail="sod composes SCNN's 32 accumulator banks as flip-flops (2,048 "
        "entries x 24 bits, about four fifths of the PE's cells), where SCNN's are dense "
        "register-file/SRAM banks; the PE total agrees (scnn-pe-area-16nm), so it is "
        "the split between multipliers (~3.9 %) and banks that is off",
    ),
    Claim(
        id="scnn-chip-area-16nm",
        claim="the SCNN chip (64 PEs) is 7.9 mm² at 16 nm",
        source="Parashar et al., SCNN, ISCA 2017, area table (REFERENCES.md §5, mark R)",
        paper="SCNN, ISCA 2017",
        published=7.9,
        unit="mm²",
        setup="sod's SCNN preset (8x8 PEs, 16-bit values, 24-bit accumulators) at 16 nm, "
        "PE array only (SCNN has no shared GLB)",
        tolerance=0.25,
        tolerance_reason="as scnn-pe-area-16nm, plus SCNN's layer sequencer and DRAM "
        "interface, which sod does not model: ±25 %",
        model=scnn_chip_area,
    ),
    Claim(
        id="sparten-vs-dense",
        claim="SparTen is 4.7x faster than a dense accelerator",
        source="Gondimalla et al., SparTen, MICRO 2019, abstract (average)",
        paper="SparTen, MICRO 2019",
        published=4.7,
        unit="x",
        setup="SparTen 32 clusters x 32 compute units (1,024 MACs), chunk 128, GB-S vs a "
        "32x32 dense array (default timing), 45 nm; " + _CNN_SETUP,
        tolerance=0.35,
        tolerance_reason=_SYNTHETIC,
        model=sparten_vs_dense,
    ),
    Claim(
        id="sparten-vs-scnn",
        claim="SparTen is 3x faster than SCNN",
        source="Gondimalla et al., SparTen, MICRO 2019, abstract (average)",
        paper="SparTen, MICRO 2019",
        published=3.0,
        unit="x",
        setup="SparTen as sparten-vs-dense vs SCNN 8x8 PEs of 4x4 multipliers (1,024); "
        + _CNN_SETUP,
        tolerance=0.35,
        tolerance_reason=_SYNTHETIC,
        model=sparten_vs_scnn,
        expected_fail="the earlier pass (3.23x) came from SCNN running AlexNet conv1 "
        "directly (every stride-skipped product computed: AlexNet 8.27x); with the "
        "per-layer mapping search SCNN runs it polyphase and SparTen leads by 1.76x on "
        "AlexNet and 1.26x on VGG-16 (unchanged). SparTen's 3x is against its own SCNN "
        "model, whose mapping of strided and FC layers the paper does not give",
    ),
    Claim(
        id="s2ta-mac-share",
        claim="in a dense INT8 systolic array the MAC datapath is only ~20 % of the energy; "
        "operand and result buffering dominate",
        source="Liu et al., S2TA, HPCA 2022, §II energy breakdown (REFERENCES.md §5)",
        paper="S2TA, HPCA 2022",
        published=0.20,
        unit="share",
        setup="sod's dense 32x32 int8 WS array at 16 nm on VGG-16's conv layers (Han "
        "densities, no zero-gating), MAC energy / on-chip dynamic energy",
        tolerance=0.35,
        tolerance_reason="'~20 %' read off a breakdown figure of a different array and "
        "buffer hierarchy (S2TA's operand buffers vs sod's GLB): ±35 %",
        expected_fail="since the GLB is costed per bank (8 banks of 64 KiB low-standby-power "
        "SRAM, docs/cost.md) a GLB bit costs a small bank's read energy, so the MAC share rose "
        "from 17 % (one 512 KiB macro) to ~34 % with the TPU timing; S2TA's ~20 % counts "
        "its own, larger operand buffers. The banked GLB is the fairer model; the gap is "
        "the buffer hierarchy",
        model=s2ta_mac_share,
    ),
    Claim(
        id="pe-ratio-bitmask-32",
        claim="a SparTen-like bitmask inner-join PE (chunk 32) is 6.6x a dense int8 MAC PE",
        source="this project's Yosys synthesis, sky130 (REFERENCES.md §4, mark M)",
        paper="sod synthesis (REF §4)",
        published=6.6,
        unit="x",
        setup="sod's component composition of both PEs at 45 nm (Aladdin/Horowitz "
        "components), not the synthesis table",
        tolerance=0.20,
        tolerance_reason="component sums vs synthesized cells; synthesized ratios varied "
        "16 % between two cell libraries: ±20 %",
        model=bitmask_pe_ratio,
    ),
    Claim(
        id="pe-ratio-bitmask-64",
        claim="a bitmask inner-join PE (chunk 64) is 12.2x a dense int8 MAC PE",
        source="this project's Yosys synthesis, sky130 (REFERENCES.md §4, mark M)",
        paper="sod synthesis (REF §4)",
        published=12.2,
        unit="x",
        setup="as pe-ratio-bitmask-32, chunk 64",
        tolerance=0.20,
        tolerance_reason="as pe-ratio-bitmask-32: ±20 %",
        model=bitmask_pe_ratio_64,
    ),
    Claim(
        id="pe-ratio-csr-4",
        claim="a CSR index-comparator PE (FIFO depth 4) is 2.4x a dense int8 MAC PE",
        source="this project's Yosys synthesis, sky130 (REFERENCES.md §4, mark M)",
        paper="sod synthesis (REF §4)",
        published=2.4,
        unit="x",
        setup="as pe-ratio-bitmask-32, csr_match_pe with 4-entry FIFOs",
        tolerance=0.20,
        tolerance_reason="as pe-ratio-bitmask-32: ±20 %",
        model=csr_pe_ratio,
    ),
    Claim(
        id="horowitz-int8-mac",
        claim="an int8 multiply (0.2 pJ) + 32-bit accumulate (0.1 pJ) costs 0.3 pJ at 45 nm",
        source="Horowitz, ISSCC 2014, energy table (REFERENCES.md §2, mark S)",
        paper="Horowitz, ISSCC 2014",
        published=0.3,
        unit="pJ",
        setup="the 'mac' entry of the dense array's energy table (width-interpolated "
        "multiplier and adder energies for 8x8-bit operands, 32-bit accumulator)",
        tolerance=0.05,
        tolerance_reason="a consistency check of the energy table's width interpolation, "
        "whose anchors are these Horowitz points: ±5 %",
        model=horowitz_mac,
    ),
    Claim(
        id="horowitz-sram-8kb",
        claim="a 64-bit read of an 8 KB SRAM costs 10 pJ at 45 nm",
        source="Horowitz, ISSCC 2014, energy table (REFERENCES.md §2, mark S)",
        paper="Horowitz, ISSCC 2014",
        published=10.0,
        unit="pJ",
        setup="sod's SRAM model (CACTI 7 sweep, itrs-hp, 1 bank, 1 RW port) for 8 KiB x "
        "64 bits at 45 nm",
        tolerance=0.30,
        tolerance_reason="two SRAM models of the same macro at the same node: ±30 %",
        model=horowitz_sram,
        expected_fail="sod's SRAM energies are CACTI 7's (5.29 pJ here, REFERENCES.md §3), "
        "about half of Horowitz's rounded figure for another SRAM design; kept to show "
        "the spread between the two sources that sod's energies rest on",
    ),
    Claim(
        id="sod-decompressor-area",
        claim="Sparse-on-Dense's decompression units take about 2 % of the chip area",
        source="Yoon, Ryu & Kim, Sparse-on-Dense, arXiv 2604.26587 (2026), abstract "
        "(REFERENCES.md §1)",
        paper="Sparse-on-Dense, 2026",
        published=0.02,
        unit="share",
        setup="sod's sparse-on-dense preset sized to `sod paper`'s 4 mm² at 45 nm (one CSC "
        "unit per array edge, 512 KiB GLB); the paper's array size is unknown",
        tolerance=0.30,
        tolerance_reason="'about 2 %' on an unknown array size and GLB; the share scales "
        "with 1/array edge: ±30 %",
        model=sod_decompressor_share,
        expected_fail="sod prices the unit from the synthesized bitmask expansion unit "
        "(≈1 %); the cycle-matched RTL stream unit is 3.3 % of a 16x16 array; the paper's "
        "~2 % sits between the two (docs/paper-comparison.md item 8)",
    ),
    Claim(
        id="sparse-tpu-area",
        claim="Sparse-TPU (column packing, index-matching PEs) has 12.93 % area overhead "
        "over the TPU-like baseline",
        source="He et al., Sparse-TPU, ICS 2020, abstract (REFERENCES.md §5, S)",
        paper="Sparse-TPU, ICS 2020",
        published=0.1293,
        unit="share",
        setup="sod's component composition at 45 nm of the STPU PE (the int8 dense MAC PE "
        "+ stored and forwarded 8-bit index registers + an 8-bit index comparator) over the "
        "dense MAC PE, on a 128x128 array (the GLB, equal in both, left out)",
        tolerance=0.30,
        tolerance_reason="the PE's index width and control (hold, collision handling) are "
        "not in our sources (7 bits address a 128-row partition, 8 assumed); the abstract "
        "ties the 12.93 % to its float32 build, whose 32-bit datapath dilutes the index "
        "logic (sod's 32-bit composition gives ~3 %): the int8 reading is modelled, ±30 %",
        model=sparse_tpu_area,
    ),
    Claim(
        id="scalesim-cycles",
        claim="the dense array's compute cycles equal SCALE-Sim v3.0.0's COMPUTE_REPORT",
        source="SCALE-Sim v3.0.0 runs committed in sod/reference/data/scalesim (tools/"
        "scalesim_reference.py)",
        paper="SCALE-Sim v3.0.0",
        published=_scalesim_published(),
        unit="cycles",
        setup="every committed case (LeNet, AlexNet, ResNet-50 conv, odd GEMMs; WS/OS/IS; "
        "8x8 to 128x128 arrays) through sod.designs.evaluate on a dense array with ideal "
        "memory and `timing: scalesim` when that field exists",
        tolerance=0.0,
        tolerance_reason="the dense model is a closed form of SCALE-Sim's schedule: "
        "cycle-exact, worst layer",
        model=scalesim_cycles,
    ),
    Claim(
        id="vusa-area-saving",
        claim="VUSA saves 37 % area against a baseline systolic array of the same peak "
        "performance (commercial 16 nm)",
        source="Helal, Garcia-Ortiz, Bamberg, VUSA, MOCAST 2025 (arXiv 2506.01166), abstract",
        paper="VUSA, MOCAST 2025",
        published=0.37,
        unit="share",
        setup="sod's PE-array area at 16 nm: the VUSA preset (30x32 MACs, windows of 3 MACs "
        "serving 5 virtual rows, the synthesized vusa_kwindow) vs the dense WS array of its "
        "full virtual shape (50x32 dense MAC PEs); GLB left out (equal on both)",
        tolerance=0.2,
        tolerance_reason="our window RTL is our reading of VUSA's PE (the paper's body was "
        "not available), synthesized on sky130 and moved to 16 nm by the dense PE's anchor; "
        "the paper's array size and library differ: ±20 %",
        model=vusa_area_saving,
    ),
    Claim(
        id="vusa-power-saving",
        claim='VUSA saves 68 % power ("power efficiency") against the same-peak baseline '
        "systolic array",
        source="Helal, Garcia-Ortiz, Bamberg, VUSA, MOCAST 2025 (arXiv 2506.01166), abstract",
        paper="VUSA, MOCAST 2025",
        published=0.68,
        unit="share",
        setup="ResNet-50 (the paper used ResNet-18, not in sod's zoo) with every weight "
        "layer magnitude-pruned to 15 % (the paper's 85 % example), batch 1, ideal memory, "
        "16 nm: the array's power (MAC, gated-MAC and PE-register energy over the cycles) "
        "of the VUSA preset vs the plain dense WS array of its full virtual shape (50x32)",
        tolerance=0.25,
        tolerance_reason="the abstract's 'power efficiency' saving is read as array power at "
        "the same peak; other network, synthetic masks and sod's energy tables instead of "
        "a 16 nm power analysis; the detail gives the zero-gated baseline too: ±25 %",
        model=vusa_power_saving,
    ),
    Claim(
        id="a100-2to4-math",
        claim="2:4 fine-grained structured sparsity doubles the tensor cores' math "
        "throughput (sparse MMA at 2x the dense rate)",
        source="NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020), 'Fine-Grained "
        "Structured Sparsity' (e.g. INT8 624 dense vs 1,248 sparse TOPS)",
        paper="NVIDIA A100, 2020",
        published=2.0,
        unit="x",
        setup="sod's nm-systolic preset (32x32 WS, 2:4, one multiplier + 4:1 activation "
        "mux per PE) vs the dense 32x32 WS array, compute cycles of a 2048x4096x4096 GEMM "
        "magnitude-pruned 2:4 (ideal memory: math throughput only)",
        tolerance=0.05,
        tolerance_reason="a peak rate: sod's arrays pay one pipeline fill and drain per "
        "run (under 1 % here); ±5 %",
        model=a100_sparse_math_speedup,
    ),
    Claim(
        id="a100-2to4-footprint",
        claim="2:4 compression halves the sparse operand's data footprint and bandwidth",
        source="NVIDIA developer blog 'Exploiting NVIDIA Ampere Structured Sparsity with "
        "cuSPARSELt' (2020)",
        paper="NVIDIA A100, 2020",
        published=2.0,
        unit="x",
        setup="dense int8 weight bits / the nm-systolic preset's stored bits (kept values "
        "+ 2-bit indices) on the same 2:4 GEMM",
        tolerance=0.05,
        tolerance_reason="exact storage arithmetic; ±5 %",
        model=a100_sparse_footprint,
        expected_fail="sod counts the 2-bit index of every kept value: int8 weights take "
        "(8 + 2) / 16 of the dense bits, a 1.6x saving (fp16: 1.78x); the 2x counts values "
        "only",
    ),
)
