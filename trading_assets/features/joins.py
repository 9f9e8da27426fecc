"""The join feature tables over their whole inputs, and the measures behind their checks.

- :func:`context_join`: ``features.context`` of one symbol from its classic indicators
  (:mod:`trading_assets.features.context`);
- :func:`cross_asset_join`: ``features.cross_asset`` of every symbol against its reference
  symbol (:mod:`trading_assets.features.cross_asset`);
- :func:`sentiment_join`: ``features.sentiment`` of every symbol from a ``sentiment_agg``
  table, zero-filled without one (:mod:`trading_assets.features.sentiment`).

Each ``*_measures`` function returns the measures of the three join checks by name
(``missing_share`` after each feature's first value, ``feature_count``, ``aligned_with_bars``;
see :func:`join_measures`). Frames are keyed symbol, timeframe, ts (``Datetime("us", "UTC")``,
bar open time); prices are float64 in the quote currency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from trading_assets.features import checks
from trading_assets.features import context as context_logic
from trading_assets.features import cross_asset as cross_logic
from trading_assets.features import sentiment as sentiment_logic
from trading_assets.timeframes import timeframe_seconds

KEY = ["symbol", "timeframe", "ts"]


def join_timeframe_measures(
    frame: pl.DataFrame,
    bars: pl.DataFrame,
    features: Sequence[str],
    applies: Callable[[str, str], bool] = lambda column, timeframe: True,
) -> dict[str, Any]:
    """The measures of one timeframe's rows of a join feature table (``frame``, any order)
    against its bars (``symbol, timeframe, ts``), in a form that adds up over timeframes
    (:func:`combine_join_measures`): the warm-up of a column is its latest first value over
    the timeframe's series, so a timeframe's shares depend on its rows alone."""
    first_value = checks.first_value_warmup(frame, features)

    def warmup(column: str, timeframe: str) -> int | None:
        return first_value(column, timeframe) if applies(column, timeframe) else None

    shares, applicable = checks.missing_shares(frame, features, warmup=warmup)
    return {
        "shares": shares,
        "applicable": applicable,
        "rows": frame.height,
        "alignment": checks.alignment_counts(bars, frame),
    }


def combine_join_measures(
    partials: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    features: Sequence[str],
    threshold: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, checks.Measure]:
    """The measures of a join feature table, by check name, from every timeframe's
    :func:`join_timeframe_measures` (``columns``: the table's columns; see
    :func:`join_measures`)."""
    shares = {k: v for p in partials for k, v in p["shares"].items()}
    missing = checks.missing_share_measure(
        shares,
        any(p["applicable"] for p in partials),
        sum(p["rows"] for p in partials),
        threshold,
    )
    counts = {n: sum(p["alignment"][n] for p in partials) for n in checks.ALIGNMENT_COUNTS}
    return {
        "missing_share": checks.Measure(missing.passed, {**missing.details, **(extra or {})}),
        "feature_count": checks.feature_count(
            [c for c in columns if c in features or c in KEY], features
        ),
        "aligned_with_bars": checks.alignment_measure(counts),
    }


def timeframes_of(*frames: pl.DataFrame) -> list[str]:
    """The timeframes with rows in any of ``frames``, sorted."""
    return sorted({tf for f in frames if f.height for tf in f["timeframe"].unique().to_list()})


def join_measures(
    frame: pl.DataFrame,
    bars: pl.DataFrame,
    features: Sequence[str],
    threshold: float,
    extra: Mapping[str, Any] | None = None,
    applies: Callable[[str, str], bool] = lambda column, timeframe: True,
) -> dict[str, checks.Measure]:
    """The measures of a join feature table, by check name.

    Args:
        frame: the table's rows (``symbol, timeframe, ts`` + feature columns).
        bars: ``symbol, timeframe, ts`` of the bars the rows must align with one to one.
        features: the expected feature columns.
        threshold: largest acceptable share of missing values per feature after its first
            value in each series (the latest first value over the timeframe's series).
        extra: added to the ``missing_share`` details (JSON-able).
        applies: ``(column, timeframe) -> bool``, whether a column is meant to have values
            on a timeframe (the others are not measured).

    Returns:
        ``missing_share``, ``feature_count`` (the feature columns of ``frame`` are exactly
        ``features``) and ``aligned_with_bars``.
    """
    partials = [
        join_timeframe_measures(
            frame.filter(pl.col("timeframe") == tf),
            bars.filter(pl.col("timeframe") == tf),
            features,
            applies,
        )
        for tf in timeframes_of(frame, bars)
    ]
    return combine_join_measures(partials, frame.columns, features, threshold, extra)


@dataclass(frozen=True)
class ContextJoin:
    """``features.context`` rows of one symbol and what they were built from.

    Attributes:
        frame: the rows (:func:`trading_assets.features.context.output_schema`).
        row_timeframes: the symbol's bar timeframes that get context rows.
        sources: ``(context timeframe, indicator)`` pairs with at least one value in the
            indicators: only those context columns can have values.
    """

    frame: pl.DataFrame
    row_timeframes: list[str]
    sources: frozenset[tuple[str, str]]


def context_join(indicators: pl.DataFrame, bar_timeframes: Sequence[str]) -> ContextJoin:
    """Context features of one symbol.

    Args:
        indicators: the symbol's classic indicators (``symbol, timeframe, ts`` +
            :data:`~trading_assets.features.context.CONTEXT_FEATURES`, float64), as stored in
            ``features.classic``; an empty frame (any columns) when there are none yet.
        bar_timeframes: the timeframes of the symbol's staging bars.
    """
    if indicators.height:
        frame = context_logic.context(indicators)
    else:
        frame = pl.DataFrame(schema=context_logic.output_schema())
    sources = frozenset(
        (g, name)
        for g in context_logic.CONTEXT_TIMEFRAMES
        for name in context_logic.CONTEXT_FEATURES
        if indicators.height
        and indicators.filter(pl.col("timeframe") == g)[name].drop_nulls().len() > 0
    )
    return ContextJoin(frame, context_logic.row_timeframes(list(bar_timeframes)), sources)


def context_bars(joined: ContextJoin, bars: pl.DataFrame) -> pl.DataFrame:
    """``symbol, timeframe, ts`` of the symbol's bars that get context rows."""
    return bars.filter(pl.col("timeframe").is_in(joined.row_timeframes)).select(KEY)


def context_applies(joined: ContextJoin) -> Callable[[str, str], bool]:
    """Whether a context column is measured on a timeframe: only on timeframes finer than its
    own, and where its indicator has values."""

    def applies(column: str, timeframe: str) -> bool:
        _, g, name = column.split("_", 2)
        return (g, name) in joined.sources and timeframe_seconds(g) > timeframe_seconds(timeframe)

    return applies


def context_extra(joined: ContextJoin) -> dict[str, Any]:
    """The ``missing_share`` details added for context: the measured sources."""
    return {"measured_sources": sorted(f"{g}:{n}" for g, n in joined.sources)}


def context_measures(
    joined: ContextJoin, bars: pl.DataFrame, threshold: float
) -> dict[str, checks.Measure]:
    """The check measures of :func:`context_join`'s rows against the symbol's bars
    (``symbol, timeframe, ts``; only the row timeframes are expected). A context column is
    measured only on timeframes finer than its own and where its indicator has values."""
    return join_measures(
        joined.frame,
        context_bars(joined, bars),
        context_logic.feature_names(),
        threshold,
        context_extra(joined),
        context_applies(joined),
    )


@dataclass(frozen=True)
class CrossAssetJoin:
    """``features.cross_asset`` rows of every symbol.

    Attributes:
        frame: the rows (:func:`trading_assets.features.cross_asset.output_schema`).
        references: symbol -> its reference symbol (None: no reference available).
    """

    frame: pl.DataFrame
    references: dict[str, str | None]


def cross_asset_join(
    closes: pl.DataFrame, overrides: Mapping[str, str] | None = None
) -> CrossAssetJoin:
    """Rolling correlation and beta of every symbol's returns to its reference symbol's.

    Args:
        closes: ``symbol, timeframe, ts, close`` (close float64, quote currency) of every
            symbol's bars, sorted by (symbol, timeframe, ts).
        overrides: explicit reference per symbol (see
            :func:`trading_assets.features.cross_asset.reference_symbol`).
    """
    references = cross_asset_references(closes, overrides)
    return CrossAssetJoin(cross_asset_rows(closes, references), references)


def cross_asset_references(
    closes: pl.DataFrame, overrides: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """Symbol -> its reference symbol (None: none available), for every symbol of
    ``closes`` (see :func:`trading_assets.features.cross_asset.reference_symbol`)."""
    symbols = sorted(closes["symbol"].unique().to_list())
    return {s: cross_logic.reference_symbol(s, symbols, overrides) for s in symbols}


def cross_asset_rows(
    closes: pl.DataFrame,
    references: Mapping[str, str | None],
    series: set[tuple[str, str]] | None = None,
) -> pl.DataFrame:
    """The ``features.cross_asset`` rows of the ``(symbol, timeframe)`` ``series`` (None:
    every series of the symbols of ``references``), each against its reference's closes of
    the same timeframe in ``closes``."""
    if series is not None:
        wanted = {s for s, _ in series}
        refs = {r for s, r in references.items() if s in wanted and r is not None}
        closes = closes.filter(pl.col("symbol").is_in(sorted(wanted | refs)))
        closes = closes.filter(
            pl.col("timeframe").is_in(sorted({tf for _, tf in series}))
        )  # a series' features read its own timeframe only
    by_symbol = {s: f for (s,), f in closes.group_by("symbol")}
    parts = []
    for symbol, ref in sorted(references.items()):
        if symbol not in by_symbol or (series is not None and symbol not in wanted):
            continue
        own = by_symbol[symbol]
        if series is not None:
            own = own.filter(
                pl.col("timeframe").is_in(sorted(tf for s, tf in series if s == symbol))
            )
        parts.append(cross_logic.cross_asset(own, by_symbol.get(ref)))
    return pl.concat(parts) if parts else pl.DataFrame(schema=cross_logic.output_schema())


def cross_asset_dependents(
    changed: set[tuple[str, str]], references: Mapping[str, str | None]
) -> set[tuple[str, str]]:
    """``changed`` series and the series whose reference is one of them (same timeframe)."""
    out = set(changed)
    for symbol, ref in references.items():
        out |= {(symbol, tf) for s, tf in changed if ref is not None and s == ref}
    return out


def cross_asset_bars(references: Mapping[str, str | None], closes: pl.DataFrame) -> pl.DataFrame:
    """``symbol, timeframe, ts`` of the bars of the symbols with a reference: those expected
    to have cross-asset rows with values."""
    with_ref = [s for s, r in references.items() if r]
    return closes.filter(pl.col("symbol").is_in(with_ref)).select(KEY)


def cross_asset_extra(references: Mapping[str, str | None]) -> dict[str, Any]:
    """The ``missing_share`` details added for cross-asset: the symbols without reference."""
    return {"symbols_without_reference": [s for s, r in references.items() if r is None]}


def cross_asset_timeframe_measures(rows: pl.DataFrame, bars: pl.DataFrame) -> dict[str, Any]:
    """:func:`join_timeframe_measures` of one timeframe's cross-asset rows (those with a
    reference) against :func:`cross_asset_bars` of that timeframe."""
    with_ref = rows.filter(pl.col("ref_symbol").is_not_null())
    return join_timeframe_measures(with_ref, bars, cross_logic.NAMES)


def cross_asset_measures(
    joined: CrossAssetJoin, closes: pl.DataFrame, threshold: float
) -> dict[str, checks.Measure]:
    """The check measures of :func:`cross_asset_join`'s rows against the bars (``closes``):
    only the symbols with a reference are expected to have rows with values."""
    frame = joined.frame
    if not frame.height:
        return join_measures(frame, closes.select(KEY), cross_logic.NAMES, threshold)
    return join_measures(
        frame.filter(pl.col("ref_symbol").is_not_null()),
        cross_asset_bars(joined.references, closes),
        cross_logic.NAMES,
        threshold,
        cross_asset_extra(joined.references),
    )


@dataclass(frozen=True)
class SentimentJoin:
    """``features.sentiment`` rows of every symbol.

    Attributes:
        frame: the rows (:func:`trading_assets.features.sentiment.output_schema`).
        problem: why the sentiment table was not used (None: it was); the features are then
            zero-filled.
        bars_with_news: rows with at least one article in their hourly or daily bucket.
        symbols_with_news: symbols with such rows, sorted.
    """

    frame: pl.DataFrame
    problem: str | None
    bars_with_news: int
    symbols_with_news: list[str]


def sentiment_join(bars: pl.DataFrame, raw: pl.DataFrame | None) -> SentimentJoin:
    """News sentiment per bar of every symbol.

    Args:
        bars: ``symbol, timeframe, ts`` of every symbol's bars, sorted by symbol.
        raw: the rows of the ``sentiment_agg`` table, None when there is none (see
            :func:`trading_assets.features.sentiment.normalize_sentiment_agg` for the
            accepted columns).
    """
    agg, problem = normalized_sentiment(raw)
    return sentiment_summary(sentiment_rows(bars, agg), problem)


def normalized_sentiment(raw: pl.DataFrame | None) -> tuple[pl.DataFrame | None, str | None]:
    """``(aggregates, problem)``: the ``sentiment_agg`` rows on
    :data:`~trading_assets.features.sentiment.AGG_SCHEMA` (None without a table) and why
    they cannot be used (None: they can)."""
    if raw is None:
        return None, "no sentiment_agg table"
    return sentiment_logic.normalize_sentiment_agg(raw)


def sentiment_rows(bars: pl.DataFrame, agg: pl.DataFrame | None) -> pl.DataFrame:
    """The ``features.sentiment`` rows of ``bars`` (``symbol, timeframe, ts``, sorted by
    symbol) from the normalized aggregates ``agg`` (None: zero-filled)."""
    parts = [
        sentiment_logic.sentiment_features(rows, agg)
        for _, rows in bars.group_by("symbol", maintain_order=True)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=sentiment_logic.output_schema())


def news_by_series(bars: pl.DataFrame, agg: pl.DataFrame | None) -> pl.DataFrame:
    """The aggregates of each series' symbol, once per series (``symbol, timeframe`` +
    :data:`~trading_assets.features.sentiment.AGG_SCHEMA`): what the series' rows are made
    of besides its bars."""
    if agg is None or agg.height == 0:
        return pl.DataFrame(schema={"timeframe": pl.String, **sentiment_logic.AGG_SCHEMA})
    series = bars.select("symbol", "timeframe").unique()
    return series.join(agg, on="symbol")


def sentiment_summary(frame: pl.DataFrame, problem: str | None) -> SentimentJoin:
    """:class:`SentimentJoin` of the ``features.sentiment`` rows ``frame``."""
    with_news = frame.filter((pl.col("sent_1h_count") > 0) | (pl.col("sent_1d_count") > 0))
    return SentimentJoin(
        frame, problem, with_news.height, sorted(with_news["symbol"].unique().to_list())
    )


def sentiment_measures(
    joined: SentimentJoin, bars: pl.DataFrame, threshold: float
) -> dict[str, checks.Measure]:
    """The check measures of :func:`sentiment_join`'s rows against every bar."""
    return join_measures(joined.frame, bars, sentiment_logic.NAMES, threshold)
