"""Bad input from the paper broker, against a local server in Alpaca's wire format: every case
ends recorded with its reason, no order is ever sent twice, and the keys never reach a log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import polars as pl
import pytest

from tests.trading.alpaca_paper import KEY_ID, SECRET, AlpacaPaperServer
from trading_assets.errors import ConfigurationError
from trading_assets.schemas import ORDERS_SCHEMA
from trading_assets.trading import book, execution, paper
from trading_assets.trading.broker import PaperBroker
from trading_assets.trading.orders import OrderRules

NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
BAR = datetime(2023, 5, 1, 14, 0, tzinfo=UTC)
PRICES = {"ETH/USDT": 1843.25, "BTC/USDT": 28_412.5, "AAPL": 174.61}


@pytest.fixture(autouse=True)
def _debug_logs(caplog):
    """Every log line of every test, at DEBUG (urllib3, requests, alpaca-py included), is
    checked for the keys afterwards."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        text = record.getMessage() + str(record.args or "")
        assert KEY_ID not in text and SECRET not in text, record.name


@pytest.fixture
def server():
    with AlpacaPaperServer(prices=dict(PRICES)) as s:
        yield s


def broker_for(server: AlpacaPaperServer, waits: list[float] | None = None, **kw) -> PaperBroker:
    sleep = waits.append if waits is not None else (lambda _: None)
    return PaperBroker(KEY_ID, SECRET, server.url, timeout_s=kw.pop("timeout_s", 0.5),
                       retries=kw.pop("retries", 3), sleep=sleep, **kw)  # fmt: skip


def targets(weights: dict[str, float], age: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": list(weights),
            "timeframe": ["1h"] * len(weights),
            "ts": [BAR] * len(weights),
            "position": list(weights.values()),
            "price": [PRICES[s] for s in weights],
            "age_bars": [age] * len(weights),
        }
    )


RULES = OrderRules()


def run_once(server, broker, weights, stored=None, rules=RULES, age=0):
    stored = stored if stored is not None else pl.DataFrame(schema=ORDERS_SCHEMA)
    newest = targets(weights, age)
    return paper.place_orders(
        newest, stored, mode="paper", broker=broker, rules=rules, timeframes=["1h"],
        dry_run_equity=0.0, now=NOW, run_id="run-1",
    )  # fmt: skip


def row(run: paper.OrdersRun, symbol: str) -> dict:
    return run.orders.filter(pl.col("symbol") == symbol).row(0, named=True)


def assert_secrets_absent(run: paper.OrdersRun) -> None:
    for text in run.orders["reason"].to_list() + run.notes:
        assert KEY_ID not in text and SECRET not in text


def test_filled_orders_are_sent_once_and_a_rerun_sends_none(server):
    broker = broker_for(server)
    first = run_once(server, broker, {"ETH/USDT": 0.3, "AAPL": 0.2})
    eth, aapl = row(first, "ETH/USDT"), row(first, "AAPL")
    # 0.3 x 103,820.56 / 1,843.25 = 16.897... ETH (9 decimals); AAPL whole shares: 118
    assert eth["qty"] == pytest.approx(16.897419232, abs=1e-9) and eth["side"] == "buy"
    assert aapl["qty"] == 118.0
    assert eth["status"] == aapl["status"] == "filled"
    assert first.fills.height == 2
    assert first.fills.filter(pl.col("symbol") == "ETH/USDT")["slippage_bps"][0] == pytest.approx(
        5.0
    )
    second = run_once(server, broker, {"ETH/USDT": 0.3, "AAPL": 0.2}, stored=first.orders)
    assert second.sent == [] and second.changed.height == 0
    assert len(server.posts()) == 2
    passed, details = book.reconcile(
        book.positions_frame(broker.positions(), second.orders, 103_820.56, 0, "paper", NOW),
        second.orders, 0.005, OrderRules(),
    )  # fmt: skip
    assert passed, details
    headers = server.posts()[0].headers
    assert headers["apca-api-key-id"] == KEY_ID  # the keys travel as headers only


def test_duplicate_client_order_id_is_refused_and_the_existing_order_recorded(server):
    broker = broker_for(server)
    first = run_once(server, broker, {"BTC/USDT": 0.1})
    cid = row(first, "BTC/USDT")["client_order_id"]
    # a run that lost its record of the order sends it again under the same id
    again = broker.submit(cid, "BTC/USDT", "buy", 0.365, "crypto")
    assert again.status == "filled"
    assert "duplicate refused (HTTP 422 (code 40010001): client_order_id must be unique)" in (
        again.reason
    )
    assert again.broker_order_id == row(first, "BTC/USDT")["broker_order_id"]
    assert len(server.orders_of("BTC/USDT")) == 1 and len(server.posts("BTC/USDT")) == 2


def test_insufficient_buying_power_is_recorded_as_rejected_and_not_sent_again(server):
    server.scenarios["AAPL"] = ["buying_power"]
    broker = broker_for(server)
    first = run_once(server, broker, {"AAPL": 0.4})
    aapl = row(first, "AAPL")
    assert aapl["status"] == "rejected"
    assert aapl["reason"] == (
        "refused by the broker: HTTP 403 (code 40310000): insufficient buying power"
    )
    second = run_once(server, broker, {"AAPL": 0.4}, stored=first.orders)
    assert second.sent == [] and len(server.posts()) == 1
    passed, details = book.reconcile(
        book.positions_frame(broker.positions(), second.orders, 103_820.56, 0, "paper", NOW),
        second.orders, 0.005, OrderRules(),
    )  # fmt: skip
    assert not passed and "insufficient buying power" in details["mismatched"]["AAPL"]


def test_market_closed_holds_equity_orders_until_the_open_and_crypto_trades(server):
    server.market_open = False
    broker = broker_for(server)
    first = run_once(server, broker, {"AAPL": 0.2, "ETH/USDT": 0.2})
    aapl = row(first, "AAPL")
    assert aapl["status"] == "market_closed"
    assert aapl["reason"].startswith("market closed (next open 2026-12-03 14:30 UTC): not sent")
    assert row(first, "ETH/USDT")["status"] == "filled"  # crypto trades around the clock
    assert server.posts("AAPL") == []
    server.market_open = True
    second = run_once(server, broker, {"AAPL": 0.2, "ETH/USDT": 0.2}, stored=first.orders)
    assert second.sent == [aapl["client_order_id"]]
    assert row(second, "AAPL")["status"] == "filled" and row(second, "AAPL")["attempts"] == 1
    assert len(server.posts("AAPL")) == 1


def test_partial_fill_is_recorded_and_fails_reconciliation_naming_the_symbol(server):
    server.scenarios["ETH/USDT"] = ["partial"]
    broker = broker_for(server)
    run = run_once(server, broker, {"ETH/USDT": 0.3, "BTC/USDT": 0.2})
    eth = row(run, "ETH/USDT")
    assert eth["status"] == "partially_filled"
    assert eth["filled_qty"] == pytest.approx(eth["qty"] / 2, abs=1e-9)
    assert run.fills.filter(pl.col("symbol") == "ETH/USDT")["qty"][0] == eth["filled_qty"]
    frame = book.positions_frame(broker.positions(), run.orders, 103_820.56, 0, "paper", NOW)
    passed, details = book.reconcile(frame, run.orders, 0.005, OrderRules())
    assert not passed
    assert details["mismatched_symbols"] == ["ETH/USDT"]
    assert (
        "newest order partially_filled, filled 8.44871 of 16.8974"
        in (details["mismatched"]["ETH/USDT"])
    )


def test_rejected_order_is_recorded_with_its_reason(server):
    server.scenarios["BTC/USDT"] = ["reject"]
    run = run_once(server, broker_for(server), {"BTC/USDT": 0.2})
    btc = row(run, "BTC/USDT")
    assert btc["status"] == "rejected"
    assert btc["reason"] == "rejected by the broker after it was accepted for review"
    assert run.notes == [f"BTC/USDT {btc['client_order_id']}: rejected: {btc['reason']}"]


def test_429_waits_retry_after_and_sends_one_order(server):
    server.scenarios["ETH/USDT"] = ["429", "429"]
    server.retry_after = "2"
    waits: list[float] = []
    run = run_once(server, broker_for(server, waits), {"ETH/USDT": 0.2})
    assert row(run, "ETH/USDT")["status"] == "filled"
    assert waits == [2.0, 2.0]  # the server's Retry-After, not a guess
    assert len(server.posts("ETH/USDT")) == 3 and len(server.orders_of("ETH/USDT")) == 1


def test_5xx_after_the_last_retry_is_submit_failed_and_the_next_run_sends_it_once(server):
    server.scenarios["ETH/USDT"] = ["503"] * 4
    server.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"  # a date already past: no wait
    waits: list[float] = []
    broker = broker_for(server, waits, max_wait_s=5)
    first = run_once(server, broker, {"ETH/USDT": 0.2})
    eth = row(first, "ETH/USDT")
    assert eth["status"] == "submit_failed"
    assert eth["reason"] == (
        "HTTP 503 (code 50300000): service unavailable; sent again under the same id by the "
        "next run"
    )
    assert waits == [0.0, 0.0, 0.0] and len(server.posts()) == 4 and server.orders == {}
    second = run_once(server, broker, {"ETH/USDT": 0.2}, stored=first.orders)
    assert row(second, "ETH/USDT")["status"] == "filled"
    assert row(second, "ETH/USDT")["attempts"] == 2
    assert len(server.orders_of("ETH/USDT")) == 1


def test_a_timeout_looks_the_order_up_instead_of_sending_it_again(server):
    server.scenarios["ETH/USDT"] = ["slow"]  # the order arrives, the answer does not in time
    server.scenarios["BTC/USDT"] = ["lost"]  # nothing arrives
    broker = broker_for(server, timeout_s=0.3)
    first = run_once(server, broker, {"ETH/USDT": 0.2, "BTC/USDT": 0.2})
    eth, btc = row(first, "ETH/USDT"), row(first, "BTC/USDT")
    assert eth["status"] == "filled"
    assert eth["reason"] == (
        "no answer within 0.3 s; found at the broker by client_order_id, status filled"
    )
    assert btc["status"] == "submit_failed"
    assert btc["reason"] == (
        "no answer within 0.3 s; not at the broker (looked up by client_order_id): sent again "
        "under the same id by the next run"
    )
    second = run_once(server, broker, {"ETH/USDT": 0.2, "BTC/USDT": 0.2}, stored=first.orders)
    assert second.sent == [btc["client_order_id"]]
    assert len(server.posts("ETH/USDT")) == 1 and len(server.orders_of("ETH/USDT")) == 1
    assert len(server.orders_of("BTC/USDT")) == 1
    assert_secrets_absent(second)


def test_wrong_keys_are_recorded_without_the_keys(server):
    broker = PaperBroker(KEY_ID, "not-the-" + SECRET[8:], server.url, timeout_s=0.5)
    with pytest.raises(Exception) as info:
        broker.account()
    assert SECRET not in str(info.value) and "not authorized" in str(info.value)
    outcome = broker.submit("ta-x", "ETH/USDT", "buy", 1.0, "crypto")
    assert outcome.status == "submit_failed" and "HTTP 401" in outcome.reason
    assert SECRET[8:] not in outcome.reason


def test_daily_loss_stop_blocks_every_new_order_and_says_why(server):
    server.equity, server.last_equity = 96_000.0, 100_000.0
    run = run_once(server, broker_for(server), {"ETH/USDT": 0.2, "AAPL": 0.1})
    assert set(run.orders["status"]) == {"blocked"}
    assert run.orders["reason"][0] == (
        "daily loss stop: equity 96,000.00 is 4.00% below the previous close's 100,000.00 "
        "(limit 3.00%); no new orders until the loss is back within the limit"
    )
    assert server.posts() == []


def test_a_stale_signal_makes_no_order(server):
    run = run_once(server, broker_for(server), {"ETH/USDT": 0.2}, age=2)
    assert row(run, "ETH/USDT")["status"] == "stale"
    assert "2 bars behind the newest 1h bar (limit 2): no order" in row(run, "ETH/USDT")["reason"]
    assert server.posts() == []
    passed, _ = book.stale_orders(run.orders, OrderRules())
    assert passed


def test_live_money_is_refused_with_a_clear_error():
    with pytest.raises(execution.LiveTradingRefused, match="live-money trading is not offered"):
        execution.execution_mode("live")
    with pytest.raises(execution.LiveTradingRefused, match="live-money host"):
        execution.trading_url("https://api.alpaca.markets")
    assert execution.execution_mode(None) == "dry_run"
    with pytest.raises(ConfigurationError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        execution.require_keys(None, None)


def test_alpaca_py_internals_the_broker_relies_on():
    """PaperBroker mounts its adapter on ``TradingClient._session`` (a requests Session) and
    switches off ``TradingClient._retry``: both private in alpaca-py."""
    import requests
    from alpaca.trading.client import TradingClient

    client = TradingClient("k", "s", paper=True, raw_data=True, url_override="http://127.0.0.1:9")
    assert isinstance(client._session, requests.Session)
    assert isinstance(client._retry, int)


def test_an_open_order_blocks_a_new_one_for_its_symbol_and_reconciliation_waits(server):
    server.scenarios["ETH/USDT"] = ["accepted"]  # accepted, not filled yet
    broker = broker_for(server)
    first = run_once(server, broker, {"ETH/USDT": 0.2})
    assert row(first, "ETH/USDT")["status"] == "accepted"
    later = BAR.replace(hour=15)  # the next bar's signal while that order is still open
    newest = targets({"ETH/USDT": 0.3}).with_columns(pl.lit(later).alias("ts"))
    second = paper.place_orders(
        newest, first.orders, mode="paper", broker=broker, rules=RULES, timeframes=["1h"],
        dry_run_equity=0.0, now=NOW, run_id="run-2",
    )  # fmt: skip
    new = second.orders.filter(pl.col("bar_ts") == later).row(0, named=True)
    assert new["status"] == "skipped" and "is still open at the broker" in new["reason"]
    assert len(server.posts()) == 1
    frame = book.positions_frame(broker.positions(), second.orders, 103_820.56, 0, "paper", NOW)
    passed, details = book.reconcile(frame, second.orders, 0.005, RULES)
    assert passed and details["pending"] == ["ETH/USDT"]


def test_switching_from_dry_run_to_paper_sends_the_current_bar(server):
    dry = paper.place_orders(
        targets({"ETH/USDT": 0.2}), pl.DataFrame(schema=ORDERS_SCHEMA), mode="dry_run",
        broker=None, rules=RULES, timeframes=["1h"], dry_run_equity=100_000.0, now=NOW,
        run_id="run-0",
    )  # fmt: skip
    assert row(dry, "ETH/USDT")["status"] == "dry_run" and server.requests == []
    live = run_once(server, broker_for(server), {"ETH/USDT": 0.2}, stored=dry.orders)
    eth = row(live, "ETH/USDT")
    assert (eth["mode"], eth["status"]) == ("paper", "filled")
    assert eth["client_order_id"] == row(dry, "ETH/USDT")["client_order_id"]
    assert len(server.posts()) == 1
