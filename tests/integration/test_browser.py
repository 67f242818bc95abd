"""results/index.html as a person sees it: `bench report` on the repository's reference records,
opened in headless Chromium (Debian's package) in a 1,280 x 900 window. No page is wider than
its window, the MNIST table's numbers, claims and verdicts are on screen, and its header row
and first column stay in view while the table scrolls. A screenshot is written for a person
to look at (its path is printed: $BENCH_SCREENSHOTS, else the system's temporary folder).
Skipped without Chromium, except under BENCH_REQUIRE_BROWSER=1 (CI), where that fails."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bench.report.builder import build_report
from tests.browser import Chromium, find_chromium
from tests.helpers import ROOT

WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("BENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium on PATH (BENCH_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip("no chromium on PATH (apt-get install chromium runs this test)")
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """index.html rebuilt from the shipped records and speed measurements."""
    results = tmp_path_factory.mktemp("report")
    shutil.copytree(ROOT / "results" / "runs", results / "runs")
    if (ROOT / "results" / "speed").is_dir():
        shutil.copytree(ROOT / "results" / "speed", results / "speed")
    build_report(results)
    return results / "index.html"


def box(element: str) -> str:
    """JavaScript: the bounding box {left, right, top, bottom} of the first element `element` selects."""
    return (f"(() => {{ const e = {element}; if (!e) return null; const r = e.getBoundingClientRect(); "
            "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()")


def header(name: str) -> str:
    return (f"[...document.querySelectorAll('#clustering-mnist ~ .scroll')][0]"
            f"&& [...document.querySelector('#clustering-mnist ~ .scroll').querySelectorAll('thead th')]"
            f".find(th => th.textContent.trim() === {name!r})")


def on_screen(rect: dict | None) -> bool:
    return rect is not None and rect["left"] >= 0 and rect["right"] <= WIDTH and rect["top"] >= 0 \
        and rect["bottom"] <= HEIGHT


def test_the_mnist_table_is_readable_at_1280_pixels(chromium, page, capsys):
    with Chromium(chromium) as browser:
        browser.open(page.as_uri(), WIDTH, HEIGHT)
        widths = browser.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
        assert widths[1] <= widths[0] == WIDTH, f"the page is {widths[1]} px wide in a {widths[0]} px window"

        browser.evaluate("document.getElementById('clustering-mnist').scrollIntoView(); 0")
        cells = {name: browser.evaluate(box(header(name)))
                 for name in ("method", "preset", "test error %", "claimed error %", "verdict")}
        off = {name: rect for name, rect in cells.items() if not on_screen(rect)}
        assert not off, f"off screen at {WIDTH} x {HEIGHT}: {off}"
        assert cells["claimed error %"]["left"] >= cells["test error %"]["right"] - 1  # the claim beside ours

        folder = Path(os.environ.get("BENCH_SCREENSHOTS") or Path(tempfile.gettempdir()) / "bench-screenshots")
        shot = browser.screenshot(folder / f"index-{WIDTH}x{HEIGHT}-clustering-mnist.png")
        with capsys.disabled():
            print(f"\nscreenshot of results/index.html at {WIDTH} x {HEIGHT}: {shot}")

        # inside its box the table scrolls; its header row and first column stay where they were
        scroll = "document.querySelector('#clustering-mnist ~ .scroll')"
        first = box(f"{scroll}.querySelector('tbody tr td')")
        before = browser.evaluate(box(header("method"))), browser.evaluate(first)
        browser.evaluate(f"{scroll}.scrollTop = 200; {scroll}.scrollLeft = 100000; 0")
        after = browser.evaluate(box(header("method"))), browser.evaluate(first)
        assert after[0]["top"] == pytest.approx(before[0]["top"], abs=1)  # the header row stays on top
        assert after[0]["left"] == pytest.approx(before[0]["left"], abs=1)  # and the first column on the left
        assert after[1]["left"] == pytest.approx(before[1]["left"], abs=1)


def test_long_variants_show_a_tag_with_their_settings_and_smoke_rows_are_set_apart(chromium, page):
    with Chromium(chromium) as browser:
        browser.open(page.as_uri(), WIDTH, HEIGHT)
        widest = browser.evaluate("Math.max(...[...document.querySelectorAll('#clustering-mnist ~ .scroll tbody "
                                  "tr:not(.group) > :first-child')].map(td => td.getBoundingClientRect().width))")
        assert widest <= 320, f"the method column is {widest} px wide"
        tags = browser.evaluate("[...document.querySelectorAll('td a.tag')].map(a => [a.textContent, "
                                "a.parentElement.title, document.getElementById(a.hash.slice(1)) !== null])")
        assert all(tag.count("#") == 1 and title and listed for tag, title, listed in tags), tags
        groups = browser.evaluate("[...document.querySelectorAll('tbody.set-apart tr.group th')].map(th => "
                                  "th.textContent)")
        smoke = browser.evaluate("[...document.querySelectorAll('table.data')].flatMap(t => { const i = "
                                 "[...t.querySelectorAll('thead th')].findIndex(th => th.textContent === 'preset'); "
                                 "return [...t.querySelectorAll('tbody.set-apart tr:not(.group)')].map(tr => "
                                 "tr.children[i].textContent); })")
        assert set(smoke) <= {"smoke", "quick"}
        if smoke:
            assert groups and all("not comparable with the papers' claims" in g for g in groups)
