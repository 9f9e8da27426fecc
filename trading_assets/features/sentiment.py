"""Sentiment features: news sentiment aggregates joined as-of onto bars, zero-filled.

Source: the ``sentiment_agg`` table built by the news pipeline (``features.sentiment_agg`` or
``ml.sentiment_agg``, whichever exists; see :data:`SENTIMENT_TABLES`): per symbol and time
bucket (hour or day), the mean score (-1..1), the article count, the positive and negative
shares and a novelty measure. Its exact column names are not fixed yet, so
:func:`normalize_sentiment_agg` recognises common spellings (``ts``/``bucket``/``hour``/``day``,
``mean_score``/``score_mean``/``avg_score``, ``count``/``n_articles``/``articles``,
``timeframe``/``granularity``/``freq``, ``positive_share``/``pos_share``,
``negative_share``/``neg_share``, ``novelty``, optional ``method``). A missing table, or one
without a recognisable symbol/time/score/count column, gives all-zero features: the pipeline
never fails for lack of news.

For a bar of timeframe ``f`` at ``ts`` (known at its ``close``: ``ts + f`` for crypto, the
exchange session's close for equities, see :mod:`trading_assets.sessions`) and each bucket
size ``g`` in :data:`GRANULARITIES`, the features are those of the bucket of size ``g``
that ended most recently at or before ``close`` and after ``close - g`` — the last bucket
closed when the bar closed. A bucket at ``b`` ends (is known) at ``b + g``. Where that
bucket has no articles (or there is no news at all) the features are 0 and the count is 0:

================  =============================================================================
sent_<g>_mean     mean sentiment score of the bucket's articles (-1..1), 0 without articles.
sent_<g>_count    number of articles in the bucket (Float64 for uniformity), 0 without.
sent_<g>_pos      share of positive articles (0..1), 0 without.
sent_<g>_neg      share of negative articles (0..1), 0 without.
sent_<g>_novelty  the news pipeline's novelty of the bucket, 0 without (or if not provided).
================  =============================================================================

No value is ever NULL. Where several scoring methods are aggregated, one is used: the first of
``preferred_methods`` present; of its model versions, the one whose buckets reach the latest
time (the model in use).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from trading_assets.schemas import UTC_TS
from trading_assets.sessions import bar_closes
from trading_assets.timeframes import timeframe_seconds

#: candidate tables, in the order they are looked for
SENTIMENT_TABLES: tuple[str, ...] = ("features.sentiment_agg", "ml.sentiment_agg")
GRANULARITIES: tuple[str, ...] = ("1h", "1d")
FIELDS: tuple[str, ...] = ("mean", "count", "pos", "neg", "novelty")
NAMES: tuple[str, ...] = tuple(f"sent_{g}_{f}" for g in GRANULARITIES for f in FIELDS)
KEY = ("symbol", "timeframe", "ts")
PREFERRED_METHODS: tuple[str, ...] = ("ml", "lexicon", "llm")

#: normalized aggregate table
AGG_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "granularity": pl.String(),
    "bucket": UTC_TS,
    "mean": pl.Float64(),
    "count": pl.Float64(),
    "pos": pl.Float64(),
    "neg": pl.Float64(),
    "novelty": pl.Float64(),
}

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker"),
    "bucket": (
        "ts",
        "bucket",
        "bucket_start",
        "period_start",
        "window_start",
        "hour",
        "day",
        "date",
    ),
    "granularity": ("timeframe", "granularity", "freq", "frequency", "period", "interval"),
    "mean": ("mean_score", "score_mean", "avg_score", "sentiment_mean", "mean", "score"),
    "count": ("count", "n_articles", "article_count", "articles", "n", "num_articles"),
    "pos": ("positive_share", "pos_share", "share_positive", "positive"),
    "neg": ("negative_share", "neg_share", "share_negative", "negative"),
    "novelty": ("novelty", "novelty_score"),
    "method": ("method",),
    "model_version": ("model_version", "version"),
}
_GRANULARITY_WORDS = {
    "hour": "1h",
    "hourly": "1h",
    "h": "1h",
    "day": "1d",
    "daily": "1d",
    "d": "1d",
}


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`sentiment_features` results (and of ``features.sentiment``)."""
    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        **{name: pl.Float64() for name in NAMES},
    }


def _pick(columns: Sequence[str], role: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    for candidate in _CANDIDATES[role]:
        if candidate in lower:
            return lower[candidate]
    return None


def normalize_sentiment_agg(
    frame: pl.DataFrame, preferred_methods: Sequence[str] = PREFERRED_METHODS
) -> tuple[pl.DataFrame, str | None]:
    """Map a ``sentiment_agg`` table onto :data:`AGG_SCHEMA`.

    Returns:
        ``(normalized, problem)``: ``problem`` says why nothing usable was found (then the frame
        is empty), else None. A table without a granularity column is taken as hourly when its
        buckets are not all at midnight, else daily; day-only ``date`` columns are daily.
    """
    empty = pl.DataFrame(schema=AGG_SCHEMA)
    picked = {role: _pick(frame.columns, role) for role in _CANDIDATES}
    missing = [r for r in ("symbol", "bucket", "mean", "count") if picked[r] is None]
    if missing:
        return empty, f"no column for {missing} among {frame.columns}"
    if picked["method"] is not None and frame.height:
        methods = set(frame[picked["method"]].drop_nulls().unique().to_list())
        chosen = next((m for m in preferred_methods if m in methods), None)
        chosen = chosen or sorted(methods)[0] if methods else None
        frame = frame.filter(pl.col(picked["method"]) == chosen)
    if picked["model_version"] is not None and frame.height:
        # the version whose buckets reach furthest (the model in use), then the one with the
        # most buckets, then the largest name
        versions = (
            frame.group_by(pl.col(picked["model_version"]).alias("v"))
            .agg(pl.col(picked["bucket"]).max().alias("last"), pl.len().alias("n"))
            .sort("last", "n", "v", descending=True, nulls_last=True)
        )
        frame = frame.filter(pl.col(picked["model_version"]) == versions["v"][0])
    bucket = pl.col(picked["bucket"])
    dtype = frame.schema[picked["bucket"]]
    if dtype == pl.Date:
        bucket = bucket.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Datetime):
        bucket = (
            bucket.dt.convert_time_zone("UTC")
            if dtype.time_zone
            else bucket.dt.replace_time_zone("UTC")
        ).dt.cast_time_unit("us")
    else:
        return empty, f"bucket column {picked['bucket']!r} has type {dtype}, not a date/time"
    if picked["granularity"] is not None:
        granularity = (
            pl.col(picked["granularity"])
            .cast(pl.String)
            .str.to_lowercase()
            .replace(_GRANULARITY_WORDS)
        )
    elif dtype == pl.Date or picked["bucket"].lower() in ("day", "date"):
        granularity = pl.lit("1d")
    else:
        at_midnight = frame.select((pl.col(picked["bucket"]).dt.time() == pl.time(0)).all()).item()
        granularity = pl.lit("1d" if at_midnight else "1h")

    def num(role: str) -> pl.Expr:
        name = picked[role]
        return (pl.col(name).cast(pl.Float64) if name else pl.lit(0.0)).fill_null(0.0)

    out = frame.select(
        pl.col(picked["symbol"]).cast(pl.String).alias("symbol"),
        granularity.alias("granularity"),
        bucket.alias("bucket"),
        num("mean").alias("mean"),
        num("count").alias("count"),
        num("pos").alias("pos"),
        num("neg").alias("neg"),
        num("novelty").alias("novelty"),
    ).filter(pl.col("granularity").is_in(list(GRANULARITIES)))
    return out.select([pl.col(c).cast(t) for c, t in AGG_SCHEMA.items()]), None


def sentiment_features(bars: pl.DataFrame, agg: pl.DataFrame | None) -> pl.DataFrame:
    """Sentiment features of one symbol's bars (see the module docstring).

    Args:
        bars: the symbol's bars (``symbol, timeframe, ts``; any timeframes).
        agg: normalized aggregates (:data:`AGG_SCHEMA`, any symbols) or None.

    Returns:
        one row per bar: ``symbol, timeframe, ts`` + :data:`NAMES`, never NULL, sorted by
        timeframe and ts.
    """
    schema = output_schema()
    if bars.height == 0:
        return pl.DataFrame(schema=schema)
    keys = bars.select(KEY).sort("timeframe", "ts")
    symbol = keys["symbol"][0]
    agg = agg.filter(pl.col("symbol") == symbol) if agg is not None else None
    parts = []
    for (tf,), rows in keys.group_by("timeframe", maintain_order=True):
        rows = rows.with_columns(bar_closes(symbol, tf, rows["ts"]).alias("_close"))
        for g in GRANULARITIES:
            cols = [f"sent_{g}_{f}" for f in FIELDS]
            buckets = (
                agg.filter(pl.col("granularity") == g)
                if agg is not None
                else pl.DataFrame(schema=AGG_SCHEMA)
            )
            if buckets.height == 0:
                rows = rows.with_columns(pl.lit(0.0).alias(c) for c in cols)
                continue
            size = timeframe_seconds(g)
            ends = (
                buckets.group_by("bucket")
                .agg(pl.col(f).last() for f in FIELDS)  # one row per bucket
                .with_columns((pl.col("bucket") + pl.duration(seconds=size)).alias("_end"))
                .sort("_end")
                .select("_end", *[pl.col(f).alias(f"sent_{g}_{f}") for f in FIELDS])
            )
            rows = rows.sort("_close").join_asof(
                ends,
                left_on="_close",
                right_on="_end",
                strategy="backward",
                # strictly after close - g: the bucket that closed last, never an older one
                tolerance=f"{size * 1_000_000 - 1}us",
            )
            rows = rows.drop("_end").with_columns(pl.col(cols).fill_null(0.0))
        parts.append(rows.drop("_close").sort("ts"))
    out = pl.concat(parts, how="vertical_relaxed")
    return out.select([pl.col(n).cast(t) for n, t in schema.items()])


def find_sentiment_table(existing: Sequence[str]) -> str | None:
    """The first of :data:`SENTIMENT_TABLES` among ``existing`` (``schema.table`` names)."""
    present = {t.lower() for t in existing}
    return next((t for t in SENTIMENT_TABLES if t in present), None)
