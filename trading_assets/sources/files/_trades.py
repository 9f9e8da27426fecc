"""Shared finishing of freqtrade trade files (ids, sides, epoch times)."""

from __future__ import annotations

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.rejects import RowRejects
from trading_assets.sources.validate import ROW, epoch_to_utc, validate_ticks


def finish_trades(
    frame: pl.DataFrame,
    symbol: str,
    source: str,
    origin: str,
    rejects: RowRejects | None = None,
) -> pl.DataFrame:
    """Columns ``timestamp`` (epoch; or ``ts`` already in UTC), ``id``, ``side``, ``price``,
    ``amount``, ``_row`` -> validated canonical ticks.

    ``trade_id`` is the id as text; a missing id becomes ``"<ts_us>-<seq>"`` (seq = order
    among trades with the same timestamp). ``side`` is lower-cased; empty means unknown.

    ``rejects``: lenient mode (see :mod:`trading_assets.sources.rejects`).

    Raises:
        SourceDataError: see :func:`~trading_assets.sources.validate.validate_ticks` and
            :func:`~trading_assets.sources.validate.epoch_to_utc`.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file holds no trades")
    if "ts" not in frame.columns:
        ts = epoch_to_utc(frame["timestamp"], origin, frame[ROW], "timestamp", rejects)
        frame = frame.with_columns(ts.alias("ts"))
    seq = pl.int_range(pl.len()).over("ts").cast(pl.String)
    synthetic = pl.col("ts").dt.epoch("us").cast(pl.String) + pl.lit("-") + seq
    frame = frame.select(
        pl.lit(symbol).alias("symbol"),
        pl.lit(source).alias("source"),
        pl.coalesce(pl.col("id").cast(pl.String).str.strip_chars(), synthetic).alias("trade_id"),
        "ts",
        pl.col("price"),
        pl.col("amount").alias("size"),
        pl.col("side").cast(pl.String).str.strip_chars().str.to_lowercase().alias("side"),
        ROW,
    )
    return validate_ticks(frame, origin, rejects)
