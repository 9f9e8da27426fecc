"""Sentiment features: as-of join of sentiment_agg buckets, zero-filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading_assets.features.sentiment import (
    NAMES,
    find_sentiment_table,
    normalize_sentiment_agg,
    sentiment_features,
)


def _agg() -> pl.DataFrame:
    """Rows shaped like the news pipeline's features.sentiment_agg."""
    t0 = datetime(2023, 4, 1, 10, tzinfo=UTC)
    return pl.DataFrame(
        {
            "symbol": ["ETH/USDT"] * 5,
            "timeframe": ["1h", "1h", "1h", "1d", "1h"],
            "ts": [t0, t0 + timedelta(hours=1), t0, datetime(2023, 4, 1, tzinfo=UTC), t0],
            "method": ["ml", "ml", "lexicon", "ml", "ml"],
            "model_version": ["a", "a", "lm", "a", "old"],
            "mean_score": [0.5, -0.25, 0.9, 0.1, -1.0],
            "count": [3, 1, 3, 10, 2],
            "positive_share": [0.6, 0.0, 1.0, 0.3, 0.0],
            "negative_share": [0.1, 1.0, 0.0, 0.2, 1.0],
            "novelty": [0.8, 0.5, 0.8, 0.4, 0.1],
        }
    )


def test_normalizes_the_news_pipeline_table():
    agg, problem = normalize_sentiment_agg(_agg())
    assert problem is None
    assert set(agg["granularity"]) == {"1h", "1d"}
    assert agg.filter(pl.col("granularity") == "1h").height == 2  # method ml, latest version
    assert agg["count"].dtype == pl.Float64


def test_each_bar_sees_the_last_bucket_closed_when_it_closed(eth_1m):
    bars = eth_1m.filter(
        pl.col("ts").is_between(
            datetime(2023, 4, 1, 9, tzinfo=UTC), datetime(2023, 4, 2, 3, tzinfo=UTC)
        )
    )
    agg, _ = normalize_sentiment_agg(_agg())
    out = sentiment_features(bars, agg)
    assert out.height == bars.height and all(out[n].null_count() == 0 for n in NAMES)

    def at(hh, mm, day=1):
        return out.filter(pl.col("ts") == datetime(2023, 4, day, hh, mm, tzinfo=UTC)).row(
            0, named=True
        )

    assert at(10, 58)["sent_1h_count"] == 0  # the 10:00 hour is still open at 10:59
    assert at(10, 59)["sent_1h_mean"] == 0.5  # closes at 11:00, with the 10:00 bucket
    assert at(11, 59)["sent_1h_mean"] == -0.25
    assert at(12, 59)["sent_1h_count"] == 0  # no news in the 12:00 hour: zero, not stale
    assert at(23, 58)["sent_1d_count"] == 0 and at(23, 59)["sent_1d_count"] == 10
    assert at(2, 0, day=2)["sent_1d_mean"] == 0.1


def test_no_table_or_an_unusable_one_gives_zeros(eth_1m):
    bars = eth_1m.head(100)
    zeros = sentiment_features(bars, None)
    assert zeros.height == 100 and all(zeros[n].sum() == 0 for n in NAMES)
    agg, problem = normalize_sentiment_agg(pl.DataFrame({"symbol": ["X"], "what": [1]}))
    assert agg.height == 0 and "no column" in problem
    assert find_sentiment_table(["ml.sentiment_agg", "raw.news"]) == "ml.sentiment_agg"
    assert find_sentiment_table(["raw.news"]) is None


@pytest.mark.parametrize("column", ["hour", "bucket_start"])
def test_other_spellings_are_recognised(column):
    frame = pl.DataFrame(
        {
            "ticker": ["AAPL"],
            column: [datetime(2025, 12, 22, 15, tzinfo=UTC)],
            "avg_score": [0.2],
            "n_articles": [4],
        }
    )
    agg, problem = normalize_sentiment_agg(frame)
    assert problem is None and agg["granularity"].to_list() == ["1h"]
