"""One collection pass over good and bad feeds plus local files: bad sources are reported
with their reasons, good ones deliver; parsing in worker processes, overlapped with fetching,
gives what parsing one feed after another gave."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from tests.news.feed_server import (
    FeedRoute,
    atom_document,
    csv_headlines,
    real_volume_feeds,
    rss_document,
    yahoo_articles,
)
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.feedlist import FeedSpec
from trading_assets.news.files import discover_news_files
from trading_assets.news.ingest import collect_news
from trading_assets.news.parse import parse_feed
from trading_assets.news.parse_pool import ParsePool
from trading_assets.news.tagging import TickerTagger, load_aliases

NOW = datetime(2026, 1, 5, tzinfo=UTC)
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>'
)


def test_bad_feeds_are_reported_and_good_ones_land(feed_server, shared_data, tmp_path):
    aapl = yahoo_articles(shared_data, "AAPL")
    reuters = [
        {"title": t, "publishedAt": f"{d}T12:00:00Z"}
        for d, t in csv_headlines(shared_data, "reuters", 40)
    ]
    routes = {
        "/aapl.rss": FeedRoute(rss_document(aapl)),
        "/reuters.atom": FeedRoute(atom_document(reuters), content_type="application/atom+xml"),
        "/html": FeedRoute(
            b"<html><body>Please enable cookies</body></html>", content_type="text/html"
        ),
        "/gone": FeedRoute(b"", status=404),
        "/down": FeedRoute(b"", status=500),
        "/broken": FeedRoute(rss_document(aapl[:3])[:-200]),
        "/bomb": FeedRoute(BOMB),
        "/slow": FeedRoute(rss_document(aapl[:2]), latency_s=2.0),
        "/huge": FeedRoute(rss_document(aapl * 40)),
    }
    specs = [
        FeedSpec(
            name=path, url=feed_server.add(path, route), symbols=("AAPL",) if "aapl" in path else ()
        )
        for path, route in routes.items()
    ]
    news_dir = tmp_path / "news"
    news_dir.mkdir()
    for name in ("MSFT_news_20251223.json", "AAPL_news_20251223.json"):
        shutil.copy(shared_data / "news/yahoo_per_symbol_2025-12" / name, news_dir / name)
    (news_dir / "bad_news_1.json").write_text("{not json", encoding="utf-8")
    options = {"timeout_s": 1.0, "max_bytes": 200_000, "retries": 1, "backoff_s": 0.01}
    tagger = TickerTagger(["AAPL", "MSFT", "SPY"], load_aliases())

    batch = collect_news(
        feeds=specs,
        fetch_options=options,
        files=discover_news_files(news_dir),
        tagger=tagger,
        now=NOW,
    )
    status = {r.origin.rsplit("/", 1)[-1]: (r.status, r.reason or "") for r in batch.reports}
    assert status["aapl.rss"] == ("ok", "")
    assert status["reuters.atom"][0] == "ok"
    assert status["html"] == ("failed", "the URL returned an HTML page, not an RSS/Atom feed")
    assert status["gone"] == ("failed", "HTTP 404")
    assert status["down"] == ("failed", "HTTP 500 after 2 attempts")
    assert status["broken"][0] == "degraded" and "malformed XML" in status["broken"][1]
    assert status["bomb"][0] == "failed" and "entit" in status["bomb"][1]
    assert status["slow"] == ("failed", "timed out after 1 s")
    assert status["huge"][0] == "failed" and "larger than 200000" in status["huge"][1]
    assert status["MSFT_news_20251223.json"][0] == "ok"
    assert status["bad_news_1.json"][0] == "failed" and "JSON" in status["bad_news_1.json"][1]

    articles = batch.articles
    assert articles["article_id"].is_unique().all()
    # AAPL feed items are the same pages as the AAPL file: one row each, tickers merged
    aapl_urls = {a["url"] for a in aapl}
    assert aapl_urls <= set(articles["url"].drop_nulls().to_list())
    reuters_rows = articles.filter(pl.col("source") == "rss", pl.col("url").is_null())
    assert reuters_rows.height == len({(r["publishedAt"][:10], r["title"]) for r in reuters})

    # second pass with the stored validators and fingerprints: 304s and unchanged files
    state = {r.origin: (r.etag, r.last_modified) for r in batch.reports}
    prints = {r.origin: r.fingerprint for r in batch.reports if r.fingerprint}
    sent = feed_server.body_bytes()
    again = collect_news(
        feeds=[s for s in specs if s.name in ("/aapl.rss", "/reuters.atom")],
        feed_state=state,
        fetch_options=options,
        files=discover_news_files(news_dir),
        known_fingerprints=prints,
        now=NOW,
    )
    assert [r.status for r in again.reports[:2]] == ["not_modified", "not_modified"]
    assert [r.status for r in again.reports[2:]] == ["unchanged", "unchanged", "failed"]
    assert feed_server.body_bytes() == sent
    assert again.articles.height == 0


def _sequential_reference(bodies, now, tagger):
    """What the pass gave before: every (origin, body, symbols) parsed one after another in
    this thread, then framed, tagged and deduplicated."""
    records = []
    for origin, body, symbols in bodies:
        records += parse_feed(body, origin, fetched_at=now, symbols=symbols).records
    return dedupe(tagger.tag_frame(articles_frame(records))), len(records)


def test_real_volume_feeds_are_shaped_like_the_issue(shared_data):
    documents = real_volume_feeds(shared_data)
    sizes = [d.items for d in documents]
    assert len(documents) == 124 and min(sizes) == 3 and max(sizes) == 120
    assert 2_600 <= sum(sizes) <= 2_800  # the issue: about 2,700 items
    assert len({d.path for d in documents}) == 124


def test_parsing_in_worker_processes_gives_the_sequential_result(feed_server, shared_data):
    documents = real_volume_feeds(shared_data, n_feeds=40)
    routes = {
        d.path: FeedRoute(d.body, content_type=d.content_type, latency_s=0.1) for d in documents
    }
    broken = rss_document(yahoo_articles(shared_data, "AAPL")[:3])[:-200]
    routes |= {
        "/html": FeedRoute(b"<html><body>Sign in</body></html>", content_type="text/html"),
        "/bomb": FeedRoute(BOMB),
        "/broken": FeedRoute(broken),
    }
    symbols = {d.path: d.symbols for d in documents}
    specs = [
        FeedSpec(name=path, url=feed_server.add(path, route), symbols=symbols.get(path, ()))
        for path, route in routes.items()
    ]
    tagger = TickerTagger(["AAPL", "MSFT", "NVDA", "SPY"], load_aliases())
    bodies = [(s.url, routes[s.name].body, s.symbols) for s in specs if s.name != "/html"]
    expected, n_records = _sequential_reference([b for b in bodies if b[1] != BOMB], NOW, tagger)
    options = {"concurrency": 8, "retries": 0}

    with ParsePool(2) as pool:
        assert len(set(pool.wait_ready())) == 2
        batch = collect_news(
            feeds=specs, fetch_options=options, tagger=tagger, now=NOW, parse_pool=pool
        )
        assert pool.processes and pool.fallbacks == 0  # parsed in the workers
    assert 2 <= feed_server.max_in_flight <= 8  # concurrent, and the cap holds

    reports = batch.reports
    assert [r.status for r in reports[: len(documents)]] == ["ok"] * len(documents)
    assert [r.entries for r in reports[: len(documents)]] == [d.items for d in documents]
    html, bomb, degraded = reports[len(documents) :]
    assert (html.status, html.reason) == (
        "failed",
        "the URL returned an HTML page, not an RSS/Atom feed",
    )
    assert bomb.status == "failed" and "entit" in bomb.reason and bomb.etag is None
    assert degraded.status == "degraded" and "malformed XML" in degraded.reason
    # the same articles, deduplicated the same way, in the same order
    assert batch.records == n_records
    assert_frame_equal(batch.articles, expected)
    assert expected.height < n_records  # the feeds share articles: dedup did work

    # the pool a pass starts for itself, and a thread, give the same articles
    for workers in (2, 0):
        again = collect_news(
            feeds=specs, fetch_options=options, tagger=tagger, now=NOW, parse_workers=workers
        )
        assert_frame_equal(again.articles, expected)
