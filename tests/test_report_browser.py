"""The tiny demo's report.html in a real browser (system Chromium driven by Playwright): its first screen.

At 1400 × 900, with no click, the text a reader sees (text nodes laid out inside the viewport,
after the report's scripts ran) names every model, a worst case with its interval and n, a
verdict and the findings; no escaped markup shows as text; every image loaded. The one skip: no
Chromium on this machine (``.ci/run`` installs it with apt).
"""

import re
import shutil
from pathlib import Path

import pytest
from test_workflow import snakemake, tiny_demo_config

from newlogic.report.findings import METHOD_HEADINGS
from newlogic.report.vocabulary import STATUSES, VERDICTS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1400, "height": 900}
TINY_LABELS = ("Baseline", "relog-maxout_4")  # tests/test_workflow.py tiny_demo_config's rows
CELL = re.compile(r"\d+\.\d \[\d+\.\d, \d+\.\d\] n=\d+")  # a headline cell: accuracy [low, high] n (findings.Cell)
RAW_MARKUP = ("&amp;", "\\textbf", "<td>", "&lt;", "{%")
# the text of every laid-out text node that lies at least partly inside the viewport, in document order
VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const shown = node.parentElement.checkVisibility({visibilityProperty: true, opacityProperty: true});
    if (!shown || !node.textContent.trim()) continue;  // hidden, or inside a closed <details>
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width > 0 && rect.bottom > 0 && rect.right > 0 && rect.top < innerHeight && rect.left < innerWidth) {
        parts.push(node.textContent.trim());
        break;
      }
    }
  }
  return parts.join("\\n");
}"""

# the cells' text of each headline-table row that lies wholly inside the viewport and is shown
HEADLINE_ROWS = """() => [...document.querySelectorAll("table.nl-headline tbody tr")].filter(row => {
  const rect = row.getBoundingClientRect();
  return row.checkVisibility() && rect.top >= 0 && rect.bottom <= innerHeight && rect.right <= innerWidth;
}).map(row => [...row.cells].map(cell => cell.innerText.trim()))"""

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")]


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny demo run end to end, then its report.html."""
    workdir = tmp_path_factory.mktemp("tiny-report")
    config = str(tiny_demo_config(workdir))
    snakemake("--cores", "2", "--configfile", config, cwd=workdir)
    snakemake("--report", "results/report.html", "--configfile", config, cwd=workdir)
    return workdir / "results/report.html"


def first_screen(report: Path) -> dict:
    """Open ``report`` at 1400 × 900, wait for its scripts; the body's innerText, the viewport's text, the images."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.wait_for_selector("#nl-landing", state="attached", timeout=30_000)
            page.wait_for_function("() => [...document.images].every(image => image.complete)", timeout=30_000)
            return {
                "inner_text": page.evaluate("() => document.body.innerText"),
                "visible_text": page.evaluate(VISIBLE_TEXT),
                "headline_rows": page.evaluate(HEADLINE_ROWS),
                "images": page.evaluate("() => [...document.images].map(i => [i.alt || i.src.slice(0, 60), "
                                        "i.naturalWidth])"),
                "errors": errors,
            }
        finally:
            browser.close()


def test_the_first_screen_shows_models_worst_cases_verdicts_and_findings(tiny_report: Path) -> None:
    screen = first_screen(tiny_report)
    visible = screen["visible_text"]
    assert screen["errors"] == [], screen["errors"]
    for label in TINY_LABELS:
        assert label in visible, f"model label {label!r} not on the first screen:\n{visible}"
    assert CELL.search(visible), f"no worst case with its interval and n on the first screen:\n{visible}"
    assert any(heading in visible for heading in METHOD_HEADINGS.values()), visible  # the findings and the header
    assert any(verdict in visible for verdict in VERDICTS), f"no verdict on the first screen:\n{visible}"
    rows = {row[0]: row[1:] for row in screen["headline_rows"]}
    assert sorted(rows) == sorted(TINY_LABELS), f"the headline table's rows on the first screen: {rows}"
    for label, cells in rows.items():
        assert any(CELL.fullmatch(cell) for cell in cells), f"{label}: no worst case with interval and n in {cells}"
        assert cells[-1].startswith(VERDICTS), f"{label}: the last cell {cells[-1]!r} is not a verdict"
    for markup in RAW_MARKUP:
        assert markup not in screen["inner_text"], f"{markup!r} shows as text"
    assert screen["images"], "no image on the landing view (the robustness curves)"
    unloaded = [alt for alt, width in screen["images"] if width == 0]
    assert unloaded == [], f"images that did not load: {unloaded}"


def test_the_report_is_one_self_contained_file(tiny_report: Path) -> None:
    html = tiny_report.read_text(errors="replace")
    assert "robustness_curves.png" in html  # the figure is also a report item, with its caption
    assert not re.search(r"""(src|href)=["']https?://""", html), "an external URL in report.html"


def test_a_verdict_links_to_the_models_checks(tiny_report: Path) -> None:
    """Following the last row's verdict opens that model's checks: each check with its status, in view."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(tiny_report.resolve().as_uri(), wait_until="load")
            page.click("table.nl-headline tbody tr:last-child td:last-child a", timeout=30_000)
            target = page.locator("#nl-tiny-relog-maxout_4")
            target.wait_for(state="visible", timeout=10_000)
            shown = target.inner_text()
        finally:
            browser.close()
    assert "seed 0:" in shown and "Settings compared:" in shown
    assert re.search(rf"one_step_above_iterative\s+({'|'.join(STATUSES)})", shown), shown
