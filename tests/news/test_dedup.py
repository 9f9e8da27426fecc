"""Deduplication across sources and runs: nothing stored is lost, tickers merge."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.news.feed_server import yahoo_articles
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe, merge_stored

T1 = datetime(2025, 12, 23, tzinfo=UTC)
T2 = datetime(2025, 12, 24, tzinfo=UTC)


def _record(article, **changes):
    base = {
        "published_at": datetime.fromisoformat(article["publishedAt"].replace("Z", "+00:00")),
        "source": "yahoo_json",
        "publisher": article["publisher"],
        "title": article["title"],
        "summary": None,
        "url": article["url"],
        "tickers": [article["symbol"]],
        "fetched_at": T1,
    }
    return {**base, **changes}


def test_same_url_from_an_rss_feed_and_a_file_is_one_row(shared_data):
    article = yahoo_articles(shared_data, "NVDA")[0]
    from_file = _record(article)
    from_feed = _record(
        article,
        source="rss",
        url=article["url"].replace("https://", "http://") + "?utm_source=rss",
        tickers=["SPY"],
        summary="a summary only the feed had",
        fetched_at=T2,
    )
    frame = dedupe(articles_frame([from_feed, from_file]))
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["source"] == "yahoo_json"  # first seen (earliest fetch) wins
    assert row["tickers"] == ["NVDA", "SPY"]
    assert row["summary"] == "a summary only the feed had"  # null filled from a later copy


def test_merge_with_stored_rows_keeps_them_and_adds_tickers(shared_data):
    first, second = yahoo_articles(shared_data, "AAPL")[:2]
    stored = dedupe(articles_frame([_record(first), _record(second)]))
    again = articles_frame(
        [
            _record(first, title="A rewritten title", tickers=["MSFT"], fetched_at=T2),
            _record(second, fetched_at=T2),
        ]
    )
    merged = merge_stored(dedupe(again), stored)
    assert merged.height == 2
    by_url = {r["url"]: r for r in merged.iter_rows(named=True)}
    assert by_url[first["url"]]["title"] == first["title"]  # stored title kept
    assert by_url[first["url"]]["fetched_at"] == T1
    assert by_url[first["url"]]["tickers"] == sorted({"AAPL", "MSFT"})
    # the unchanged one is identical to what is stored: an upsert writes nothing for it
    assert by_url[second["url"]] == stored.filter(stored["url"] == second["url"]).row(0, named=True)
