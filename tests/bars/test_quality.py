"""Bar quality measures on real daily index data (arch's S&P 500, 1999-2018)."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from trading_assets.bars import quality
from trading_assets.markets import CRYPTO, US_EQUITY
from trading_assets.sources.demo import DemoSource


@pytest.fixture(scope="module")
def spx() -> pl.DataFrame:
    (item,) = DemoSource().items(["^GSPC"])
    return item.load()


def test_real_index_bars_are_consistent(spx):
    assert quality.ohlc_consistency(spx).passed
    assert quality.positive_prices_and_volume(spx).passed
    assert quality.unique_keys(spx).passed


def test_inconsistent_bar_is_reported_with_its_timestamp(spx):
    broken = spx.with_columns(
        pl.when(pl.col("ts") == datetime(2008, 10, 10, tzinfo=UTC))
        .then(pl.col("low") - 1)  # high below close
        .otherwise(pl.col("high"))
        .alias("high")
    )
    result = quality.ohlc_consistency(broken)
    assert not result.passed
    assert result.metadata["violations"] == 1
    assert result.metadata["examples"][0]["ts"].startswith("2008-10-10")


def test_gaps_know_weekends_holidays_and_closures_from_the_calendar(spx):
    # 1999-2018: weekends, holidays and the closures of 2001-09-11..14, 2004-06-11,
    # 2007-01-02 and 2012-10-29..30 are not sessions, so the real series has no gap
    gaps = quality.gaps(spx, US_EQUITY).metadata["gaps"]["1d"]
    assert gaps == {"count": 0, "largest_missing_sessions": 0, "largest_after": None}
    assert spx.filter(pl.col("ts").dt.date() == date(2001, 9, 11)).height == 0
    # a session missing from the data is a gap
    dropped = spx.filter(pl.col("ts").dt.date() != date(2008, 10, 10))
    gaps = quality.gaps(dropped, US_EQUITY).metadata["gaps"]["1d"]
    assert gaps == {"count": 1, "largest_missing_sessions": 1, "largest_after": "2008-10-09"}


def test_intraday_gaps_stop_at_the_early_close(shared_data):
    """Yahoo SPY minutes of 2025-12-24 (13:00 New York close, then post-market minutes): only
    minutes missing inside the regular session are gaps."""
    from trading_assets.sources.files.yahoo_chart import YahooChartReader

    path = shared_data / "equities/minute/yahoo_snapshots_2025-12/SPY/1m_20251226.json"
    minutes = YahooChartReader(path).read()
    day = minutes.filter(pl.col("ts").dt.date() == date(2025, 12, 24))
    # the file's regular minutes stop at 17:45 UTC: 17:46-17:59 are missing, one real gap
    gaps = quality.gaps(day, US_EQUITY).metadata["gaps"]["1m"]
    assert gaps == {"count": 1, "largest": "0:14:00", "largest_after": "2025-12-24 17:45:00+00:00"}
    # derived variant: half an hour of post-market minutes (14:00-14:30 New York) removed;
    # that hour is after the 13:00 close, so it is not a gap
    hole = pl.col("ts").is_between(
        datetime(2025, 12, 24, 19, tzinfo=UTC), datetime(2025, 12, 24, 19, 30, tzinfo=UTC)
    )
    assert day.filter(hole).height == 31
    assert quality.gaps(day.filter(~hole), US_EQUITY).metadata["gaps"]["1m"] == gaps


def test_crypto_gap_is_any_missing_bar(spx):
    bars = spx.head(10).with_columns(pl.lit("1d").alias("timeframe"))
    gaps = quality.gaps(bars, CRYPTO).metadata["gaps"]["1d"]
    assert gaps["count"] >= 1  # weekends are gaps for a 24/7 market


def test_crash_is_not_a_bad_print_but_a_reverting_spike_is(spx):
    # October 2008 moved the index 9% a day: real, and not flagged
    assert quality.outlier_jumps(spx).passed
    spike_day = datetime(2010, 6, 15, tzinfo=UTC)
    spiked = spx.with_columns(
        pl.when(pl.col("ts") == spike_day).then(pl.col("close") * 1.5).otherwise(pl.col("close"))
    )
    result = quality.outlier_jumps(spiked)
    assert not result.passed
    assert result.metadata["largest"][0]["ts"].startswith("2010-06-15")


def test_split_cliff_is_flagged(spx):
    cliff = spx.with_columns(
        pl.when(pl.col("ts") >= datetime(2015, 1, 2, tzinfo=UTC))
        .then(pl.col("close") / 4)
        .otherwise(pl.col("close"))
    )
    result = quality.outlier_jumps(cliff)
    assert not result.passed and result.metadata["jumps"] == 1


def test_freshness_reports_lag_and_enforces_only_when_asked(spx):
    now = datetime(2019, 1, 10, tzinfo=UTC)
    historical = quality.freshness(spx, now, None)
    assert historical.passed and historical.metadata["timeframes"]["1d"]["lag_hours"] > 24
    enforced = quality.freshness(spx, now, {"1d": timedelta(days=4)})
    assert not enforced.passed
    assert quality.freshness(
        spx, datetime(2019, 1, 2, tzinfo=UTC), {"1d": timedelta(days=4)}
    ).passed


def test_every_measure_of_staging_bars_by_check_name(spx):
    now = datetime(2019, 1, 10, tzinfo=UTC)
    report = {"1d": {"overlap": 10, "price_match": 1.0}, "1h": {"overlap": 0, "price_match": None}}
    measures = quality.measure_bars(spx, US_EQUITY, report, now=now)
    assert list(measures) == [
        "ohlc_consistent",
        "prices_positive",
        "unique_keys",
        "gaps",
        "outlier_jumps",
        "splits",
        "fresh",
        "reconciles",
    ]
    assert measures["fresh"].passed and measures["reconciles"].passed
    assert measures["reconciles"].metadata == {
        "timeframes_compared": len(report), "timeframes_disagreeing": 0, "by_timeframe": report
    }  # fmt: skip
    enforced = quality.measure_bars(spx, US_EQUITY, report, enforce_freshness=True, now=now)
    assert not enforced["fresh"].passed
    assert not quality.reconciliation({"1d": {"price_match": 0.98}}).passed
