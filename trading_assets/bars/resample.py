"""Resample ticks and bars to coarser timeframes, and reconcile with source bars.

All functions take and return canonical frames (:mod:`trading_assets.schemas`) for ONE symbol.
Rules:

- A bar's ``ts`` is its open time. Crypto buckets are aligned to the UTC clock; equity intraday
  buckets too (New York offsets are whole hours, so 1h buckets run 09:00-10:00 local).
- Equity daily bars are session-aware: only regular-session bars count (09:30-16:00 New York,
  13:00 on early-close days: sessions, holidays and early closes come from the exchange
  calendar, :mod:`trading_assets.sessions`), grouped by trading date, stamped 00:00 UTC of that
  date (the convention of daily source files).
- Only complete buckets are emitted: a bucket that starts before the first input or ends after
  the last input is dropped, so a partial first hour or the still-open last day never appears.
  Gaps inside the data (no trades in a minute, a trading halt) do not make a bucket incomplete.
- Volume sums, ``trades`` sums when known, ``vwap`` is volume-weighted (ticks) or the
  volume-weighted mean of constituent ``vwap`` values (or closes where vwap is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from trading_assets.markets import Market
from trading_assets.schemas import STAGING_BARS_SCHEMA
from trading_assets.sessions import in_regular_session, session_bounds
from trading_assets.timeframes import STANDARD_TIMEFRAMES, timeframe_seconds

_SECOND_US = 1_000_000


def _conform_staging(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in STAGING_BARS_SCHEMA.items()
        ]
    )


def _bucket_start(ts: pl.Expr, timeframe: str, market: Market) -> pl.Expr:
    """Start (UTC) of the ``timeframe`` bucket containing ``ts``."""
    seconds = timeframe_seconds(timeframe)
    if seconds >= 86_400 and not market.always_open:
        local_date = ts.dt.convert_time_zone(market.timezone.key).dt.date()
        return local_date.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    step = seconds * _SECOND_US
    return ((ts.dt.epoch("us") // step) * step).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _bucket_bounds(
    starts: pl.Series, timeframe: str, market: Market
) -> tuple[pl.Series, pl.Series]:
    """UTC [open, close) of each bucket: for equity days the regular session of that date from
    the exchange calendar (early closes included; NULL on a date without a session)."""
    seconds = timeframe_seconds(timeframe)
    if seconds >= 86_400 and not market.always_open:
        return session_bounds(market, starts.dt.date())
    return starts, starts + timedelta(seconds=seconds)


def _complete(
    frame: pl.DataFrame,
    timeframe: str,
    market: Market,
    data_start: object,
    data_end: object,
) -> pl.DataFrame:
    open_, close_ = _bucket_bounds(frame["ts"], timeframe, market)
    inside = (open_ >= pl.lit(data_start)) & (close_ <= pl.lit(data_end))
    return frame.filter(pl.select(inside.fill_null(False)).to_series())


def ticks_to_bars(ticks: pl.DataFrame, timeframe: str, market: Market) -> pl.DataFrame:
    """Aggregate trade ticks of one symbol into bars of ``timeframe``.

    Args:
        ticks: canonical ``raw.ticks`` rows (ts UTC, price in quote currency, size in base
            asset) of one symbol, any order.
        timeframe: target timeframe, e.g. ``1s`` or ``1m``.

    Returns:
        ``staging.bars`` rows: OHLC from trade prices, volume = summed size, ``trades`` = count,
        ``vwap`` = volume-weighted price, ``n_parts`` = trades, source ``resampled:ticks``.
        Buckets with no trades produce no bar; incomplete first/last buckets are dropped.
    """
    if ticks.height == 0:
        return _conform_staging(pl.DataFrame(schema=STAGING_BARS_SCHEMA))
    ticks = ticks.sort("ts")
    symbol = ticks["symbol"][0]
    out = (
        ticks.with_columns(_bucket_start(pl.col("ts"), timeframe, market).alias("bucket"))
        .group_by("bucket", maintain_order=True)
        .agg(
            pl.col("price").first().alias("open"),
            pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"),
            pl.col("price").last().alias("close"),
            pl.col("size").sum().alias("volume"),
            pl.len().cast(pl.Int64).alias("trades"),
            ((pl.col("price") * pl.col("size")).sum() / pl.col("size").sum()).alias("vwap"),
        )
        .rename({"bucket": "ts"})
        .with_columns(
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit("resampled:ticks").alias("source"),
            pl.col("trades").alias("n_parts"),
        )
    )
    out = _complete(out, timeframe, market, ticks["ts"].min(), ticks["ts"].max())
    return _conform_staging(out)


def resample_bars(bars: pl.DataFrame, target: str, market: Market) -> pl.DataFrame:
    """Aggregate bars of one symbol and ONE timeframe into bars of the coarser ``target``.

    Args:
        bars: canonical bars (one symbol, one timeframe), any order.
        target: coarser timeframe whose length is a multiple of the input's.

    Returns:
        ``staging.bars`` rows with source ``resampled:<input timeframe>`` and ``n_parts`` the
        number of input bars; equity daily targets keep regular-session bars only.

    Raises:
        ValueError: ``bars`` mixes timeframes, or ``target`` is not a multiple of the input.
    """
    if bars.height == 0:
        return _conform_staging(pl.DataFrame(schema=STAGING_BARS_SCHEMA))
    source_tf = bars["timeframe"][0]
    if not (bars["timeframe"] == source_tf).all():
        found = sorted(bars["timeframe"].unique().to_list())
        raise ValueError(f"resample_bars needs one input timeframe, got {found}")
    src_s, dst_s = timeframe_seconds(source_tf), timeframe_seconds(target)
    if dst_s <= src_s or dst_s % src_s:
        raise ValueError(f"cannot resample {source_tf} bars to {target}")
    if not bars["ts"].is_sorted():
        bars = bars.sort("ts")
    data_start = bars["ts"][0]
    data_end = bars["ts"][-1] + timedelta(seconds=src_s)
    if dst_s >= 86_400 and not market.always_open:
        bars = bars.filter(in_regular_session(market, bars["ts"]))
    frame = bars.lazy().set_sorted("ts")
    weight = pl.col("volume")
    price = pl.coalesce(pl.col("vwap"), pl.col("close"))
    session_days = dst_s >= 86_400 and not market.always_open
    grouped = (
        frame.group_by(_bucket_start(pl.col("ts"), target, market).alias("ts"), maintain_order=True)
        if session_days  # buckets are New York trading dates
        else frame.group_by_dynamic("ts", every=f"{dst_s}s", closed="left", label="left")
    )
    out = grouped.agg(
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("volume").sum(),
        pl.when(pl.col("trades").null_count() == 0)
        .then(pl.col("trades").sum())
        .otherwise(None)
        .alias("trades"),
        pl.when(weight.sum() > 0)
        .then((price * weight).sum() / weight.sum())
        .otherwise(None)
        .alias("vwap"),
        pl.len().cast(pl.Int64).alias("n_parts"),
    ).with_columns(
        pl.lit(bars["symbol"][0]).alias("symbol"),
        pl.lit(target).alias("timeframe"),
        pl.lit(f"resampled:{source_tf}").alias("source"),
    )
    return _conform_staging(_complete(out.collect(), target, market, data_start, data_end))


def reconcile(
    source: pl.DataFrame,
    derived: pl.DataFrame,
    rel_tol: float = 1e-6,
    fields: Sequence[str] = ("open", "high", "low", "close"),
) -> dict:
    """Compare source bars with bars derived from finer data where both exist.

    Both frames are bars of one symbol and one timeframe. Returns a dict with ``overlap``
    (bars present in both), ``price_match`` (share of overlapping bars whose ``fields`` all
    agree within ``rel_tol`` relative), ``fields``, ``volume_match`` (share whose volume agrees
    within 1%) and ``max_close_rel_diff``. With no overlap the shares are None.
    """
    joined = source.join(derived, on=["symbol", "timeframe", "ts"], suffix="_d")
    n = joined.height
    if n == 0:
        return {
            "overlap": 0,
            "price_match": None,
            "fields": list(fields),
            "volume_match": None,
            "max_close_rel_diff": None,
        }

    def rel(col: str) -> pl.Expr:
        return ((pl.col(col) - pl.col(f"{col}_d")).abs() / pl.col(col).abs()).fill_nan(0.0)

    stats = joined.select(
        pl.all_horizontal([rel(c) <= rel_tol for c in fields]).mean().alias("price_match"),
        (
            (pl.col("volume") - pl.col("volume_d")).abs()
            <= 0.01 * pl.max_horizontal(pl.col("volume").abs(), pl.lit(1e-12))
        )
        .mean()
        .alias("volume_match"),
        rel("close").max().alias("max_close_rel_diff"),
    ).row(0, named=True)
    return {"overlap": n, "fields": list(fields), **stats}


def reconcile_rule(market: Market) -> tuple[float, tuple[str, ...]]:
    """Relative tolerance and price fields used to reconcile derived with source bars.

    Crypto exchanges build every kline from the same trades: OHLC agree to float precision.
    Consolidated equity daily bars take open, high and low from auction, odd-lot and
    extended-hours prints that minute bars lack (and early-close days are not known here), so
    equities are reconciled on the close, within 0.5% (real data agrees to about 0.2%).
    """
    if market.always_open:
        return 1e-6, ("open", "high", "low", "close")
    return 5e-3, ("close",)


def build_staging_bars(
    source_bars: pl.DataFrame,
    ticks: pl.DataFrame,
    market: Market,
    targets: Sequence[str] = STANDARD_TIMEFRAMES,
) -> tuple[pl.DataFrame, dict[str, dict]]:
    """All bars of one symbol: source bars, plus each target timeframe derived from the finest
    finer input (ticks count as the finest) where no source bar exists at that ts.

    Args:
        source_bars: canonical ``raw.bars`` rows of one symbol (any timeframes).
        ticks: canonical ``raw.ticks`` rows of the same symbol (may be empty).
        market: the symbol's market (:func:`trading_assets.markets.market_of`).
        targets: timeframes to provide.

    Returns:
        ``(staging_bars, reconciliation)``: the ``staging.bars`` frame sorted by
        (timeframe, ts), and per derived timeframe the :func:`reconcile` stats against the
        source bars of that timeframe (only where a source provides it).
    """
    pieces = [_conform_staging(source_bars)]
    report: dict[str, dict] = {}
    by_tf = (
        {tf: frame for (tf,), frame in source_bars.partition_by("timeframe", as_dict=True).items()}
        if source_bars.height
        else {}
    )
    for target in targets:
        target_s = timeframe_seconds(target)
        finer = sorted(
            (
                tf
                for tf in by_tf
                if timeframe_seconds(tf) < target_s and target_s % timeframe_seconds(tf) == 0
            ),
            key=timeframe_seconds,
        )
        derived_parts = []
        if ticks.height and target_s <= 60:
            derived_parts.append(ticks_to_bars(ticks, target, market))
        if finer:
            derived_parts.append(resample_bars(by_tf[finer[0]], target, market))
        if not derived_parts:
            continue
        derived = pl.concat(derived_parts).unique(["ts"], keep="first", maintain_order=True)
        if target in by_tf:
            tolerance, fields = reconcile_rule(market)
            report[target] = reconcile(by_tf[target], derived, tolerance, fields)
            derived = derived.join(by_tf[target].select("ts"), on="ts", how="anti")
        if derived.height:
            pieces.append(derived)
    staging = pl.concat(pieces).sort(["timeframe", "ts"])
    return staging, report


def missing_inputs(symbol: str, source_bars: pl.DataFrame, ticks: pl.DataFrame) -> str | None:
    """Why a symbol has no staging bars, in plain words, or None when it has inputs.

    ``source_bars`` and ``ticks`` are the symbol's ``raw.bars`` and ``raw.ticks`` rows.
    """
    if source_bars.height or ticks.height:
        return None
    return (
        f"no bars for {symbol}: raw.bars and raw.ticks hold no rows for it (its source files "
        "were rejected or hold no bars; see ops.source_items and ops.rejected_rows)"
    )
