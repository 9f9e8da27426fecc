"""Headless Chromium for tests: Debian's /usr/bin/chromium driven by Playwright (no browser
download), and a page opener that records every request, console message and page error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch_chromium() -> Iterator:
    """Yield a launched Playwright Chromium browser; fails the test when Chromium is missing."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_report(browser, path: Path) -> dict:
    """Open ``path``; return what the page did: ``requests`` (URLs), ``console`` ((type, text)),
    ``errors`` (page errors), ``routed`` (URLs seen by the router; all but the file itself are
    aborted) and the ``page``."""
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


def assert_renders_offline(browser, path: Path) -> dict:
    """Open the report at ``path`` and assert it rendered with no errors and no request but the
    file itself; returns what :func:`open_report` saw."""
    seen = open_report(browser, path)
    assert seen["page"].title() == "Trading report"
    assert seen["errors"] == [], seen["errors"]
    assert [m for m in seen["console"] if m[0] == "error"] == []
    assert seen["requests"] == [path.as_uri()]
    return seen
