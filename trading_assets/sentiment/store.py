"""``ml.sentiment`` and ``features.sentiment_agg`` in the warehouse (no Dagster): which
articles still need a score, the writes, and the figures the checks and metadata report.

Every function takes an open DuckDB connection. Writes open no transaction of their own
unless they say so: wrap several in :func:`trading_assets.warehouse.writes.transaction`.
"""

from __future__ import annotations

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.sentiment.llm_cache import CACHE_TABLE, write_cache
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import WriteResult, replace_scope, upsert_rows

NEWS_TABLE = "raw.news"
SENTIMENT_TABLE = "ml.sentiment"
AGG_TABLE = "features.sentiment_agg"


def ensure_scoring_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw.news``, ``ml.sentiment`` and the LLM cache when missing."""
    for table in (NEWS_TABLE, SENTIMENT_TABLE, CACHE_TABLE):
        ensure_table(con, table)


def count_articles(con: duckdb.DuckDBPyConnection) -> int:
    """Articles stored in ``raw.news``."""
    return int(con.execute(f"SELECT count(*) FROM {NEWS_TABLE}").fetchall()[0][0])


def unscored_articles(
    con: duckdb.DuckDBPyConnection, method: str, model_version: str
) -> pl.DataFrame:
    """``article_id``, ``title``, ``summary``, ``source`` (String) of the ``raw.news``
    articles without a score for (``method``, ``model_version``), sorted by ``article_id``."""
    return con.sql(
        f"SELECT n.article_id, n.title, n.summary, n.source FROM {NEWS_TABLE} n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {SENTIMENT_TABLE} s WHERE s.article_id = n.article_id "
        "AND s.method = ? AND s.model_version = ?) ORDER BY n.article_id",
        params=[method, model_version],
    ).pl()


def write_scores(
    con: duckdb.DuckDBPyConnection, scores: pl.DataFrame, llm_cache: pl.DataFrame
) -> WriteResult:
    """Upsert ``scores`` (``ml.sentiment`` rows, schema
    :data:`~trading_assets.schemas.SENTIMENT_SCHEMA`) and the new ``llm_cache`` rows (may be
    empty). No transaction of its own.

    Returns:
        The ``ml.sentiment`` write (data version: content hash of the whole table).

    Raises:
        duckdb.Error: a write failed.
    """
    result = upsert_rows(con, SENTIMENT_TABLE, scores, schemas.SENTIMENT_KEY)
    write_cache(con, llm_cache)
    return result


def out_of_range_scores(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of ``ml.sentiment`` with a score outside [-1, 1] or a confidence outside [0, 1]
    (NaN counts as outside)."""
    return int(
        con.execute(
            f"SELECT count(*) FROM {SENTIMENT_TABLE} WHERE NOT (score BETWEEN -1 AND 1) "
            "OR isnan(score) OR NOT (confidence BETWEEN 0 AND 1) OR isnan(confidence)"
        ).fetchall()[0][0]
    )


def score_versions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per (``method``, ``model_version``): ``articles`` (Int64) and ``mean_score``
    (Float64), sorted."""
    return con.sql(
        "SELECT method, model_version, count(*) AS articles, avg(score) AS mean_score "
        f"FROM {SENTIMENT_TABLE} GROUP BY ALL ORDER BY ALL"
    ).pl()


def read_aggregation_inputs(
    con: duckdb.DuckDBPyConnection,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What :func:`trading_assets.sentiment.aggregate.aggregate_sentiment` reads, creating
    the tables when missing.

    Returns:
        ``(tagged, scores)``: the tagged articles (``article_id``, ``published_at`` UTC,
        ``title``, ``tickers``) and their scores from the current model version of each
        method, the one scored last (``article_id``, ``method``, ``model_version``,
        ``score``, ``label``).
    """
    for table in (NEWS_TABLE, SENTIMENT_TABLE, AGG_TABLE):
        ensure_table(con, table)
    tagged = con.sql(
        f"SELECT article_id, published_at, title, tickers FROM {NEWS_TABLE} WHERE len(tickers) > 0"
    ).pl()
    scores = con.sql(
        "WITH current AS (SELECT method, arg_max(model_version, scored_at) AS model_version "
        f"FROM {SENTIMENT_TABLE} GROUP BY method) "
        "SELECT s.article_id, s.method, s.model_version, s.score, s.label "
        f"FROM {SENTIMENT_TABLE} s JOIN current USING (method, model_version)"
    ).pl()
    return tagged, scores


def write_bars(con: duckdb.DuckDBPyConnection, bars: pl.DataFrame) -> WriteResult:
    """Replace every ``features.sentiment_agg`` row by ``bars`` (schema
    :data:`~trading_assets.schemas.SENTIMENT_AGG_SCHEMA`), in one transaction; nothing is
    written when the content is unchanged.

    Raises:
        duckdb.Error: the write failed (rolled back).
    """
    return replace_scope(con, AGG_TABLE, bars, {})
