"""Ingestion schedules: one run per symbol of the schedule's market, live profile only."""

from datetime import UTC, datetime

import dagster as dg

from trading_assets.defs.prices.schedules import build_ingestion_schedules
from trading_assets.defs.resources import PriceSourcesResource


def _requests(schedule: dg.ScheduleDefinition, resources: dict) -> list[dg.RunRequest]:
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            resources=resources,
            scheduled_execution_time=datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
        )
        result = schedule(context)
    return [] if isinstance(result, dg.SkipReason) else list(result)


def test_each_market_schedule_requests_its_own_symbols(shared_data):
    crypto, equity = build_ingestion_schedules("local")
    resources = {"price_sources": PriceSourcesResource(profile="local", data_dir=str(shared_data))}
    crypto_symbols = {r.partition_key for r in _requests(crypto, resources)}
    equity_symbols = {r.partition_key for r in _requests(equity, resources)}
    assert crypto_symbols == {"BTC/USDT", "ETH/USDT", "XRP/ETH"}
    assert {"SPY", "ORCL", "AAPL"} <= equity_symbols and not equity_symbols & crypto_symbols
    assert equity.execution_timezone == "America/New_York"


def test_schedules_run_by_default_only_on_live():
    assert {s.default_status for s in build_ingestion_schedules("demo")} == {
        dg.DefaultScheduleStatus.STOPPED
    }
    assert {s.default_status for s in build_ingestion_schedules("live")} == {
        dg.DefaultScheduleStatus.RUNNING
    }
    demo_crypto, _ = build_ingestion_schedules("demo")
    resources = {"price_sources": PriceSourcesResource(profile="demo")}
    assert _requests(demo_crypto, resources) == []  # the demo has no crypto symbols
