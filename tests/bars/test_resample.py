"""Resampling on real data: derived bars must equal the exchange's own coarser bars."""

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from trading_assets.bars.resample import (
    build_staging_bars,
    reconcile,
    resample_bars,
    ticks_to_bars,
)
from trading_assets.markets import CRYPTO, US_EQUITY
from trading_assets.schemas import TICKS_SCHEMA
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.sources.files.lean_csv import LeanCsvReader

KEY = ["ts", "open", "high", "low", "close"]


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> dict[str, pl.DataFrame]:
    base = shared_data / "crypto" / "binance_spot_2023"
    return {
        tf: FreqtradeJsonReader(base / f"ETH_USDT-{tf}.json").read() for tf in ("1m", "5m", "1h")
    }


def test_1m_to_5m_equals_binance_5m_bar_for_bar(eth):
    derived = resample_bars(eth["1m"], "5m", CRYPTO)
    source = eth["5m"]
    assert derived.height == source.height == 13_217
    joined = source.join(derived, on="ts", suffix="_d")
    assert joined.height == 13_217
    for col in ("open", "high", "low", "close"):
        assert (joined[col] == joined[f"{col}_d"]).all(), col
    assert (joined["volume"] - joined["volume_d"]).abs().max() < 1e-6
    assert (derived["n_parts"] <= 5).all() and derived["source"][0] == "resampled:1m"


def test_1m_to_1h_reconciles_with_binance_1h(eth):
    derived = resample_bars(eth["1m"], "1h", CRYPTO)
    stats = reconcile(eth["1h"], derived)
    assert stats["overlap"] == 719 and stats["price_match"] == 1.0
    assert stats["volume_match"] == 1.0


def test_incomplete_buckets_are_dropped_and_the_halt_is_kept(eth):
    hours = resample_bars(eth["1m"], "1h", CRYPTO)
    # the file starts at 22:15: the 22:00 hour is partial and must not appear
    assert hours["ts"].min() == datetime(2023, 3, 16, 23, tzinfo=UTC)
    # the file ends at 21:01 (bar open), the 21:00 hour is not complete
    assert hours["ts"].max() == datetime(2023, 5, 1, 20, tzinfo=UTC)
    # the Binance halt on 2023-03-24 (no candles 12:39..14:00) leaves a thin 13:00 bar
    halt = hours.filter(pl.col("ts") == datetime(2023, 3, 24, 13, tzinfo=UTC))
    assert halt.height == 0 or halt["n_parts"].item() < 60


def test_ticks_to_bars_from_real_trades(shared_data: Path):
    from trading_assets.sources.local_folder import LocalFolderSource

    items = LocalFolderSource(shared_data / "crypto" / "ticks").items(["ETH/USDT"])
    (ticks_item,) = [i for i in items if i.kind == "ticks"]
    ticks = ticks_item.load()
    assert ticks.height == 1000
    minutes = ticks_to_bars(ticks, "1m", CRYPTO)
    # trades 09:20:00.138 .. 09:23:27.493: the 09:20 minute starts before the first trade
    # (may have missed trades) and 09:23 is cut off: only 09:21 and 09:22 are complete
    assert minutes["ts"].to_list() == [
        datetime(2023, 2, 2, 9, 21, tzinfo=UTC),
        datetime(2023, 2, 2, 9, 22, tzinfo=UTC),
    ]
    inside = ticks.filter(
        (pl.col("ts") >= datetime(2023, 2, 2, 9, 21, tzinfo=UTC))
        & (pl.col("ts") < datetime(2023, 2, 2, 9, 22, tzinfo=UTC))
    )
    first = minutes.row(0, named=True)
    assert first["trades"] == inside.height
    assert first["volume"] == pytest.approx(inside["size"].sum())
    assert first["open"] == inside["price"][0] and first["close"] == inside["price"][-1]
    vwap = (inside["price"] * inside["size"]).sum() / inside["size"].sum()
    assert first["vwap"] == pytest.approx(vwap)


def test_equity_day_from_minutes_is_session_aware(shared_data: Path):
    minute_dir = shared_data / "equities" / "minute" / "lean_spy_2013-10"
    minutes = pl.concat(LeanCsvReader(p).read() for p in sorted(minute_dir.glob("*_trade.csv")))
    daily = LeanCsvReader(shared_data / "equities" / "daily" / "lean_spy_daily.csv").read()
    derived = resample_bars(minutes, "1d", US_EQUITY)
    # six sessions; each stamped 00:00 UTC of its New York date
    assert derived["ts"].dt.date().to_list() == [
        datetime(2013, 10, d).date() for d in (4, 7, 8, 9, 10, 11)
    ]
    # regular session only: 390 minutes at most, despite pre/post-market bars in the files
    assert (derived["n_parts"] <= 390).all()
    assert minutes.height > derived["n_parts"].sum()
    stats = reconcile(daily, derived, 5e-3, ("close",))
    assert stats["overlap"] == 6 and stats["price_match"] == 1.0


def test_staging_prefers_source_bars_and_fills_the_rest(eth):
    source = pl.concat([eth["1m"], eth["1h"]])
    staging, report = build_staging_bars(source, pl.DataFrame(schema=TICKS_SCHEMA), CRYPTO)
    by = staging.group_by("timeframe", "source").len()
    counts = {(r[0], r[1]): r[2] for r in by.iter_rows()}
    assert counts[("1m", "freqtrade_json")] == 66_087
    assert counts[("1h", "freqtrade_json")] == 719  # source bars kept as delivered
    assert counts[("1h", "resampled:1m")] > 0  # March hours filled from minutes
    assert counts[("5m", "resampled:1m")] == 13_217
    assert not staging.select(pl.struct("timeframe", "ts").is_duplicated().any()).item()
    assert report["1h"]["price_match"] == 1.0


def test_an_early_close_day_ends_at_the_calendars_close(shared_data: Path):
    """Yahoo SPY minutes of 2025-12-24, a 13:00 New York close (18:00 UTC), followed by
    post-market minutes until 22:00 UTC: the day is built from the regular session only."""
    from trading_assets.sources.files.yahoo_chart import YahooChartReader

    folder = shared_data / "equities"
    minutes = YahooChartReader(
        folder / "minute/yahoo_snapshots_2025-12/SPY/1m_20251226.json"
    ).read()
    day = minutes.filter(pl.col("ts").dt.date() == date(2025, 12, 24))
    regular = day.filter(pl.col("ts") < datetime(2025, 12, 24, 18, tzinfo=UTC))
    assert day.height > regular.height  # post-market minutes are in the file
    (derived,) = resample_bars(minutes, "1d", US_EQUITY).iter_rows(named=True)
    assert derived["ts"] == datetime(2025, 12, 24, tzinfo=UTC)
    assert derived["n_parts"] == regular.height and derived["close"] == regular["close"][-1]
    daily = YahooChartReader(folder / "daily/yahoo_snapshots_2025-12/SPY_1d_20251226.json").read()
    yahoo_close = daily.filter(pl.col("ts") == datetime(2025, 12, 24, tzinfo=UTC))["close"][0]
    assert derived["close"] == pytest.approx(yahoo_close, rel=5e-4)
