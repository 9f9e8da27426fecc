"""Ingestion schedules: one run per symbol of the schedule's market, live profile only."""

import dagster as dg

from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.prices.schedules import build_ingestion_schedules, scheduled_requests

TICK = "2026-11-23T15:00:00+00:00"


def test_each_market_tick_requests_its_own_symbols_and_registers_them(shared_data):
    instance = dg.DagsterInstance.ephemeral()
    sources = PriceSourcesResource(profile="local", data_dir=str(shared_data))
    crypto = scheduled_requests(instance, sources, "crypto", TICK)
    equity = scheduled_requests(instance, sources, "equity", TICK)
    crypto_symbols = {r.partition_key for r in crypto}
    equity_symbols = {r.partition_key for r in equity}
    assert crypto_symbols == {"BTC/USDT", "ETH/USDT", "XRP/ETH"}
    assert {"SPY", "ORCL", "AAPL"} <= equity_symbols and not equity_symbols & crypto_symbols
    assert crypto_symbols | equity_symbols == set(instance.get_dynamic_partitions(SYMBOLS.name))
    assert len({r.run_key for r in crypto}) == len(crypto)  # one run per symbol per tick


def test_demo_has_no_crypto_to_schedule():
    sources = PriceSourcesResource(profile="demo")
    result = scheduled_requests(dg.DagsterInstance.ephemeral(), sources, "crypto", TICK)
    assert isinstance(result, dg.SkipReason)


def test_schedules_run_by_default_only_on_live_in_their_market_hours():
    crypto, equity = build_ingestion_schedules("live")
    assert {crypto.default_status, equity.default_status} == {dg.DefaultScheduleStatus.RUNNING}
    assert crypto.cron_schedule == "*/15 * * * *" and crypto.execution_timezone == "UTC"
    assert equity.cron_schedule == "*/15 9-16 * * 1-5"
    assert equity.execution_timezone == "America/New_York"
    assert {s.default_status for s in build_ingestion_schedules("demo")} == {
        dg.DefaultScheduleStatus.STOPPED
    }
