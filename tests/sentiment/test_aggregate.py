"""Sentiment bars: boundaries, novelty, and no look-ahead (a property over many cut-offs)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.files import discover_news_files, read_news_file
from trading_assets.news.tagging import TickerTagger, load_aliases
from trading_assets.sentiment.aggregate import aggregate_sentiment, article_novelty

TF = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def real_articles(shared_data) -> pl.DataFrame:
    """The Yahoo articles (exact times) and the CNBC headlines (end-of-day stamps), tagged."""
    records = []
    for path, kind in discover_news_files(shared_data / "news"):
        if kind == "yahoo_json" or path.name.startswith("cnbc"):
            records += read_news_file(path, kind, fetched_at=NOW).records
    tagger = TickerTagger(["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "SPY"], load_aliases())
    return dedupe(tagger.tag_frame(articles_frame(records)))


def fake_scores(articles: pl.DataFrame) -> pl.DataFrame:
    """Deterministic scores in [-1, 1] per article (the property is about aggregation)."""
    values = [
        int(hashlib.sha256(a.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * 2 - 1
        for a in articles["article_id"]
    ]
    labels = ["positive" if v > 0.3 else "negative" if v < -0.3 else "neutral" for v in values]
    return pl.DataFrame(
        {
            "article_id": articles["article_id"],
            "method": "lexicon",
            "model_version": "v",
            "score": values,
            "label": labels,
        }
    )


def test_no_look_ahead(real_articles):
    scores = fake_scores(real_articles)
    full = aggregate_sentiment(real_articles, scores)
    assert full.height > 100 and set(full["timeframe"]) == {"1h", "1d"}
    times = real_articles["published_at"].sort().to_list()
    rng = random.Random(7)
    cutoffs = [times[0], times[-1] + timedelta(seconds=1)]
    cutoffs += [t + timedelta(microseconds=d) for t in rng.sample(times, 25) for d in (0, 1)]
    cutoffs += [datetime(2025, 12, 23, 15, tzinfo=UTC), datetime(2019, 6, 1, tzinfo=UTC)]
    for cutoff in cutoffs:
        seen = real_articles.filter(pl.col("published_at") < cutoff)
        partial = aggregate_sentiment(seen, scores)
        for timeframe, length in TF.items():
            done = (pl.col("timeframe") == timeframe) & (pl.col("ts") + length <= cutoff)
            # every bar closed by the cut-off is identical whether or not later news exists
            assert partial.filter(done).equals(full.filter(done)), (cutoff, timeframe)


def test_bar_boundaries_and_counts():
    close = datetime(2025, 12, 22, 15, tzinfo=UTC)
    frame = articles_frame(
        [
            {
                "published_at": close - timedelta(microseconds=1),
                "source": "rss",
                "title": "Apple beats",
                "tickers": ["AAPL"],
                "url": "http://a/1",
            },
            {
                "published_at": close,
                "source": "rss",
                "title": "Apple misses",
                "tickers": ["AAPL"],
                "url": "http://a/2",
            },
            {
                "published_at": close,
                "source": "rss",
                "title": "Fed holds",
                "tickers": [],
                "url": "http://a/3",
            },
        ]
    )
    scores = pl.DataFrame(
        {
            "article_id": frame["article_id"],
            "method": "ml",
            "model_version": "m1",
            "score": [0.5, -1.0, 0.2],
            "label": ["positive", "negative", "positive"],
        }
    )
    bars = aggregate_sentiment(frame, scores, timeframes=["1h"])
    assert bars["ts"].to_list() == [close - timedelta(hours=1), close]  # the close belongs next
    assert bars["symbol"].to_list() == ["AAPL", "AAPL"]  # untagged news is in no bar
    assert bars["count"].to_list() == [1, 1]
    assert bars["positive_share"].to_list() == [1.0, 0.0]
    assert bars["negative_share"].to_list() == [0.0, 1.0]
    daily = aggregate_sentiment(frame, scores, timeframes=["1d"])
    assert daily.row(0, named=True) | {"novelty": None} == {
        "symbol": "AAPL",
        "timeframe": "1d",
        "ts": datetime(2025, 12, 22, tzinfo=UTC),
        "method": "ml",
        "model_version": "m1",
        "mean_score": -0.25,
        "count": 2,
        "positive_share": 0.5,
        "negative_share": 0.5,
        "novelty": None,
    }
    with pytest.raises(ValueError, match="timeframe"):
        aggregate_sentiment(frame, scores, timeframes=["5m"])


def test_novelty_of_repeated_and_new_headlines():
    t = datetime(2025, 12, 22, 9, tzinfo=UTC)
    rows = [
        (t, "Nvidia unveils new AI chip for data centers", "1"),
        (t + timedelta(hours=1), "Nvidia unveils new AI chip for data centers", "2"),  # repeat
        (t + timedelta(hours=2), "Nvidia shares slide on export curbs", "3"),
        (t + timedelta(hours=30), "Nvidia unveils new AI chip for data centers", "4"),  # > 24 h
        (t, "Nvidia unveils new AI chip for data centers", "5"),  # same instant as 1
    ]
    frame = articles_frame(
        [
            {
                "published_at": p,
                "source": "rss",
                "title": title,
                "tickers": ["NVDA"],
                "url": f"http://n/{i}",
            }
            for p, title, i in rows
        ]
    )
    by_url = dict(
        article_novelty(frame)
        .join(frame.select("article_id", "url"), on="article_id")
        .select("url", "novelty")
        .iter_rows()
    )
    assert len(by_url) == 5  # computed for every article
    assert by_url["http://n/1"] == 1.0 and by_url["http://n/5"] == 1.0  # nothing before
    assert by_url["http://n/2"] == 0.0  # a repeat within 24 h
    assert 0.0 < by_url["http://n/3"] < 1.0  # shares some words
    assert by_url["http://n/4"] == 1.0  # the earlier ones are out of the window
