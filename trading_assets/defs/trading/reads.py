"""Warehouse reads of the trading assets: a missing table reads as no rows."""

from __future__ import annotations

import duckdb
import polars as pl

from trading_assets.defs.features.store import table_exists
from trading_assets.warehouse.ddl import TABLES

_PAIRS = "__trading_pairs"


def read_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str] | None = None
) -> pl.DataFrame:
    """Rows of ``table`` (registered in ``TABLES``, or with ``columns`` given), empty with the
    right columns when the table does not exist yet (e.g. ``ml.predictions`` before any model
    has been trained)."""
    if not table_exists(con, table):
        schema = TABLES.get(table, {})
        return pl.DataFrame(schema={c: schema[c] for c in (columns or list(schema))})
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return con.sql(f"SELECT {cols} FROM {table}").pl()


def read_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    pairs: pl.DataFrame,
    columns: list[str],
) -> pl.DataFrame | None:
    """``symbol, timeframe, ts`` + ``columns`` of ``table`` for the (symbol, timeframe)
    ``pairs``, sorted; None when the table does not exist or lacks a column."""
    if not table_exists(con, table):
        return None
    have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if not set(columns) <= have:
        return None
    cols = ", ".join(f't."{c}"' for c in ["symbol", "timeframe", "ts", *columns])
    con.register(_PAIRS, pairs.select("symbol", "timeframe").unique())
    try:
        return con.sql(
            f"SELECT {cols} FROM {table} t SEMI JOIN {_PAIRS} p USING (symbol, timeframe) "
            "ORDER BY t.symbol, t.timeframe, t.ts"
        ).pl()
    finally:
        con.unregister(_PAIRS)
