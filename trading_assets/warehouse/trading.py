"""Reads of the paper-trading layer: the newest signals with their prices and ages, and the
stored orders (``trading.orders``)."""

from __future__ import annotations

import duckdb
import polars as pl

from trading_assets.schemas import ORDERS_SCHEMA, UTC_TS
from trading_assets.warehouse.catalog import read_table, table_exists

NEWEST_SIGNAL_COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "position": pl.Float64(),
    "price": pl.Float64(),
    "age_bars": pl.Int64(),
}


def newest_signals(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The newest signal of every (symbol, timeframe) with the close of that series' newest
    bar in ``staging.bars`` (``price``, quote currency) and how many bars of the series came
    after the signal's bar (``age_bars``: 0 when the signal is on the newest bar); empty
    (:data:`NEWEST_SIGNAL_COLUMNS`) without signals or bars."""
    if not (table_exists(con, "signals.signals") and table_exists(con, "staging.bars")):
        return pl.DataFrame(schema=NEWEST_SIGNAL_COLUMNS)
    frame = con.sql(
        """
        WITH newest AS (
            SELECT symbol, timeframe, ts, position FROM signals.signals
            QUALIFY row_number() OVER (PARTITION BY symbol, timeframe ORDER BY ts DESC) = 1
        ), bars AS (
            SELECT b.symbol, b.timeframe, b.ts, b.close FROM staging.bars b
            SEMI JOIN newest n USING (symbol, timeframe)
        )
        SELECT n.symbol, n.timeframe, n.ts, n.position,
               arg_max(b.close, b.ts) AS price,
               count(*) FILTER (WHERE b.ts > n.ts) AS age_bars
        FROM newest n JOIN bars b USING (symbol, timeframe)
        GROUP BY ALL ORDER BY n.symbol, n.timeframe
        """
    ).pl()
    return frame.select([pl.col(c).cast(t) for c, t in NEWEST_SIGNAL_COLUMNS.items()])


def read_orders(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every row of ``trading.orders`` (empty with its columns before the first run)."""
    frame = read_table(con, "trading.orders")
    return frame.select([pl.col(c).cast(t) for c, t in ORDERS_SCHEMA.items()])
