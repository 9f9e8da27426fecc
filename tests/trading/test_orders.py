"""Order intents from target weights: quantities per asset class, minimum notional, exposure
limits, the order id, and the dry-run book and costs built on them (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from trading_assets.schemas import ORDERS_SCHEMA
from trading_assets.trading import book, paper, trade_costs
from trading_assets.trading.orders import (
    Account,
    OrderRules,
    build_intents,
    client_order_id,
    limit_weights,
    round_qty,
)

BAR = datetime(2023, 5, 1, 14, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def _targets(rows: list[tuple[str, float, float]], age: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "timeframe": ["1d"] * len(rows),
            "ts": [BAR] * len(rows),
            "position": [r[1] for r in rows],
            "price": [r[2] for r in rows],
            "age_bars": [age] * len(rows),
        }
    )


def test_quantities_follow_the_asset_class():
    rules = OrderRules()
    assert round_qty(16.8974192329999, "crypto", rules) == 16.897419232  # 9 decimals, down
    assert round_qty(-3.99, "us_equity", rules) == -3.0  # whole shares toward zero
    fractional = OrderRules(fractional_equities=True)
    assert round_qty(118.9123456789, "us_equity", fractional) == 118.912345678
    assert round_qty(-2.5, "us_equity", fractional) == -2.0  # no fractional shorts
    assert round_qty(0.123456, "crypto", OrderRules(crypto_qty_decimals=4)) == 0.1234


def test_exposure_limits_clip_scale_and_never_short_crypto():
    weights, notes = limit_weights(
        {"AAPL": 0.9, "NVDA": -0.4, "ETH/USD": -0.3, "SPY": 0.3}, OrderRules()
    )
    # AAPL clipped to 0.5, ETH short -> 0, then gross 0.5 + 0.4 + 0.3 = 1.2 scaled to 1.0
    assert weights == pytest.approx(
        {"AAPL": 0.5 / 1.2, "NVDA": -0.4 / 1.2, "ETH/USD": 0.0, "SPY": 0.25}
    )
    assert notes == [
        "AAPL: weight 0.9 clipped to 0.5 (per-symbol limit)",
        "ETH/USD: short target -0.3 set to 0 (crypto cannot be sold short)",
        "gross exposure 1.2 scaled by 0.8333 to the limit 1",
    ]


def test_the_order_id_is_stable_per_strategy_symbol_and_bar():
    cid = client_order_id("consensus-1d", "ETH/USDT", BAR)
    assert cid == client_order_id("consensus-1d", "ETH/USDT", BAR)
    assert cid.startswith("ta-consensus-1d-ETHUSDT-20230501T1400-") and len(cid) <= 128
    assert cid != client_order_id("consensus-1h", "ETH/USDT", BAR)
    assert cid != client_order_id("consensus-1d", "ETHUSDT", BAR)  # the hash tells them apart
    assert cid != client_order_id("consensus-1d", "ETH/USDT", BAR.replace(hour=15))


def test_intents_size_skip_small_orders_and_trade_only_the_difference():
    account = Account(10_000.0, 10_000.0, {"AAPL": 10.0, "BTCUSD": 0.001})
    intents, _ = build_intents(
        _targets([("AAPL", 0.3, 174.61), ("BTC/USD", 0.0001, 28_412.5), ("NVDA", 0.2, 431.0)]),
        account, OrderRules(), mode="dry_run", now=NOW, run_id="r",
    )  # fmt: skip
    by = {r["symbol"]: r for r in intents.iter_rows(named=True)}
    # AAPL: 0.3 x 10,000 / 174.61 = 17.18 -> 17 whole shares; holds 10: buy 7
    assert (by["AAPL"]["target_qty"], by["AAPL"]["side"], by["AAPL"]["qty"]) == (17.0, "buy", 7.0)
    assert by["AAPL"]["status"] == "pending"
    # BTC: target 0.000035195 (9 decimals), held 0.001 (as BTCUSD): sell 0.000964805 ($27)
    assert by["BTC/USD"]["current_qty"] == 0.001 and by["BTC/USD"]["side"] == "sell"
    assert by["BTC/USD"]["qty"] == pytest.approx(0.000964805, abs=1e-12)
    # NVDA: 0.2 x 10,000 / 431 = 4.64 -> 4 shares
    assert by["NVDA"]["qty"] == 4.0
    tiny, _ = build_intents(
        _targets([("ETH/USD", 0.00005, 1843.25)]), Account(10_000.0, 10_000.0, {}), OrderRules(),
        mode="dry_run", now=NOW, run_id="r",
    )  # fmt: skip
    assert tiny["status"][0] == "skipped"
    assert tiny["reason"][0] == (
        "order of 0.00027126 worth 0.50 is below the minimum notional 1.00"
    )


def test_a_dry_run_book_costs_and_reconciles_without_a_broker():
    intents, _ = build_intents(
        _targets([("AAPL", 0.3, 174.61)]), Account(10_000.0, 10_000.0, {}), OrderRules(),
        mode="dry_run", now=NOW, run_id="r1",
    )  # fmt: skip
    run = paper.execute(intents, pl.DataFrame(schema=ORDERS_SCHEMA), mode="dry_run",
                        broker=None, market_open=None, now=NOW)  # fmt: skip
    assert run.sent == [] and run.orders["status"].to_list() == ["dry_run"]
    assert book.dry_run_positions(run.orders) == {"AAPL": 17.0}
    # the same intents again: the stored ids are kept, nothing executes twice
    again = paper.execute(
        intents, run.orders, mode="dry_run", broker=None, market_open=None, now=NOW
    )
    assert again.orders.height == 0
    costs = trade_costs.trade_costs(
        run.orders, paper.fills_of(run.orders),
        pl.DataFrame({"run_id": ["r1", "r1", "r0"], "cost_usd": [0.002, 0.001, 5.0]}), None,
    )  # fmt: skip
    row = costs.row(0, named=True)
    assert row["compute_usd"] == pytest.approx(0.003)  # only the run that made the order
    assert row["assumed_cost_usd"] == pytest.approx(17 * 174.61 * 7 / 1e4)  # 5 + 2 bps
    assert row["filled_notional"] is None and row["total_usd"] == pytest.approx(0.003)
