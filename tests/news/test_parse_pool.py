"""The parse pool: bodies parsed in worker processes, refused documents named, and a thread
taking over when the workers die or cannot start."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

from tests.news.feed_server import rss_document, yahoo_articles
from trading_assets.news import parse_pool
from trading_assets.news.parse import parse_feed
from trading_assets.news.parse_pool import ParseJob, ParsePool, default_workers, usable_cores

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _parse_all(pool: ParsePool, jobs: list[ParseJob]):
    async def run():
        return await asyncio.gather(*(pool.parse(job) for job in jobs))

    return asyncio.run(run())


def test_workers_parse_like_this_process_and_name_refused_documents(shared_data):
    articles = yahoo_articles(shared_data, "MSFT")
    body = rss_document(articles, title="MSFT")
    jobs = [
        ParseJob(body, "http://127.0.0.1/msft", NOW, symbols=("MSFT",)),
        ParseJob(b"<html><body>Log in</body></html>", "http://127.0.0.1/html", NOW),
        ParseJob(b"", "http://127.0.0.1/empty", NOW),
    ]
    with ParsePool(2) as pool:
        workers = pool.wait_ready()
        good, html, empty = _parse_all(pool, jobs)
        assert pool.processes and pool.fallbacks == 0
    assert len(set(workers)) == 2 and os.getpid() not in workers
    assert good.reason is None and good.parse_s > 0
    here = parse_feed(body, "http://127.0.0.1/msft", fetched_at=NOW, symbols=("MSFT",))
    assert good.parsed.records == here.records and len(here.records) == len(articles)
    assert html.parsed is None
    assert html.reason == "the URL returned an HTML page, not an RSS/Atom feed"
    assert empty.parsed is None and empty.reason == "empty response body, not a feed"


def test_a_dead_worker_hands_the_rest_to_a_thread(shared_data, caplog):
    body = rss_document(yahoo_articles(shared_data, "TSLA"))
    with ParsePool(1) as pool:
        (pid,) = pool.wait_ready()
        os.kill(pid, signal.SIGKILL)
        outcomes = _parse_all(pool, [ParseJob(body, "a", NOW), ParseJob(body, "b", NOW)])
        assert not pool.processes and pool.fallbacks == 2
        assert "died" in pool.problem
    assert [len(o.parsed.records) for o in outcomes] == [
        len(yahoo_articles(shared_data, "TSLA"))
    ] * 2
    assert "parsing the rest in a thread" in caplog.text


def test_workers_that_cannot_start_leave_parsing_to_a_thread(shared_data, monkeypatch, caplog):
    from concurrent.futures import ProcessPoolExecutor

    def refuse(self, *args, **kwargs):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(ProcessPoolExecutor, "submit", refuse)
    body = rss_document(yahoo_articles(shared_data, "QQQ"))
    with ParsePool(2) as pool:
        (outcome,) = _parse_all(pool, [ParseJob(body, "q", NOW)])
        assert not pool.processes and pool.fallbacks == 1
    assert "daemonic" in pool.problem and "parsing in a thread instead" in caplog.text
    assert outcome.reason is None and outcome.parsed.records


def test_how_many_workers_a_pass_gets():
    assert default_workers(200, None) == usable_cores()
    assert default_workers(parse_pool.MIN_FEEDS_FOR_PROCESSES - 1, None) == 0  # not worth it
    assert default_workers(3, 4) == 4 and default_workers(500, 0) == 0
    thread_only = ParsePool(0).start()
    assert thread_only.processes is False and thread_only.wait_ready() == []
