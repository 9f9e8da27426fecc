"""Real bars for the ML tests: ETH/BTC 1h (Binance 2023) and ORCL daily, with Alpha158 and
labels computed by the project's own feature code (the columns of features.training_table)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from trading_assets.features import alpha158, labels
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader

COLS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "vwap")


def training_rows(bars: pl.DataFrame) -> pl.DataFrame:
    """Alpha158 + labels of one series, as in features.training_table."""
    return alpha158.alpha158(bars).join(labels.labels(bars), on=["symbol", "timeframe", "ts"])


@pytest.fixture(scope="session")
def crypto_1h(shared_data: Path) -> dict[str, pl.DataFrame]:
    folder = shared_data / "crypto" / "binance_spot_2023"
    return {
        s: FreqtradeJsonReader(folder / f"{s.replace('/', '_')}-1h.json").read().select(COLS)
        for s in ("ETH/USDT", "BTC/USDT")
    }


@pytest.fixture(scope="session")
def table_1h(crypto_1h) -> pl.DataFrame:
    return pl.concat([training_rows(b) for b in crypto_1h.values()])
