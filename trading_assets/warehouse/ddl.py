"""Schemas and tables of the warehouse, created from the Polars schemas in
:mod:`trading_assets.schemas` so the two can never drift apart."""

from __future__ import annotations

import duckdb
import polars as pl

from trading_assets import schemas

#: One schema per layer (DESIGN.md §3).
LAYERS: tuple[str, ...] = (
    "raw",
    "staging",
    "features",
    "ml",
    "signals",
    "trading",
    "reports",
    "ops",
)

#: table name -> Polars schema, for every table this package owns.
TABLES: dict[str, dict[str, pl.DataType]] = {
    "raw.bars": schemas.BARS_SCHEMA,
    "raw.ticks": schemas.TICKS_SCHEMA,
    "raw.quotes": schemas.QUOTES_SCHEMA,
    "raw.quote_bars": schemas.QUOTE_BARS_SCHEMA,
    "staging.bars": schemas.STAGING_BARS_SCHEMA,
    "ops.source_items": schemas.SOURCE_ITEMS_SCHEMA,
    "ops.rejected_rows": schemas.REJECTED_ROWS_SCHEMA,
    "raw.corporate_actions": schemas.CORPORATE_ACTIONS_SCHEMA,
    "raw.news": schemas.NEWS_SCHEMA,
    "ops.news_sources": schemas.NEWS_SOURCES_SCHEMA,
    "ml.sentiment": schemas.SENTIMENT_SCHEMA,
    "ml.llm_sentiment_cache": schemas.LLM_CACHE_SCHEMA,
    "features.sentiment_agg": schemas.SENTIMENT_AGG_SCHEMA,
    "ml.predictions": schemas.PREDICTIONS_SCHEMA,
    "ml.live_predictions": schemas.PREDICTIONS_SCHEMA,
    "ml.prediction_contributions": schemas.PREDICTION_CONTRIBUTIONS_SCHEMA,
    "ml.live_prediction_contributions": schemas.PREDICTION_CONTRIBUTIONS_SCHEMA,
    "signals.signals": schemas.SIGNALS_SCHEMA,
    "signals.backtest_metrics": schemas.BACKTEST_METRICS_SCHEMA,
    "signals.backtest_equity": schemas.BACKTEST_EQUITY_SCHEMA,
    "ops.cost_metrics": schemas.COST_METRICS_SCHEMA,
    "reports.published": schemas.PUBLISHED_SCHEMA,
    "trading.orders": schemas.ORDERS_SCHEMA,
    "trading.fills": schemas.FILLS_SCHEMA,
    "trading.positions": schemas.POSITIONS_SCHEMA,
    "trading.costs": schemas.TRADE_COSTS_SCHEMA,
}


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB column type for a Polars dtype (UTC datetimes become TIMESTAMPTZ).

    Raises:
        TypeError: for a dtype the warehouse does not store.
    """
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    simple = {
        pl.String: "VARCHAR",
        pl.Float64: "DOUBLE",
        pl.Float32: "FLOAT",
        pl.Int64: "BIGINT",
        pl.Int32: "INTEGER",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
    }
    for pl_type, sql_type in simple.items():
        if dtype == pl_type:
            return sql_type
    raise TypeError(f"no DuckDB type for Polars dtype {dtype}")


def create_table_sql(table: str, schema: dict[str, pl.DataType]) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement for ``table`` with ``schema``."""
    cols = ", ".join(f'"{name}" {duckdb_type(dtype)}' for name, dtype in schema.items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"


def ensure_table(
    con: duckdb.DuckDBPyConnection, table: str, schema: dict[str, pl.DataType] | None = None
) -> None:
    """Create ``table`` (``schema.name``) and its schema if missing, and add the columns a
    newer release registered to a table an older one created (NULL in existing rows).

    ``schema`` defaults to the registered one in :data:`TABLES`.
    """
    from trading_assets.warehouse.catalog import column_names  # catalog imports this module

    schema = schema or TABLES[table]
    have = set(column_names(con, table))
    if not have:  # missing (an existing table is left alone: no DDL statement on each write)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(create_table_sql(table, schema))
        have = set(column_names(con, table))
    for column, dtype in schema.items():
        if column not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {duckdb_type(dtype)}')
