"""Warehouse reads and writes of the feature assets (one DuckDB transaction per write).

- Feature tables are created from the families' Polars schemas; a table whose columns no longer
  match (a feature added or renamed) is dropped and recreated, and its watermarks cleared, so
  every symbol is recomputed in full on its next run.
- ``ops.feature_watermarks`` records, per (family, symbol, timeframe), what the stored rows
  were computed from (:class:`trading_assets.features.incremental.Watermark`); it is written
  in the same transaction as the rows it describes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from trading_assets.features.incremental import Watermark
from trading_assets.schemas import UTC_TS
from trading_assets.warehouse.ddl import create_table_sql, duckdb_type, ensure_table
from trading_assets.warehouse.writes import content_version, transaction, upsert_rows

WATERMARKS = "ops.feature_watermarks"
WATERMARK_SCHEMA: dict[str, pl.DataType] = {
    "family": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "last_ts": UTC_TS,
    "rows": pl.Int64(),
    "bars_hash": pl.String(),
    "code_version": pl.String(),
}
WATERMARK_KEY = ("family", "symbol", "timeframe")
_INCOMING = "__feature_rows"


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.table`` exists (not counting temporary tables)."""
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog <> 'temp' "
            "AND table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of the columns of ``schema.table``, in order."""
    schema, name = table.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog <> 'temp' AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()


def expected_columns(
    con: duckdb.DuckDBPyConnection, schema: Mapping[str, pl.DataType]
) -> list[tuple[str, str]]:
    """The ``(name, type)`` pairs DuckDB reports for a table created from ``schema``."""
    cols = ", ".join(f'"{name}" {duckdb_type(dtype)}' for name, dtype in schema.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE __expected_columns ({cols})")
    try:
        return con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = 'temp' AND table_name = '__expected_columns' "
            "ORDER BY ordinal_position"
        ).fetchall()
    finally:
        con.execute("DROP TABLE temp.main.__expected_columns")


def ensure_feature_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: Mapping[str, pl.DataType],
    family: str | None = None,
) -> bool:
    """Create ``table`` with ``schema``; recreate it (and clear ``family``'s watermarks) if its
    columns differ. Returns True when an existing table was recreated."""
    expected = expected_columns(con, schema)
    with transaction(con):
        ensure_table(con, WATERMARKS, WATERMARK_SCHEMA)
        if table_exists(con, table):
            if table_columns(con, table) == expected:
                return False
            con.execute(f"DROP TABLE {table}")
            if family:
                con.execute(f"DELETE FROM {WATERMARKS} WHERE family = ?", [family])
            con.execute(create_table_sql(table, dict(schema)))
            return True
        ensure_table(con, table, dict(schema))
    return False


def read_watermarks(
    con: duckdb.DuckDBPyConnection, family: str, symbol: str
) -> dict[str, Watermark]:
    """timeframe -> stored watermark of ``family`` for ``symbol``."""
    rows = con.execute(
        f"SELECT timeframe, last_ts, rows, bars_hash, code_version FROM {WATERMARKS} "
        "WHERE family = ? AND symbol = ?",
        [family, symbol],
    ).fetchall()
    return {tf: Watermark(ts, int(n), h, v) for tf, ts, n, h, v in rows}


def last_rows(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> dict[str, dict[str, Any]]:
    """timeframe -> the stored row with the latest ts for ``symbol``."""
    frame = con.sql(
        f"SELECT * FROM {table} WHERE symbol = $1 "
        "QUALIFY row_number() OVER (PARTITION BY timeframe ORDER BY ts DESC) = 1",
        params=[symbol],
    ).pl()
    return {row["timeframe"]: row for row in frame.iter_rows(named=True)}


@dataclass
class SeriesWrite:
    """Rows to write for one (symbol, timeframe): ``rows`` replace the stored rows from
    ``replace_from`` on (None: replace the whole series)."""

    timeframe: str
    rows: pl.DataFrame
    replace_from: Any | None
    watermark: Watermark


@dataclass
class WriteCounts:
    """Rows inserted and deleted by :func:`write_series`, and the symbol's data version."""

    inserted: int = 0
    deleted: int = 0
    rows: int = 0
    data_version: str = ""
    by_timeframe: dict[str, dict[str, int]] = field(default_factory=dict)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> int:
    result = con.execute(sql, params).fetchall()
    return int(result[0][0]) if result else 0


def write_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    family: str,
    symbol: str,
    writes: Sequence[SeriesWrite],
    drop_timeframes: Sequence[str],
) -> WriteCounts:
    """Apply ``writes`` for ``symbol`` and their watermarks, and drop the rows and watermarks
    of ``drop_timeframes``, in ONE transaction; returns counts and the symbol's data version."""
    counts = WriteCounts()
    with transaction(con):
        for tf in drop_timeframes:
            counts.deleted += _count(
                con, f"DELETE FROM {table} WHERE symbol = ? AND timeframe = ?", [symbol, tf]
            )
            con.execute(
                f"DELETE FROM {WATERMARKS} WHERE family = ? AND symbol = ? AND timeframe = ?",
                [family, symbol, tf],
            )
        for write in writes:
            params: list = [symbol, write.timeframe]
            where = "symbol = ? AND timeframe = ?"
            if write.replace_from is not None:
                where += " AND ts >= ?"
                params.append(write.replace_from)
            deleted = _count(con, f"DELETE FROM {table} WHERE {where}", params)
            cols = ", ".join(f'"{c}"' for c in write.rows.columns)
            con.register(_INCOMING, write.rows)
            try:
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_INCOMING}")
            finally:
                con.unregister(_INCOMING)
            counts.deleted += deleted
            counts.inserted += write.rows.height
            counts.by_timeframe[write.timeframe] = {
                "inserted": write.rows.height,
                "deleted": deleted,
            }
            mark = write.watermark
            upsert_rows(
                con,
                WATERMARKS,
                pl.DataFrame(
                    [
                        {
                            "family": family,
                            "symbol": symbol,
                            "timeframe": write.timeframe,
                            "last_ts": mark.last_ts,
                            "rows": mark.rows,
                            "bars_hash": mark.bars_hash,
                            "code_version": mark.code_version,
                        }
                    ],
                    schema=WATERMARK_SCHEMA,
                ),
                WATERMARK_KEY,
                schema=WATERMARK_SCHEMA,
            )
        counts.rows, counts.data_version = content_version(con, table, {"symbol": symbol})
    return counts


def read_symbol_rows(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> pl.DataFrame:
    """All stored rows of ``symbol`` in ``table``, in storage order (sorting wide rows in
    DuckDB costs seconds; the checks do not need an order)."""
    return con.sql(f"SELECT * FROM {table} WHERE symbol = $1", params=[symbol]).pl()
