"""Real BTC/USDT and ETH/USDT closes shared by the warehouse tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from trading_assets.features import joins
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader


@pytest.fixture(scope="session")
def btc_eth_closes(shared_data: Path) -> pl.DataFrame:
    """``symbol, timeframe, ts, close`` of BTC/USDT and ETH/USDT 1h and 5m bars (Binance
    2023), sorted."""
    folder = shared_data / "crypto" / "binance_spot_2023"
    return pl.concat(
        FreqtradeJsonReader(folder / f"{s.replace('/', '_')}-{tf}.json").read()
        .select(*joins.KEY, "close")
        for s in ("BTC/USDT", "ETH/USDT")
        for tf in ("1h", "5m")
    ).sort(joins.KEY)  # fmt: skip
