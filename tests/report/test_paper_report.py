"""The paper report: key findings, configuration, captions, provenance — and it renders in
a real browser (headless Chromium) with its figures drawn."""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
from test_compare_paper import SMALL

from sod.report.paper import write_outputs
from sod.study.paper import run_paper

VOID = {"meta", "br", "img", "input", "hr", "link", "col", "source", "wbr", "area", "base"}


class _Checker(HTMLParser):
    """Balanced tags (HTML void elements and self-closing SVG ones aside), ids, figures."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.svgs = 0
        self.captions = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs and tag in ("h2", "figure"):  # the report's own anchors
            self.ids.add(attrs["id"])
        if tag == "svg":
            self.svgs += 1
        if tag == "figcaption":
            self.captions += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("paper")
    write_outputs(run_paper(SMALL), out)
    return out / "report.html"


def test_report_is_well_formed_and_complete(report: Path):
    text = report.read_text()
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    for section in ("findings", "configuration", "main", "ratios", "robustness", "provenance"):
        assert section in checker.ids
    assert checker.svgs >= 5 and checker.captions >= 5
    # The ratio direction is stated once, and every figure caption and header has units.
    assert text.count("Every ratio in this report is Sparse-on-Dense") == 1
    for header in ("throughput/area (GOP/s/mm²)", "energy (µJ/inference)", "area (mm²)"):
        assert header in text
    # Configuration: each sized design, the masks' source, provenance.
    assert "best dataflow per layer, tpu timing" in text
    assert "profile &#39;han2015&#39;" in text or "profile 'han2015'" in text
    for key in ("sod version", "git commit", "command line", "generated"):
        assert key in text
    assert "Sparse-on-Dense wins against" in text


@pytest.mark.slow
def test_report_renders_in_chromium_with_its_figures(report: Path, tmp_path: Path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    shot = tmp_path / "shot.png"
    run = subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-500:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page

    # The figures are drawn: the architectures' colours appear on screen.
    def share(hex_colour: str) -> float:
        rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        return float((np.abs(pixels - rgb).max(axis=-1) < 0.06).mean())

    import csv

    from sod.report.figures import ARCH_COLORS

    evaluated = {row["arch"] for row in csv.DictReader((report.parent / "main.csv").open())}
    drawn = [a for a in evaluated - {"sparse-on-dense"} if share(ARCH_COLORS[a]) > 1e-3]
    assert len(drawn) >= 2, (evaluated, drawn)  # their bars are on screen
