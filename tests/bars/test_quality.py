"""Bar quality measures on real daily index data (arch's S&P 500, 1999-2018)."""

from datetime import UTC, datetime, timedelta

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


def test_gaps_know_weekends_and_holidays_but_see_the_9_11_closure(spx):
    gaps = quality.gaps(spx, US_EQUITY).metadata["gaps"]["1d"]
    # markets closed 2001-09-11..14: four weekdays, the largest closure in the series
    assert gaps["largest_missing_weekdays"] == 4
    assert gaps["largest_after"] == "2001-09-10"
    # weekends and single-day holidays are not gaps: only a handful of multi-day closures
    assert 1 <= gaps["count"] <= 5


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
    assert measures["reconciles"].metadata == {"by_timeframe": report}
    enforced = quality.measure_bars(spx, US_EQUITY, report, enforce_freshness=True, now=now)
    assert not enforced["fresh"].passed
    assert not quality.reconciliation({"1d": {"price_match": 0.98}}).passed
