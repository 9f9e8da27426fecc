"""One news collection pass over every configured source, without Dagster.

:func:`collect_news` fetches the feeds concurrently and parses each body in a worker process
as soon as it arrives (while the other feeds download), reads the changed local files, pages
through Alpaca news, and returns the tagged, deduplicated articles with one
:class:`SourceReport` per source. A source that fails is reported with its reason and the
others still deliver; nothing here writes anywhere (the ``raw/news`` asset stores the batch
and the reports in one transaction).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from trading_assets.errors import TradingAssetsError
from trading_assets.news.alpaca_news import AlpacaNewsClient
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.feedlist import FeedSpec
from trading_assets.news.fetch import FeedRequest, FetchResult, fetch_feeds_async, run_async
from trading_assets.news.files import file_fingerprint, read_news_file
from trading_assets.news.parse_pool import ParseJob, ParseOutcome, ParsePool, default_workers
from trading_assets.news.tagging import TickerTagger
from trading_assets.schemas import NEWS_SOURCES_SCHEMA


@dataclass
class SourceReport:
    """What one source (feed URL, file or API endpoint) did in one pass.

    Attributes:
        origin: feed URL, file path or API endpoint.
        kind: ``rss``, ``alpaca``, ``yahoo_json``, ``headlines_csv`` or ``feed_file``.
        status: ``ok``; ``not_modified`` (HTTP 304); ``unchanged`` (file fingerprint as last
            time, not read); ``degraded`` (read, with problems, see ``reason``); ``failed``
            (nothing read, see ``reason``).
        reason: the problem in plain words (None when ``ok``).
        http_status / etag / last_modified: for feeds; the validators to send next time
            (None after a body that could not be parsed, so it is fetched in full again).
        fingerprint: for files, the content hash (None when the file failed).
        entries: articles read from this source (before deduplication).
        bytes: body or file size.
        elapsed_s: time spent on this source.
    """

    origin: str
    kind: str
    status: str
    reason: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    fingerprint: str | None = None
    entries: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0

    def as_row(self, checked_at: datetime) -> dict[str, Any]:
        """A row of ``ops.news_sources``."""
        return {
            "origin": self.origin,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "http_status": self.http_status,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "fingerprint": self.fingerprint,
            "entries": self.entries,
            "bytes": self.bytes,
            "elapsed_s": round(self.elapsed_s, 4),
            "checked_at": checked_at,
        }


@dataclass
class NewsBatch:
    """The result of :func:`collect_news`.

    Attributes:
        articles: deduplicated, tagged ``raw.news`` rows (not yet merged with stored rows).
        reports: one per source, in the order feeds, files, Alpaca.
        records: articles read before deduplication.
    """

    articles: pl.DataFrame
    reports: list[SourceReport] = field(default_factory=list)
    records: int = 0

    def by_status(self, *statuses: str) -> list[SourceReport]:
        """The reports with one of ``statuses``."""
        return [r for r in self.reports if r.status in statuses]

    def report_frame(self, checked_at: datetime) -> pl.DataFrame:
        """The reports as ``ops.news_sources`` rows (schema
        :data:`~trading_assets.schemas.NEWS_SOURCES_SCHEMA`), ``checked_at`` aware UTC."""
        return pl.DataFrame(
            [r.as_row(checked_at) for r in self.reports], schema=NEWS_SOURCES_SCHEMA
        )

    def status_counts(self) -> dict[str, int]:
        """Status -> number of sources with it, sorted by status ({} without sources)."""
        counts: dict[str, int] = {}
        for report in sorted(self.reports, key=lambda r: r.status):
            counts[report.status] = counts.get(report.status, 0) + 1
        return counts

    def problems(self, *statuses: str, with_status: bool = True) -> list[dict[str, Any]]:
        """``origin``, ``kind``, ``status`` (unless not ``with_status``) and ``reason`` of
        the reports with one of ``statuses``, in report order."""
        return [
            {"origin": r.origin, "kind": r.kind, "status": r.status, "reason": r.reason}
            if with_status
            else {"origin": r.origin, "kind": r.kind, "reason": r.reason}
            for r in self.by_status(*statuses)
        ]


def _status(warnings: Sequence[str]) -> tuple[str, str | None]:
    return ("degraded", "; ".join(warnings)) if warnings else ("ok", None)


def _feed_report(
    spec: FeedSpec, request: FeedRequest, fetched: FetchResult, outcome: ParseOutcome | None
) -> tuple[SourceReport, list[dict[str, Any]]]:
    """The report of one feed and its records, from its fetch result and parse outcome."""
    report = SourceReport(spec.url, "rss", fetched.status, http_status=fetched.http_status)
    report.etag, report.last_modified = fetched.etag, fetched.last_modified
    report.bytes, report.elapsed_s = fetched.bytes_received, fetched.elapsed_s
    if fetched.status == "failed":
        report.reason = fetched.reason
        report.etag, report.last_modified = request.etag, request.last_modified
        return report, []
    if fetched.status != "ok" or outcome is None:
        return report, []
    report.elapsed_s += outcome.parse_s
    if outcome.parsed is None:
        report.status, report.reason = "failed", outcome.reason
        report.etag = report.last_modified = None  # fetched in full next time
        return report, []
    report.status, report.reason = _status(outcome.parsed.warnings)
    report.entries = len(outcome.parsed.records)
    return report, outcome.parsed.records


def _poll_feeds(
    feeds: Sequence[FeedSpec],
    feed_state: Mapping[str, tuple[str | None, str | None]],
    fetch_options: dict[str, Any],
    now: datetime,
    parse_pool: ParsePool | None,
    parse_workers: int | None,
) -> tuple[list[SourceReport], list[dict[str, Any]]]:
    """Fetch every feed and parse each body as soon as it arrives; reports and records in
    feed order."""
    requests = [FeedRequest(f.url, *feed_state.get(f.url, (None, None))) for f in feeds]
    outcomes: list[ParseOutcome | None] = [None] * len(feeds)

    async def parse(index: int, fetched: FetchResult) -> None:
        if fetched.status == "ok":
            spec = feeds[index]
            job = ParseJob(
                fetched.body or b"",
                spec.url,
                now,
                fetched.content_type,
                "rss",
                tuple(spec.symbols),
                spec.publisher,
            )
            outcomes[index] = await pool.parse(job)

    own = parse_pool is None
    pool = ParsePool(default_workers(len(feeds), parse_workers)) if own else parse_pool
    pool.start()  # the workers boot while the first requests are in flight
    try:
        results = run_async(fetch_feeds_async(requests, on_fetched=parse, **fetch_options))
    finally:
        if own:
            pool.close(wait=False)  # the workers exit in the background
    reports: list[SourceReport] = []
    records: list[dict[str, Any]] = []
    for spec, request, fetched, outcome in zip(feeds, requests, results, outcomes, strict=True):
        report, got = _feed_report(spec, request, fetched, outcome)
        reports.append(report)
        records += got
    return reports, records


def collect_news(
    *,
    feeds: Sequence[FeedSpec] = (),
    feed_state: Mapping[str, tuple[str | None, str | None]] | None = None,
    fetch_options: Mapping[str, Any] | None = None,
    files: Sequence[tuple[Path, str]] = (),
    known_fingerprints: Mapping[str, str] | None = None,
    alpaca: AlpacaNewsClient | None = None,
    alpaca_symbols: Sequence[str] = (),
    alpaca_start: datetime | None = None,
    tagger: TickerTagger | None = None,
    now: datetime | None = None,
    parse_workers: int | None = None,
    parse_pool: ParsePool | None = None,
) -> NewsBatch:
    """Collect articles from every source.

    Args:
        feeds: feeds to poll: fetched concurrently
            (:func:`~trading_assets.news.fetch.fetch_feeds_async`), each body parsed in a
            worker process as soon as it arrives, while the others download
            (:class:`~trading_assets.news.parse_pool.ParsePool`).
        feed_state: url -> (etag, last_modified) of the last good fetch (conditional GET).
        fetch_options: keyword arguments of ``fetch_feeds_async`` (concurrency = requests in
            flight, timeout_s, max_bytes, retries, backoff_s, transport...).
        files: (path, kind) pairs from :func:`~trading_assets.news.files.discover_news_files`.
        known_fingerprints: origin -> fingerprint of files already ingested (skipped when
            unchanged).
        alpaca: an Alpaca news client, or None to skip Alpaca.
        alpaca_symbols / alpaca_start: what to ask Alpaca for (all news when no symbols).
        tagger: fills tickers of articles whose source gave none.
        now: the fetch time (aware UTC; default now).
        parse_workers: worker processes parsing feeds (None: one per usable core when there
            are enough feeds, see :func:`~trading_assets.news.parse_pool.default_workers`;
            0: a thread of this process). Ignored when ``parse_pool`` is given.
        parse_pool: a started pool to parse in (kept open; e.g. warm across passes); None:
            one is started for this pass and closed after it.

    Returns:
        A :class:`NewsBatch`. Never raises for one bad source.
    """
    now = now or datetime.now(UTC)
    feed_state = feed_state or {}
    known_fingerprints = known_fingerprints or {}
    reports: list[SourceReport] = []
    records: list[dict[str, Any]] = []

    if feeds:
        feed_reports, feed_records = _poll_feeds(
            feeds, feed_state, dict(fetch_options or {}), now, parse_pool, parse_workers
        )
        reports += feed_reports
        records += feed_records

    for path, kind in files:
        origin = str(path)
        started = time.perf_counter()
        report = SourceReport(origin=origin, kind=kind, status="failed")
        try:
            report.bytes = path.stat().st_size
            fingerprint = file_fingerprint(path)
        except OSError as exc:
            report.reason = f"cannot read: {exc}"
            reports.append(report)
            continue
        if known_fingerprints.get(origin) == fingerprint:
            report.status, report.fingerprint = "unchanged", fingerprint
        else:
            try:
                parsed = read_news_file(path, kind, fetched_at=now)
            except TradingAssetsError as exc:
                report.reason = str(exc)
            else:
                report.status, report.reason = _status(parsed.warnings)
                report.fingerprint = fingerprint
                report.entries = len(parsed.records)
                records += parsed.records
        report.elapsed_s = time.perf_counter() - started
        reports.append(report)

    if alpaca is not None:
        started = time.perf_counter()
        report = SourceReport(origin=alpaca.origin, kind="alpaca", status="failed")
        try:
            got = alpaca.records(alpaca_symbols, alpaca_start, now, fetched_at=now)
        except TradingAssetsError as exc:
            report.reason = str(exc)
        else:
            report.status, report.entries = "ok", len(got)
            records += got
        report.elapsed_s = time.perf_counter() - started
        reports.append(report)

    frame = articles_frame(records)
    if tagger is not None:
        frame = tagger.tag_frame(frame)
    return NewsBatch(articles=dedupe(frame), reports=reports, records=len(records))
