"""The live profile through Dagster: Alpaca bars ingested from a replay server on 127.0.0.1."""

from datetime import UTC, datetime

import dagster as dg
import httpx
import pytest

from tests.sources.alpaca_replay import ReplayServer, load_captures, split_pages
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import raw_bars, raw_ticks
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.prices.staging import staging_bars
from trading_assets.defs.resources import WarehouseResource
from trading_assets.sdk import Warehouse


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real_send = httpx.Client.send

    def send(self, request, *args, **kwargs):
        assert request.url.host == "127.0.0.1", f"test tried to reach {request.url.host}"
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)


def test_live_bars_paginated_and_retried_land_once(tmp_path, shared_data):
    capture = load_captures(shared_data, "stock")["test_get_bars"]
    with ReplayServer() as server:
        route = server.add(capture.route(pages=split_pages(capture.body, 2), statuses=[429]))
        sources = PriceSourcesResource(
            profile="live",
            alpaca_data_url=server.url,
            alpaca_api_key="test-key",
            alpaca_secret_key="test-secret",
            stock_symbols=["AAPL"],
            crypto_symbols=[],
            timeframes=["1d"],
            lookback_days=4000,
        )
        resources = {
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "price_sources": sources,
        }
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(SYMBOLS.name, ["AAPL"])
        assets = [raw_bars, raw_ticks, staging_bars]

        run = {"instance": instance, "partition_key": "AAPL", "resources": resources}
        first = dg.materialize(assets, **run)
        requests_after_first = len(server.requests_to(route.path))
        second = dg.materialize(assets, **run)

    # one 429, then two pages; the second run re-requests (an open-ended live window) but
    # stores nothing new and keeps the data version
    assert requests_after_first == 3
    versions = [
        r.get_asset_materialization_events()[0].materialization.tags["dagster/data_version"]
        for r in (first, second)
    ]
    assert versions[0] == versions[1]
    meta = second.get_asset_materialization_events()[0].materialization.metadata
    assert meta["rows_inserted"].value == 0 and meta["rows_updated"].value == 0

    bars = Warehouse(tmp_path / "w.duckdb").bars("AAPL", "1d")
    assert bars.height == len(capture.body["bars"]["AAPL"])
    feb1 = bars.filter(bars["ts"] == datetime(2022, 2, 1, tzinfo=UTC))
    assert feb1["close"].item() == pytest.approx(174.61)
    assert feb1["source"].item() == "alpaca:split"  # split-adjusted by default, recorded
