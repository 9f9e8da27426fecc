"""Real bar series for the feature tests, read with the project's own readers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from trading_assets.sources.demo import DEMO_FILES, _arch_data_dir, read_demo_csv
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.sources.files.yahoo_csv import YahooCsvReader


def _staging(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        "symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "vwap"
    )


@pytest.fixture(scope="session")
def crypto_dir(shared_data: Path) -> Path:
    return shared_data / "crypto" / "binance_spot_2023"


@pytest.fixture(scope="session")
def eth_1m(crypto_dir: Path) -> pl.DataFrame:
    """ETH/USDT 1m, 66,087 bars 2023-03-16 .. 2023-05-01, with the 24 Mar trading halt gap."""
    return _staging(FreqtradeJsonReader(crypto_dir / "ETH_USDT-1m.json").read())


@pytest.fixture(scope="session")
def btc_1m(crypto_dir: Path) -> pl.DataFrame:
    return _staging(FreqtradeJsonReader(crypto_dir / "BTC_USDT-1m.json").read())


@pytest.fixture(scope="session")
def eth_1h(crypto_dir: Path) -> pl.DataFrame:
    return _staging(FreqtradeJsonReader(crypto_dir / "ETH_USDT-1h.json").read())


@pytest.fixture(scope="session")
def orcl_1d(shared_data: Path) -> pl.DataFrame:
    """ORCL daily 1995-2014 (Yahoo CSV), 5,036 sessions."""
    path = shared_data / "equities" / "daily" / "orcl-1995-2014.txt"
    return _staging(YahooCsvReader(path, symbol="ORCL", timeframe="1d").read())


@pytest.fixture(scope="session")
def gspc_1d() -> pl.DataFrame:
    """^GSPC daily 1999-2018 from the demo data shipped by ``arch``."""
    bars = read_demo_csv(_arch_data_dir() / DEMO_FILES["^GSPC"], "^GSPC")
    return _staging(bars.with_columns(pl.lit(None, dtype=pl.Float64).alias("vwap")))
