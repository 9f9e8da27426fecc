"""Session fixtures of the report tests: one in-memory warehouse with every input built from
real data (``tests.report.fixtures``), its loaded inputs and the rendered page (built once:
the lexicon and matplotlib imports cost seconds)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from tests.report import fixtures
from trading_assets.report.inputs import ReportInputs, load_inputs
from trading_assets.report.render import RenderedReport, render_report

GENERATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def memory_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


@pytest.fixture(scope="session")
def warehouse(shared_data) -> duckdb.DuckDBPyConnection:
    con = memory_warehouse()
    fixtures.write_inputs(con, shared_data)
    # one untrusted headline, as a feed could deliver it, next to the real ones
    con.execute(
        "INSERT INTO raw.news SELECT 'evil-1', TIMESTAMPTZ '2025-12-26 23:00:00+00', 'rss', "
        "'<b>Evil</b> Wire', '<script>window.__pwned = 1</script><img src=x onerror=alert(1)> "
        "Stocks & \"bonds\" rally', NULL, 'javascript:alert(1)', ['AAPL'], "
        "TIMESTAMPTZ '2025-12-27 00:00:00+00'"
    )
    return con


@pytest.fixture(scope="session")
def inputs(warehouse) -> ReportInputs:
    return load_inputs(warehouse)


@pytest.fixture(scope="session")
def rendered(inputs) -> RenderedReport:
    return render_report(inputs, GENERATED)


@pytest.fixture(scope="session")
def bars(shared_data) -> pl.DataFrame:
    return fixtures.real_bars(shared_data)
