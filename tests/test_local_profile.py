"""End to end on the local profile over ../shared/data: every price file lands, once."""

import json
from pathlib import Path

import pytest

from tests.conftest import use_local_profile
from tests.signal_freshness import assert_newest_signal_on_newest_bar
from trading_assets import Warehouse
from trading_assets.definitions import build_definitions
from trading_assets.home import ProjectHome
from trading_assets.runner import dagster_instance, materialize


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def _yahoo_minutes(shared: Path, symbol: str) -> int:
    """Distinct on-grid bar times over a symbol's overlapping 1m snapshots (the trailing
    off-grid bar of each snapshot is the live partial bar and is not stored)."""
    times = set()
    for path in sorted(
        (shared / "equities/minute/yahoo_snapshots_2025-12" / symbol).glob("*.json")
    ):
        times |= {
            b["t"] for b in json.loads(path.read_text())["bars"] if b["t"].endswith(":00.000Z")
        }
    return len(times)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, shared_data: Path):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("local") / "home"
    use_local_profile(mp, home, shared_data)
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()
    first = materialize(defs, instance)
    second = materialize(defs, instance)
    yield first, second, Warehouse()
    mp.undo()


def test_every_price_file_lands_with_its_row_count(local_run, shared_data: Path):
    first, _, wh = local_run
    assert first.ok, first.failures
    assert not [o.key for o in first.outcomes.values() if "sources_loaded" in o.failed_checks]
    counts = {
        (r["symbol"], r["timeframe"]): r["n"]
        for r in wh.sql(
            "SELECT symbol, timeframe, count(*) AS n FROM raw.bars GROUP BY ALL"
        ).iter_rows(named=True)
    }
    lean_minutes = sum(
        _lines(p) for p in (shared_data / "equities/minute/lean_spy_2013-10").glob("*_trade.csv")
    )
    expected = {
        ("ETH/USDT", "1m"): 66_087,
        ("ETH/USDT", "5m"): 13_217,
        ("ETH/USDT", "1h"): 719,
        ("ETH/USDT", "1d"): 1_385,
        ("BTC/USDT", "1m"): 66_087,
        ("BTC/USDT", "5m"): 13_217,
        ("BTC/USDT", "1h"): 719,
        ("ORCL", "1d"): 5_036,
        ("YHOO", "1d"): 4_713,
        ("NVDA", "1d"): 4_012 + 501,  # backtrader 1999-2014 + Yahoo 2023-2025
        ("SPY", "1d"): 5_849 + 501,  # Lean 1998-2021 + Yahoo 2023-2025
        ("SPY", "1m"): lean_minutes + 14_180 + _yahoo_minutes(shared_data, "SPY"),
        ("AAPL", "1d"): 501,
        ("AAPL", "1m"): _yahoo_minutes(shared_data, "AAPL"),
    }
    for key, n in expected.items():
        assert counts.get(key) == n, key
    ticks = dict(wh.sql("SELECT symbol, count(*) FROM raw.ticks GROUP BY ALL").iter_rows())
    assert ticks == {"ETH/USDT": 1_000, "BTC/USDT": 2_001, "XRP/ETH": 12_477}
    assert wh.sql("SELECT count(*) AS n FROM raw.quotes")["n"][0] == 451
    quote_minutes = sum(
        _lines(p) for p in (shared_data / "equities/minute/lean_spy_2013-10").glob("*_quote.csv")
    )
    assert wh.sql("SELECT count(*) AS n FROM raw.quote_bars")["n"][0] == quote_minutes


def test_universal_stream_has_all_five_series(local_run):
    _, _, wh = local_run
    stream = wh.universal_stream()
    per = dict(stream.group_by("stream").len().iter_rows())
    assert set(per) == {"ETH ticks", "ETH 1m", "ETH 1h", "ETH 1d", "BTC ticks"}
    assert per["ETH ticks"] == 1_000 and per["BTC ticks"] == 2_001
    assert per["ETH 1m"] >= 66_087 and per["ETH 1d"] >= 1_385
    assert stream["ts"].is_sorted()
    eth_1m = wh.universal_stream(
        streams=["ETH 1m"], start="2023-03-16 22:15", end="2023-03-16 22:16"
    )
    assert eth_1m["open"].to_list() == [1672.68]


def test_second_run_adds_nothing_and_keeps_data_versions(local_run):
    first, second, _ = local_run
    assert second.ok, second.failures
    for key, outcome in second.outcomes.items():
        if key in ("ops/cost_metrics", "reports/report", "trading/costs"):
            continue  # the cost ledger records every run, this one too, and the report shows it
            # (trading/costs shares each run's compute cost, recorded after the run, by trades)
        assert outcome.rows_written == 0, key
        assert outcome.data_versions == first.outcomes[key].data_versions, key


def test_main_job_produces_signals_backtests_and_a_report_chromium_renders(local_run):
    from tests.browser import assert_renders_offline, launch_chromium

    first, _, wh = local_run
    assert first.ok, first.failures
    families = wh.sql(
        "SELECT timeframe, count(DISTINCT family) AS families FROM ml.predictions GROUP BY 1"
    )
    # every default family of returns (the opt-in LSTM: tests/ml/test_families_served.py)
    assert dict(families.iter_rows()) == {"1h": 7, "1d": 7}
    signals = wh.sql("SELECT symbol, timeframe, count(*) AS n FROM signals.signals GROUP BY 1, 2")
    assert signals.height >= 4 and signals["n"].min() > 0
    strategies = wh.sql("SELECT DISTINCT strategy FROM signals.backtest_metrics")["strategy"]
    assert {"consensus", "buy_and_hold", "fwd_ret_1-1d-lightgbm"} <= set(strategies)

    report = ProjectHome.from_env().reports_dir / "latest.html"
    for browser in launch_chromium():
        page = assert_renders_offline(browser, report)["page"]
        assert page.locator("[data-chart] svg").count() >= 3  # equity, predictions, sentiment
        text = page.locator("main").inner_text()
        assert "No predictions yet" not in text
        assert "ETH/USDT" in text and "buy_and_hold" in text


def test_newest_signal_of_every_series_is_on_its_newest_bar(local_run):
    first, _, wh = local_run
    assert first.ok, first.failures
    assert "fresh" not in first.outcomes["signals/signals"].failed_checks
    assert assert_newest_signal_on_newest_bar(wh) >= 4


def test_dry_run_orders_are_stored_and_nothing_is_sent(local_run):
    first, _, wh = local_run
    assert first.ok, first.failures
    orders = wh.sql("SELECT * FROM trading.orders")
    assert orders.height >= 1 and set(orders["mode"]) == {"dry_run"}
    assert set(orders["status"]) <= {"dry_run", "skipped", "stale"}
    assert orders["broker_order_id"].null_count() == orders.height
    assert not first.outcomes["trading/positions"].failed_checks
