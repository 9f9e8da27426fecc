"""The report in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
it renders, the charts are drawn, there are no console errors, and the only request the page
makes is for the file itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_report(browser, path: Path) -> dict:
    """Open ``path``; return what the page did: requests, console messages, page errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list] = {"requests": [], "console": [], "errors": [], "routed": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def route(r):
        seen["routed"].append(r.request.url)
        if r.request.url == path.as_uri():
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    seen["page"] = page
    return seen


def test_full_report_renders_offline(browser, rendered, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(rendered.html, encoding="utf-8")
    seen = open_report(browser, path)
    page = seen["page"]
    assert page.title() == "Trading report"
    charts = page.locator("[data-chart] svg")
    assert charts.count() == rendered.charts == 5
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 150  # drawn, not collapsed
    # the equity chart holds drawn lines, the scatter its points
    assert page.locator("[data-chart=equity] svg path").count() > 10
    assert page.locator("[data-chart=prediction] svg use").count() > 100
    assert page.locator("#signals table").first.is_visible()
    headline = page.locator("table.headlines td", has_text="window.__pwned").first
    assert "<script>" in headline.inner_text()  # shown as text
    assert page.evaluate("window.__pwned === undefined")  # never executed
    assert seen["errors"] == [] and [m for m in seen["console"] if m[0] == "error"] == []
    assert seen["requests"] == [path.as_uri()]
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_empty_report_renders_and_says_what_is_missing(browser, tmp_path):
    from tests.report.conftest import GENERATED
    from trading_assets.report.inputs import ReportInputs
    from trading_assets.report.render import render_report

    path = tmp_path / "empty.html"
    path.write_text(render_report(ReportInputs(), GENERATED).html, encoding="utf-8")
    seen = open_report(browser, path)
    text = seen["page"].locator("main").inner_text()
    assert "No predictions yet: the models have not been trained." in text
    assert seen["page"].locator("svg").count() == 0
    assert seen["errors"] == [] and seen["requests"] == [path.as_uri()]
