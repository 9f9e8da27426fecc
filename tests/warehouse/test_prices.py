"""Reads of the price tables, and the universal stream view built over them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from trading_assets import schemas
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.prices import read_raw_prices, read_staging_bars
from trading_assets.warehouse.stream import DEFAULT_STREAM, build_universal_stream
from trading_assets.warehouse.writes import replace_scope


def test_reads_create_missing_tables_and_sort_by_key(tmp_path: Path, shared_data: Path):
    folder = shared_data / "crypto" / "binance_spot_2023"
    with connect(tmp_path / "w.duckdb") as con:
        bars, ticks = read_raw_prices(con, "ETH/USDT")
        assert bars.height == ticks.height == 0 and bars.columns == list(schemas.BARS_SCHEMA)
        assert read_staging_bars(con).columns == ["symbol", "timeframe", "ts"]
        for name in ("ETH_USDT-1h.json", "BTC_USDT-1h.json"):
            frame = FreqtradeJsonReader(folder / name).read().head(30)
            frame = frame.with_columns(pl.lit(1, dtype=pl.Int64).alias("n_parts"))
            frame = frame.select(list(schemas.STAGING_BARS_SCHEMA)).reverse()
            symbol = frame["symbol"][0]
            replace_scope(con, "staging.bars", frame, {"symbol": symbol})
        every = read_staging_bars(con, None, ["symbol", "timeframe", "ts", "close"])
        assert every["symbol"].unique(maintain_order=True).to_list() == ["BTC/USDT", "ETH/USDT"]
        eth = read_staging_bars(con, "ETH/USDT")
        assert eth.height == 30 and eth["ts"].is_sorted()

        view = build_universal_stream(con, list(DEFAULT_STREAM))
        assert [s.name for s in view.resolved] == ["ETH 1h"]
        assert view.missing == ["ETH ticks", "ETH 1m", "ETH 1d", "BTC ticks"]
        assert view.rows == 30 and view.counts.rows()[0][:3] == ("ETH 1h", "ETH/USDT", 30)
        assert build_universal_stream(con, list(DEFAULT_STREAM)).data_version == view.data_version
