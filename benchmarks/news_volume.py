"""The real-volume news pass of ``bench_news``: a feed server and passes in their own processes.

The feeds are :func:`tests.news.feed_server.real_volume_feeds` (124 feeds, 2,719 real items,
3-120 per feed). The server runs in its own process (:func:`serve`), as a remote server would:
its threads do not compete with the pass for this process's GIL. Each pass is timed in a
fresh interpreter started with ``-c`` (:func:`child`), whose parse workers therefore do not
re-import the benchmark's main module (they would under ``-m``; a Dagster step runs as
``python -m dagster``, which they skip too).

Modes of :func:`child`:

- ``cold``: one ``raw/news`` pass as the asset runs it: imports already done, parse workers
  started inside the pass. The parent also times the whole process (interpreter start,
  imports, pass, exit).
- ``warm``: the parse workers started and ready before the passes (a warm process).
- ``threads``: bodies parsed in a thread of this process (``parse_workers=0``).
- ``previous``: the pipeline before this change: 32 requests in flight, then every body
  parsed one after another on the calling thread, with feedparser's HTML sanitizer on.
- ``second``: a pass, then a second poll with the ETags of the first (the server answers 304).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.news.feed_server import FeedRoute, FeedServer, real_volume_feeds

#: Target of issue #14: one pass over the real-volume feeds, wall seconds on 2 cores.
TARGET_S = 1.5
#: Requests in flight before this change.
PREVIOUS_IN_FLIGHT = 32


def serve(shared: str, latency: float, markup: bool) -> None:
    """Serve the real-volume feeds on 127.0.0.1 (each response after ``latency`` s); print
    the base URL, then serve until stdin closes."""
    with FeedServer() as server:
        for doc in real_volume_feeds(Path(shared), markup=markup):
            server.add(
                doc.path, FeedRoute(doc.body, content_type=doc.content_type, latency_s=latency)
            )
        print(server.url(""), flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def feed_server_process(shared: Path, latency: float, markup: bool) -> Iterator[str]:
    """:func:`serve` in its own process; yields its base URL."""
    code = "import sys; from benchmarks.news_volume import serve; serve(*sys.argv[1:2], "
    code += f"{latency!r}, {markup!r})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(shared)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def counters(base: str, reset: bool = False) -> dict[str, Any]:
    """The server's counters (max in flight, requests, body bytes), optionally reset."""
    import httpx

    url = f"{base}/_counters" + ("?reset" if reset else "")
    return httpx.get(url, trust_env=False, timeout=5).json()


@contextlib.contextmanager
def sanitizing_feedparser() -> Iterator[None]:
    """feedparser with its HTML sanitizer on, as ``parse_feed`` called it before."""
    import feedparser

    original = feedparser.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "sanitize_html": True})

    feedparser.parse = parse
    try:
        yield
    finally:
        feedparser.parse = original


def _previous_pass(specs, tagger, now):  # noqa: ANN001, ANN202
    from trading_assets.errors import TradingAssetsError
    from trading_assets.news.articles import articles_frame
    from trading_assets.news.dedup import dedupe
    from trading_assets.news.fetch import FeedRequest, fetch_feeds
    from trading_assets.news.parse import parse_feed

    results = fetch_feeds(
        [FeedRequest(s.url) for s in specs], concurrency=PREVIOUS_IN_FLIGHT, retries=0
    )
    records: list[dict[str, Any]] = []
    with sanitizing_feedparser():
        for spec, result in zip(specs, results, strict=True):
            if result.status == "ok":
                with contextlib.suppress(TradingAssetsError):
                    records += parse_feed(
                        result.body or b"", spec.url, fetched_at=now, symbols=spec.symbols
                    ).records
    return dedupe(tagger.tag_frame(articles_frame(records))), len(records)


def child(base: str, shared: str, mode: str, runs: int, in_flight: int) -> None:
    """Time ``runs`` passes in ``mode`` against the server at ``base``; print one JSON line:
    ``walls`` (s), ``records``, ``articles``, ``max_in_flight``, ``statuses``."""
    from trading_assets.news.feedlist import FeedSpec
    from trading_assets.news.ingest import collect_news
    from trading_assets.news.parse_pool import ParsePool, usable_cores
    from trading_assets.news.tagging import TickerTagger, load_aliases

    docs = real_volume_feeds(Path(shared))
    specs = [FeedSpec(name=d.path, url=base + d.path, symbols=d.symbols) for d in docs]
    aliases = load_aliases()
    tagger = TickerTagger(sorted({s for d in docs for s in d.symbols} | set(aliases)), aliases)
    options = {"concurrency": in_flight, "retries": 0, "timeout_s": 30.0}
    pool = ParsePool(usable_cores()).start() if mode == "warm" else None
    if pool is not None:
        pool.wait_ready()
    if mode == "second":
        print(json.dumps(_second_poll(base, specs, options)), flush=True)
        return
    walls, seen = [], []
    for _ in range(runs):
        counters(base, reset=True)
        now = datetime.now(UTC)
        started = time.perf_counter()
        if mode == "previous":
            articles, records = _previous_pass(specs, tagger, now)
            statuses = {}
        else:
            batch = collect_news(
                feeds=specs,
                fetch_options=options,
                tagger=tagger,
                now=now,
                parse_workers=0 if mode == "threads" else None,
                parse_pool=pool,
            )
            articles, records, statuses = batch.articles, batch.records, batch.status_counts()
        walls.append(time.perf_counter() - started)
        seen.append(counters(base))
    if pool is not None:
        pool.close()
    print(
        json.dumps(
            {
                "walls": walls,
                "records": records,
                "articles": articles.height,
                "max_in_flight": max(c["max_in_flight"] for c in seen),
                "statuses": statuses,
            }
        ),
        flush=True,
    )


def _second_poll(base: str, specs, options) -> dict[str, Any]:  # noqa: ANN001
    """A pass, then a second one with the validators the first stored."""
    from trading_assets.news.ingest import collect_news

    counters(base, reset=True)
    first = collect_news(feeds=specs, fetch_options=options)
    state = {r.origin: (r.etag, r.last_modified) for r in first.reports}
    first_bytes = counters(base, reset=True)["body_bytes"]
    started = time.perf_counter()
    again = collect_news(feeds=specs, feed_state=state, fetch_options=options)
    wall = time.perf_counter() - started
    return {
        "walls": [wall],
        "not_modified": len(again.by_status("not_modified")),
        "feeds": len(specs),
        "body_bytes": counters(base)["body_bytes"],
        "first_body_bytes": first_bytes,
    }


def run_child(
    base: str, shared: Path, mode: str, runs: int, in_flight: int
) -> tuple[dict[str, Any], float]:
    """:func:`child` in a fresh interpreter; (its JSON answer, wall s of the whole process)."""
    code = (
        "import sys; from benchmarks.news_volume import child; "
        "child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, base, str(shared), mode, str(runs), str(in_flight)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"news pass ({mode}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def parse_cost_ms(shared: Path, markup: bool, sanitize: bool) -> float:
    """Milliseconds per item to parse every real-volume feed one after another on one core."""
    from trading_assets.news.parse import parse_feed

    docs = real_volume_feeds(shared, markup=markup)
    now = datetime.now(UTC)
    best = float("inf")
    context = sanitizing_feedparser() if sanitize else contextlib.nullcontext()
    with context:
        for _ in range(2):
            started = time.perf_counter()
            items = sum(
                len(parse_feed(d.body, d.path, fetched_at=now, symbols=d.symbols).records)
                for d in docs
            )
            best = min(best, (time.perf_counter() - started) / items)
    return best * 1000
