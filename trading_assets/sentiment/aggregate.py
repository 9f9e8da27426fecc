"""News sentiment per symbol and bar, without look-ahead.

A bar of ``timeframe`` with open time ``ts`` holds the articles tagged with the symbol and
published in ``[ts, ts + timeframe)``; like a price bar it is known at ``ts + timeframe``.
Everything in a bar is computed from articles published before the bar closes, so the bar's
values never change when later articles arrive (tested as a property).

Per (symbol, timeframe, ts, method, model_version):

- ``mean_score``: mean article score, [−1, 1];
- ``count``: articles;
- ``positive_share`` / ``negative_share``: shares labelled positive / negative;
- ``novelty``: mean article novelty. An article's novelty is
  1 − max Jaccard similarity between its title words and those of every article of the
  same symbol published in the ``novelty_window`` (default 24 h) *strictly before* it:
  1 = a new story, 0 = a repeat of a headline already seen. Articles published at the same
  instant do not see each other. Words are the normalised title words minus common English
  stop words.

Untagged articles belong to no symbol and are left out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from trading_assets.news.articles import normalize_title
from trading_assets.schemas import SENTIMENT_AGG_SCHEMA

#: Timeframes aggregated by default and their Polars truncation strings.
TIMEFRAMES: dict[str, str] = {"1h": "1h", "1d": "1d"}
DEFAULT_NOVELTY_WINDOW = timedelta(hours=24)

_STOP_WORDS = (
    "a an and are as at be by for from has have in is it its of on or s says said that the "
    "to was were will with after over than this amid into new up down"
)
_STOP = frozenset(_STOP_WORDS.split())


def _words(title: str | None) -> frozenset[str]:
    return frozenset(w for w in normalize_title(title).split() if w not in _STOP)


def article_novelty(
    articles: pl.DataFrame, window: timedelta = DEFAULT_NOVELTY_WINDOW
) -> pl.DataFrame:
    """Novelty of each (symbol, article) (definition in the module docs).

    Args:
        articles: ``article_id``, ``published_at`` (UTC), ``title``, ``tickers`` (list).

    Returns:
        Columns ``symbol``, ``article_id``, ``published_at``, ``novelty`` (Float64 in [0, 1]),
        one row per ticker of each tagged article.
    """
    exploded = (
        articles.select("article_id", "published_at", "title", pl.col("tickers").alias("symbol"))
        .explode("symbol")
        .drop_nulls("symbol")
        .unique(["symbol", "article_id"], keep="first")
        .sort(["symbol", "published_at", "article_id"])
    )
    novelty: list[float] = []
    recent: deque[tuple[object, frozenset[str]]] = deque()
    current_symbol: str | None = None
    for symbol, published, title in exploded.select("symbol", "published_at", "title").iter_rows():
        if symbol != current_symbol:
            recent.clear()
            current_symbol = symbol
        while recent and recent[0][0] < published - window:
            recent.popleft()
        words = _words(title)
        best = 0.0
        for seen_at, seen in recent:
            if seen_at >= published:
                break  # same instant: not seen yet
            union = len(words | seen)
            if union:
                best = max(best, len(words & seen) / union)
        novelty.append(1.0 - best)
        recent.append((published, words))
    return exploded.select("symbol", "article_id", "published_at").with_columns(
        pl.Series("novelty", novelty, dtype=pl.Float64)
    )


def aggregate_sentiment(
    articles: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    timeframes: Sequence[str] = tuple(TIMEFRAMES),
    novelty_window: timedelta = DEFAULT_NOVELTY_WINDOW,
) -> pl.DataFrame:
    """Sentiment bars (``features.sentiment_agg`` rows, schema
    :data:`~trading_assets.schemas.SENTIMENT_AGG_SCHEMA`), sorted by key.

    Args:
        articles: ``raw.news`` rows (``article_id``, ``published_at``, ``title``,
            ``tickers``).
        scores: ``ml.sentiment`` rows (``article_id``, ``method``, ``model_version``,
            ``score``, ``label``) — pass only the model versions to aggregate.
        timeframes: bar sizes, keys of :data:`TIMEFRAMES`.
        novelty_window: how far back novelty looks.

    Raises:
        ValueError: an unsupported timeframe.
    """
    for timeframe in timeframes:
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"sentiment timeframe {timeframe!r} is not one of {list(TIMEFRAMES)}")
    if articles.height == 0 or scores.height == 0:
        return pl.DataFrame(schema=SENTIMENT_AGG_SCHEMA)
    novelty = article_novelty(articles, novelty_window)
    scored = novelty.join(
        scores.select("article_id", "method", "model_version", "score", "label"),
        on="article_id",
        how="inner",
    )
    frames = []
    for timeframe in timeframes:
        frames.append(
            scored.with_columns(
                pl.lit(timeframe).alias("timeframe"),
                pl.col("published_at").dt.truncate(TIMEFRAMES[timeframe]).alias("ts"),
            )
            .group_by("symbol", "timeframe", "ts", "method", "model_version")
            .agg(
                pl.col("score").mean().alias("mean_score"),
                pl.len().cast(pl.Int64).alias("count"),
                (pl.col("label") == "positive").mean().alias("positive_share"),
                (pl.col("label") == "negative").mean().alias("negative_share"),
                pl.col("novelty").mean().alias("novelty"),
            )
        )
    result = pl.concat(frames)
    return result.select(
        [pl.col(name).cast(dtype) for name, dtype in SENTIMENT_AGG_SCHEMA.items()]
    ).sort(["symbol", "timeframe", "ts", "method", "model_version"])


def bar_summary(bars: pl.DataFrame) -> pl.DataFrame:
    """Per (``timeframe``, ``method``) of sentiment ``bars``: ``bars`` and ``symbols``
    (counts) and the ``first``/``last`` bar open time (UTC), sorted."""
    return (
        bars.group_by("timeframe", "method")
        .agg(
            pl.len().alias("bars"),
            pl.col("symbol").n_unique().alias("symbols"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
        )
        .sort("timeframe", "method")
    )
