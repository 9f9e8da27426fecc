"""``raw.news`` and ``ops.news_sources`` in the warehouse (no Dagster): the state a collection
pass starts from, the write of one batch, and the figures its checks and metadata report.

Every function takes an open DuckDB connection; :func:`write_batch` does not open a
transaction of its own, so the caller can write the batch and read the checks in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.news.dedup import merge_stored
from trading_assets.news.ingest import NewsBatch
from trading_assets.news.settings import SourceState
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import WriteResult, upsert_rows

NEWS_TABLE = "raw.news"
SOURCES_TABLE = "ops.news_sources"

#: Clock skew allowed before a publication time counts as "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)

_BATCH_IDS = "__news_batch_ids"


def read_source_state(con: duckdb.DuckDBPyConnection) -> SourceState:
    """Feed validators, file fingerprints and the newest Alpaca article, creating
    ``raw.news`` and ``ops.news_sources`` when missing (then everything is empty/None)."""
    for table in (NEWS_TABLE, SOURCES_TABLE):
        ensure_table(con, table)
    rows = con.execute(
        f"SELECT origin, etag, last_modified, fingerprint FROM {SOURCES_TABLE}"
    ).fetchall()
    latest = con.execute(
        f"SELECT max(published_at) FROM {NEWS_TABLE} WHERE source = 'alpaca'"
    ).fetchall()[0][0]
    return SourceState(
        validators={origin: (etag, modified) for origin, etag, modified, _ in rows},
        fingerprints={origin: fp for origin, _, _, fp in rows if fp},
        latest_alpaca=latest,
    )


def stored_articles(con: duckdb.DuckDBPyConnection, article_ids: pl.Series) -> pl.DataFrame:
    """The ``raw.news`` rows whose ``article_id`` is in ``article_ids`` (String)."""
    con.register(_BATCH_IDS, pl.DataFrame({"article_id": article_ids}))
    try:
        return con.sql(
            f"SELECT * FROM {NEWS_TABLE} WHERE article_id IN (SELECT article_id FROM {_BATCH_IDS})"
        ).pl()
    finally:
        con.unregister(_BATCH_IDS)


def write_batch(
    con: duckdb.DuckDBPyConnection, batch: NewsBatch, checked_at: datetime
) -> WriteResult:
    """Merge ``batch``'s articles into the stored rows with the same ids
    (:func:`~trading_assets.news.dedup.merge_stored`: nothing stored is lost), upsert them
    into ``raw.news`` and the source reports (checked at ``checked_at``, aware UTC) into
    ``ops.news_sources``. No transaction of its own: wrap it in
    :func:`trading_assets.warehouse.writes.transaction`.

    Returns:
        The ``raw.news`` write (its data version is the content hash of the whole table).

    Raises:
        duckdb.Error: a write failed.
    """
    stored = stored_articles(con, batch.articles["article_id"])
    result = upsert_rows(con, NEWS_TABLE, merge_stored(batch.articles, stored), schemas.NEWS_KEY)
    reports = batch.report_frame(checked_at)
    if reports.height:
        upsert_rows(con, SOURCES_TABLE, reports, schemas.NEWS_SOURCES_KEY)
    return result


@dataclass(frozen=True)
class NewsHealth:
    """What the ``raw/news`` checks look at, over every stored article.

    Attributes:
        rows: articles stored.
        duplicate_ids: rows minus distinct ``article_id`` (0 when the key holds).
        in_future: articles published after the check time + :data:`FUTURE_TOLERANCE`.
        untagged: articles without tickers.
    """

    rows: int
    duplicate_ids: int
    in_future: int
    untagged: int

    @property
    def untagged_share(self) -> float:
        """``untagged / rows`` in [0, 1] (0.0 without rows)."""
        return (self.untagged / self.rows) if self.rows else 0.0


def news_health(con: duckdb.DuckDBPyConnection, now: datetime) -> NewsHealth:
    """:class:`NewsHealth` of ``raw.news`` at ``now`` (aware UTC)."""
    total, distinct, future, untagged = con.execute(
        "SELECT count(*), count(DISTINCT article_id), "
        "count(*) FILTER (WHERE published_at > ?), "
        f"count(*) FILTER (WHERE len(tickers) = 0) FROM {NEWS_TABLE}",
        [now + FUTURE_TOLERANCE],
    ).fetchall()[0]
    return NewsHealth(
        rows=total, duplicate_ids=total - distinct, in_future=future, untagged=untagged
    )


def per_source(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per ``source``: ``articles`` (Int64) and ``first``/``last`` ``published_at`` (UTC),
    sorted by source."""
    return con.sql(
        "SELECT source, count(*) AS articles, min(published_at) AS first, "
        f"max(published_at) AS last FROM {NEWS_TABLE} GROUP BY ALL ORDER BY source"
    ).pl()


def latest_articles(con: duckdb.DuckDBPyConnection, n: int = 5) -> pl.DataFrame:
    """The ``n`` newest articles (``published_at`` UTC, ``publisher``, ``title``,
    ``tickers``), oldest first."""
    return (
        con.sql(
            f"SELECT published_at, publisher, title, tickers FROM {NEWS_TABLE} "
            f"ORDER BY published_at DESC, article_id LIMIT {int(n)}"
        )
        .pl()
        .sort("published_at")
    )


def news_summary(configured: int, result: WriteResult) -> str:
    """One sentence on a ``raw/news`` run: no source configured (and how to configure one),
    none delivered yet, or how many articles are new, updated and stored."""
    if configured == 0:
        return (
            "No news source is configured (feeds off, no news folder, no Alpaca keys): "
            "zero articles. Enable feeds with TRADING_NEWS_FEEDS=on or point "
            "TRADING_NEWS_DIR at a folder of news files."
        )
    if result.rows == 0:
        return f"{configured} news sources configured, but none delivered an article yet."
    return (
        f"{result.inserted} new and {result.updated} updated articles from "
        f"{configured} sources; {result.rows} stored."
    )
