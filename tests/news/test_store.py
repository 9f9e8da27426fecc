"""``raw.news`` and ``ops.news_sources`` through :mod:`trading_assets.news.store`, on a
warehouse file with real Yahoo articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.news.feed_server import yahoo_articles
from trading_assets.news import store
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.ingest import NewsBatch, SourceReport
from trading_assets.schemas import UTC_TS
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import WriteResult, transaction

NOW = datetime(2025, 12, 27, 12, tzinfo=UTC)


def _batch(articles, source: str = "alpaca", **report) -> NewsBatch:
    records = [
        {
            "published_at": datetime.fromisoformat(a["publishedAt"].replace("Z", "+00:00")),
            "source": source,
            "publisher": a["publisher"],
            "title": a["title"],
            "summary": None,
            "url": a["url"],
            "tickers": [a["symbol"]],
            "fetched_at": NOW,
        }
        for a in articles
    ]
    reports = [SourceReport(origin="https://data.example/news", kind=source, **report)]
    return NewsBatch(
        articles=dedupe(articles_frame(records)), reports=reports, records=len(records)
    )


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as connection:  # session time zone UTC
        yield connection


def test_state_of_an_empty_warehouse_creates_the_tables(con):
    state = store.read_source_state(con)
    assert state.validators == {} and state.fingerprints == {} and state.latest_alpaca is None
    assert store.news_health(con, NOW) == store.NewsHealth(0, 0, 0, 0)
    assert store.news_health(con, NOW).untagged_share == 0.0


def test_write_batch_twice_changes_nothing_and_state_follows(con, shared_data):
    articles = yahoo_articles(shared_data, "AAPL")[:6]
    store.read_source_state(con)
    batch = _batch(articles, status="ok", etag='"v1"', last_modified="Tue")
    with transaction(con):
        first = store.write_batch(con, batch, NOW)
    assert first.inserted == first.rows == batch.articles.height
    with transaction(con):
        again = store.write_batch(con, batch, NOW)
    assert again.inserted == again.updated == 0 and again.data_version == first.data_version

    state = store.read_source_state(con)
    assert state.validators == {"https://data.example/news": ('"v1"', "Tue")}
    newest = max(batch.articles["published_at"].to_list())
    assert state.latest_alpaca == newest

    health = store.news_health(con, NOW)
    assert health.rows == first.rows and health.duplicate_ids == 0 and health.untagged == 0
    assert store.per_source(con).to_dicts()[0]["articles"] == first.rows
    latest = store.latest_articles(con, n=3)
    assert latest.height == 3 and latest["published_at"].is_sorted()
    assert latest["published_at"][-1] == newest


def test_health_counts_future_and_untagged_rows(con, shared_data):
    store.read_source_state(con)
    (article,) = yahoo_articles(shared_data, "MSFT")[:1]
    batch = _batch([article], status="ok")
    future = NOW + store.FUTURE_TOLERANCE + timedelta(minutes=1)
    batch.articles = batch.articles.with_columns(
        pl.lit(future, dtype=UTC_TS).alias("published_at"),
        pl.lit([], dtype=pl.List(pl.String)).alias("tickers"),
    )
    store.write_batch(con, batch, NOW)
    health = store.news_health(con, NOW)
    assert (health.in_future, health.untagged, health.untagged_share) == (1, 1, 1.0)


def test_summary_sentences():
    none = WriteResult(0, 0, 0, 0, "0-0")
    assert "zero articles" in store.news_summary(0, none)
    assert store.news_summary(2, none).startswith("2 news sources configured, but none")
    assert store.news_summary(3, WriteResult(4, 1, 0, 9, "9-x")) == (
        "4 new and 1 updated articles from 3 sources; 9 stored."
    )
