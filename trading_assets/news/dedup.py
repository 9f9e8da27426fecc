"""Deduplication of articles within a batch and against what the warehouse already holds.

Articles with the same ``article_id`` (see :func:`trading_assets.news.articles.article_id`)
become one row:

- the *first seen* record (earliest ``fetched_at``, then earliest ``published_at``; stored rows
  always come first) gives ``published_at``, ``source`` and ``title`` together, so a later
  re-titled version of a page never moves its text back in time;
- ``publisher``, ``summary`` and ``url`` are the first non-null values;
- ``tickers`` is the sorted union over every record (an article seen under AAPL and under
  MSFT is one row tagged with both).

Nothing stored is lost: merging incoming rows into stored ones only adds tickers and fills
nulls.
"""

from __future__ import annotations

import polars as pl

from trading_assets.schemas import NEWS_SCHEMA

_ORDER = ["_rank", "fetched_at", "published_at", "source", "title", "url"]


def _collapse(frame: pl.DataFrame) -> pl.DataFrame:
    ordered = frame.sort(_ORDER, nulls_last=True, maintain_order=True)
    merged = ordered.group_by("article_id", maintain_order=True).agg(
        pl.col("published_at").first(),
        pl.col("source").first(),
        pl.col("publisher").drop_nulls().first(),
        pl.col("title").first(),
        pl.col("summary").drop_nulls().first(),
        pl.col("url").drop_nulls().first(),
        pl.col("tickers").explode().drop_nulls().unique().sort().alias("tickers"),
        pl.col("fetched_at").first(),
    )
    return merged.select([pl.col(name).cast(dtype) for name, dtype in NEWS_SCHEMA.items()])


def dedupe(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per ``article_id`` of ``frame`` (a ``raw.news`` frame), merged as described in
    the module docs. Row order: first appearance after sorting by fetch and publish time."""
    if frame.height == 0:
        return frame.select(list(NEWS_SCHEMA))
    return _collapse(frame.with_columns(pl.lit(1).alias("_rank")))


def merge_stored(incoming: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """``incoming`` rows merged into the ``stored`` rows with the same ids.

    Returns one row per id of ``incoming``: new ids as they come; known ids keep every stored
    value and gain the incoming tickers and any value the stored row lacked. ``stored`` may hold
    other ids (ignored).
    """
    if incoming.height == 0:
        return incoming.select(list(NEWS_SCHEMA))
    known = stored.filter(pl.col("article_id").is_in(incoming["article_id"].implode()))
    both = pl.concat(
        [
            known.select(list(NEWS_SCHEMA)).with_columns(pl.lit(0).alias("_rank")),
            incoming.select(list(NEWS_SCHEMA)).with_columns(pl.lit(1).alias("_rank")),
        ]
    )
    return _collapse(both)
