"""The report in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
it renders, the charts are drawn, there are no console errors, and the only request the page
makes is for the file itself."""

from __future__ import annotations

import pytest

from tests.browser import launch_chromium, open_report


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


def test_full_report_renders_offline(browser, rendered, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(rendered.html, encoding="utf-8")
    seen = open_report(browser, path)
    page = seen["page"]
    assert page.title() == "Trading report"
    charts = page.locator("[data-chart] svg")
    assert charts.count() == rendered.charts == 6
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 150  # drawn, not collapsed
    # the equity chart holds drawn lines, the scatter its points
    assert page.locator("[data-chart=equity] svg path").count() > 10
    assert page.locator("[data-chart=prediction] svg use").count() > 100
    assert page.locator("[data-chart=cost] svg").count() == 1  # cost over time
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
