"""Concurrent fetching against the local feed server: conditional GETs, retries, limits.

No timing assertions: concurrency is shown by the server's count of requests in flight.
"""

from __future__ import annotations

import asyncio

from tests.news.feed_server import FeedRoute, rss_document, yahoo_articles
from trading_assets.news.fetch import (
    SHARD_CONNECTIONS,
    FeedRequest,
    fetch_feeds,
    fetch_feeds_async,
    run_async,
)

FAST = {"retries": 2, "backoff_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 5.0}


def test_many_feeds_are_fetched_at_once_in_order(feed_server, shared_data):
    articles = yahoo_articles(shared_data)
    urls = [
        feed_server.add(
            f"/feed/{i}", FeedRoute(rss_document(articles[i * 5 : i * 5 + 5]), latency_s=0.2)
        )
        for i in range(12)
    ]
    results = fetch_feeds([FeedRequest(u) for u in urls], concurrency=12, **FAST)
    assert [r.url for r in results] == urls
    assert all(r.status == "ok" and r.http_status == 200 for r in results)
    assert results[3].body == feed_server.routes["/feed/3"].body
    assert feed_server.max_in_flight >= 6  # a sequential loop would never exceed 1

    feed_server.reset_counters()
    fetch_feeds([FeedRequest(u) for u in urls], concurrency=3, **FAST)
    assert feed_server.max_in_flight <= 3  # the concurrency limit holds


def test_the_in_flight_cap_holds_across_connection_pools(feed_server, shared_data):
    # 20 in flight, spread over connection pools of SHARD_CONNECTIONS each
    articles = yahoo_articles(shared_data)
    urls = [
        feed_server.add(
            f"/wide/{i}", FeedRoute(rss_document(articles[i % 50 : i % 50 + 3]), latency_s=0.2)
        )
        for i in range(60)
    ]
    assert SHARD_CONNECTIONS < 20  # two pools
    results = fetch_feeds([FeedRequest(u) for u in urls], concurrency=20, **FAST)
    assert [r.status for r in results] == ["ok"] * 60 and [r.url for r in results] == urls
    assert SHARD_CONNECTIONS < feed_server.max_in_flight <= 20
    assert len(feed_server.served) == 60


def test_conditional_get_turns_an_unchanged_feed_into_a_304(feed_server, shared_data):
    body = rss_document(yahoo_articles(shared_data, "AAPL"))
    etag_url = feed_server.add("/etag", FeedRoute(body))
    lm_url = feed_server.add(
        "/lm", FeedRoute(body, etag=None, last_modified="Mon, 22 Dec 2025 21:58:05 GMT")
    )
    first = fetch_feeds([FeedRequest(etag_url), FeedRequest(lm_url)], **FAST)
    assert [r.status for r in first] == ["ok", "ok"]
    assert first[0].etag and first[1].last_modified == "Mon, 22 Dec 2025 21:58:05 GMT"
    sent_before = feed_server.body_bytes()
    second = fetch_feeds([FeedRequest(r.url, r.etag, r.last_modified) for r in first], **FAST)
    assert [r.status for r in second] == ["not_modified", "not_modified"]
    assert [r.http_status for r in second] == [304, 304]
    assert feed_server.body_bytes() == sent_before  # no body transferred
    assert second[0].etag == first[0].etag  # validators kept for the next poll
    assert feed_server.served_to("/etag")[-1].headers["if-none-match"] == first[0].etag


def test_429_and_5xx_are_retried_then_succeed(feed_server, shared_data):
    url = feed_server.add(
        "/flaky", FeedRoute(rss_document(yahoo_articles(shared_data, "SPY")), statuses=[503, 429])
    )
    (result,) = fetch_feeds([FeedRequest(url)], **FAST)
    assert result.status == "ok" and result.attempts == 3
    assert [s.status for s in feed_server.served_to("/flaky")] == [503, 429, 200]


def test_failures_are_reported_per_feed_with_reasons(feed_server, shared_data):
    good = feed_server.add("/good", FeedRoute(rss_document(yahoo_articles(shared_data, "QQQ"))))
    missing = feed_server.url("/missing")
    broken = feed_server.add("/broken", FeedRoute(b"boom", status=500))
    slow = feed_server.add("/slow", FeedRoute(b"<rss/>", latency_s=3.0))
    dribble = feed_server.add("/dribble", FeedRoute(b"x" * 4000, dribble_chunk=100, dribble_s=0.05))
    huge = feed_server.add("/huge", FeedRoute(b"<rss>" + b"a" * 300_000 + b"</rss>"))
    unsized = feed_server.add(
        "/unsized", FeedRoute(b"<rss>" + b"a" * 300_000 + b"</rss>", send_length=False)
    )
    refused = "http://127.0.0.1:9/"  # discard port: connection refused
    urls = [good, missing, broken, slow, dribble, huge, unsized, refused]
    results = fetch_feeds(
        [FeedRequest(u) for u in urls],
        timeout_s=0.8,
        max_bytes=100_000,
        retries=1,
        backoff_s=0.01,
        max_backoff_s=0.02,
    )
    by_url = {r.url: r for r in results}
    assert by_url[good].status == "ok"
    assert by_url[missing].reason == "HTTP 404" and by_url[missing].attempts == 1
    assert by_url[broken].reason == "HTTP 500 after 2 attempts"
    assert by_url[slow].reason == "timed out after 0.8 s" and by_url[slow].attempts == 1
    assert by_url[dribble].reason == "timed out after 0.8 s"
    assert "larger than 100000 bytes (Content-Length" in by_url[huge].reason
    assert by_url[unsized].reason == "body larger than 100000 bytes"
    assert by_url[unsized].bytes_received > 100_000 and by_url[unsized].body is None
    assert by_url[refused].status == "failed" and "ConnectError" in by_url[refused].reason
    assert [r.status for r in results].count("failed") == 7


def test_fetching_works_from_inside_a_running_event_loop(feed_server, shared_data):
    url = feed_server.add("/loop", FeedRoute(rss_document(yahoo_articles(shared_data, "AMZN"))))

    async def caller():
        # a synchronous caller inside a loop (as in some orchestrators) must not deadlock
        return fetch_feeds([FeedRequest(url)], **FAST)

    (result,) = asyncio.run(caller())
    assert result.status == "ok"
    assert run_async(fetch_feeds_async([], **FAST)) == []
