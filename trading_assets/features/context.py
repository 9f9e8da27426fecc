"""Multi-timeframe context: each bar carries features of the last CLOSED coarser bar.

A bar's ``ts`` is its open time and the bar is known only at its close
(:func:`trading_assets.sessions.bar_closes`: ``ts + timeframe`` for crypto, the exchange
session's close for equities). A row is itself known at its close; it may use a context bar
of a coarser timeframe only if that bar had closed by then. This is an as-of join on those
closes (Polars ``join_asof``, backward, exact matches allowed: a 1h bar closing at 14:00 is
usable by the 1m bar 13:59-14:00).

Equity daily bars become usable at their session's close (16:00 New York, 13:00 on an early
close day), so the last regular-session hourly bar of a day carries that day's daily bar.

Columns, for each context timeframe ``g`` in :data:`CONTEXT_TIMEFRAMES` coarser than the row's
timeframe (NULL for the others, and before the first closed context bar):

- ``ctx_<g>_ts``: open time of the context bar used (UTC), for auditing;
- ``ctx_<g>_<name>`` for ``name`` in :data:`CONTEXT_FEATURES`: that bar's classic indicator
  (see :mod:`trading_assets.features.classic`; NULL where it is NULL there).

Rows: every bar of the timeframes finer than the coarsest context timeframe present (for a
symbol with only daily bars, no rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from trading_assets.schemas import UTC_TS
from trading_assets.sessions import with_bar_close
from trading_assets.timeframes import timeframe_seconds

CONTEXT_TIMEFRAMES: tuple[str, ...] = ("1h", "1d")
#: classic indicators carried as context (scale-free, so they compare across timeframes)
CONTEXT_FEATURES: tuple[str, ...] = (
    "logret_1",
    "rsi_14",
    "bb_pctb_20",
    "natr_14",
    "rvol_20",
    "vol_z_20",
    "trend_50",
    "garch_vol",
)
KEY = ("symbol", "timeframe", "ts")


def feature_names(
    context_timeframes: Sequence[str] = CONTEXT_TIMEFRAMES,
    features: Sequence[str] = CONTEXT_FEATURES,
) -> tuple[str, ...]:
    """Value columns (without the ``ctx_<g>_ts`` audit columns)."""
    return tuple(f"ctx_{g}_{name}" for g in context_timeframes for name in features)


def output_schema(
    context_timeframes: Sequence[str] = CONTEXT_TIMEFRAMES,
    features: Sequence[str] = CONTEXT_FEATURES,
) -> dict[str, pl.DataType]:
    """Schema of :func:`context` results (and of ``features.context``)."""
    schema: dict[str, pl.DataType] = {"symbol": pl.String(), "timeframe": pl.String(), "ts": UTC_TS}
    for g in context_timeframes:
        schema[f"ctx_{g}_ts"] = UTC_TS
        schema.update({f"ctx_{g}_{name}": pl.Float64() for name in features})
    return schema


def row_timeframes(timeframes: Sequence[str], context_timeframes=CONTEXT_TIMEFRAMES) -> list[str]:
    """The timeframes that get context rows: finer than the coarsest context timeframe."""
    present = [g for g in context_timeframes if g in timeframes]
    if not present:
        return []
    coarsest = max(timeframe_seconds(g) for g in present)
    return sorted(
        (tf for tf in set(timeframes) if timeframe_seconds(tf) < coarsest), key=timeframe_seconds
    )


def context(
    indicators: pl.DataFrame,
    *,
    context_timeframes: Sequence[str] = CONTEXT_TIMEFRAMES,
    features: Sequence[str] = CONTEXT_FEATURES,
) -> pl.DataFrame:
    """Context features for every eligible bar of ONE symbol.

    Args:
        indicators: the symbol's classic indicators for all its timeframes (``symbol,
            timeframe, ts`` + at least ``features``), as stored in ``features.classic``.

    Returns:
        ``symbol, timeframe, ts`` + per context timeframe ``ctx_<g>_ts`` and
        ``ctx_<g>_<feature>`` columns, sorted by timeframe and ts.
    """
    schema = output_schema(context_timeframes, features)
    if indicators.height == 0:
        return pl.DataFrame(schema=schema)
    timeframes = indicators["timeframe"].unique().to_list()
    parts = []
    for tf in row_timeframes(timeframes, context_timeframes):
        rows = with_bar_close(indicators.filter(pl.col("timeframe") == tf).select(KEY), "_at")
        rows = rows.sort("_at", "ts")
        for g in context_timeframes:
            if g not in timeframes or timeframe_seconds(g) <= timeframe_seconds(tf):
                continue
            ctx = (
                with_bar_close(indicators.filter(pl.col("timeframe") == g), "_at")
                .select(
                    "_at",
                    pl.col("ts").alias(f"ctx_{g}_ts"),
                    *[pl.col(name).alias(f"ctx_{g}_{name}") for name in features],
                )
                .sort("_at")
            )
            rows = rows.join_asof(ctx, on="_at", strategy="backward", allow_exact_matches=True)
        parts.append(rows.drop("_at").sort("ts"))
    if not parts:
        return pl.DataFrame(schema=schema)
    out = pl.concat(parts, how="diagonal_relaxed")
    return out.select(
        [
            (pl.col(name) if name in out.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
