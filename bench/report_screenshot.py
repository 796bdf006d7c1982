"""The README's screenshot of the report's first screen: ``report.html`` at 1400 × 900 in headless Chromium.

Opens a report built by ``snakemake --report results/report.html`` (the demo's, by default) in the
system Chromium through Playwright (``executable_path``; no browser download), waits for its
scripts and the landing view (``#nl-landing``, ``newlogic.report.html_page``), and saves the
viewport, with no click, as ``docs/report-landing.png``. Prints ``name value`` lines: the report's
size in bytes and the screenshot's path.

    .venv-test/bin/python bench/report_screenshot.py [--report results/report.html] [--out docs/report-landing.png]
"""

import argparse
import shutil
import sys
from pathlib import Path

VIEWPORT = {"width": 1400, "height": 900}


def screenshot(report: Path, out: Path) -> None:
    """Save the first 1400 × 900 view of ``report`` to ``out`` (PNG)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("report_screenshot: no Chromium on PATH; install it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.wait_for_selector("#nl-landing", state="attached", timeout=30_000)
            page.wait_for_function("() => [...document.images].every(image => image.complete)", timeout=30_000)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=Path("results/report.html"), help="the report to open")
    parser.add_argument("--out", type=Path, default=Path("docs/report-landing.png"), help="the PNG to write")
    args = parser.parse_args()
    if not args.report.is_file():
        sys.exit(f"report_screenshot: --report {args.report} does not exist; build it with "
                 "`snakemake --cores 2 && snakemake --report results/report.html`")
    screenshot(args.report, args.out)
    print(f"report_bytes {args.report.stat().st_size}")
    print(f"screenshot {args.out}")


if __name__ == "__main__":
    main()
