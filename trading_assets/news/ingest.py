"""One news collection pass over every configured source, without Dagster.

:func:`collect_news` fetches the feeds concurrently, reads the changed local files, pages
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
from trading_assets.news.fetch import FeedRequest, fetch_feeds
from trading_assets.news.files import file_fingerprint, read_news_file
from trading_assets.news.parse import parse_feed
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
) -> NewsBatch:
    """Collect articles from every source.

    Args:
        feeds: feeds to poll (fetched concurrently with
            :func:`~trading_assets.news.fetch.fetch_feeds`).
        feed_state: url -> (etag, last_modified) of the last good fetch (conditional GET).
        fetch_options: keyword arguments of ``fetch_feeds`` (concurrency, timeout_s,
            max_bytes, retries, backoff_s, transport...).
        files: (path, kind) pairs from :func:`~trading_assets.news.files.discover_news_files`.
        known_fingerprints: origin -> fingerprint of files already ingested (skipped when
            unchanged).
        alpaca: an Alpaca news client, or None to skip Alpaca.
        alpaca_symbols / alpaca_start: what to ask Alpaca for (all news when no symbols).
        tagger: fills tickers of articles whose source gave none.
        now: the fetch time (aware UTC; default now).

    Returns:
        A :class:`NewsBatch`. Never raises for one bad source.
    """
    now = now or datetime.now(UTC)
    feed_state = feed_state or {}
    known_fingerprints = known_fingerprints or {}
    reports: list[SourceReport] = []
    records: list[dict[str, Any]] = []

    if feeds:
        requests = [FeedRequest(f.url, *feed_state.get(f.url, (None, None))) for f in feeds]
        results = fetch_feeds(requests, **dict(fetch_options or {}))
        for spec, request, fetched in zip(feeds, requests, results, strict=True):
            report = SourceReport(
                origin=spec.url,
                kind="rss",
                status=fetched.status,
                http_status=fetched.http_status,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                bytes=fetched.bytes_received,
                elapsed_s=fetched.elapsed_s,
            )
            if fetched.status == "failed":
                report.reason = fetched.reason
                report.etag, report.last_modified = request.etag, request.last_modified
            elif fetched.status == "ok":
                started = time.perf_counter()
                try:
                    parsed = parse_feed(
                        fetched.body or b"",
                        spec.url,
                        fetched_at=now,
                        content_type=fetched.content_type,
                        source="rss",
                        symbols=spec.symbols,
                        publisher=spec.publisher,
                    )
                except TradingAssetsError as exc:
                    report.status, report.reason = "failed", getattr(exc, "reason", str(exc))
                    report.etag = report.last_modified = None
                else:
                    report.status, report.reason = _status(parsed.warnings)
                    report.entries = len(parsed.records)
                    records += parsed.records
                report.elapsed_s += time.perf_counter() - started
            reports.append(report)

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
