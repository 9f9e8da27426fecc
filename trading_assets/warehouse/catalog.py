"""What the warehouse holds: table existence, columns, and reads that tolerate a missing table.

The one place that queries DuckDB's ``information_schema``; every other module asks here.
Temporary tables are never counted as part of the warehouse.
"""

from __future__ import annotations

import duckdb
import polars as pl

from trading_assets.warehouse.ddl import TABLES


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    if not schema:
        raise ValueError(f"table name {table!r} must be schema-qualified, e.g. 'raw.bars'")
    return schema, name


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _bound_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str]]:
    """The columns of the fully qualified table or view, from binding a ``SELECT`` of it
    (no scan of every column in the catalog, as ``duckdb_columns()`` does); empty when it
    is missing or is a view that no longer binds (the catalog is asked then)."""
    try:
        relation = con.sql(f"SELECT * FROM {qualified}")
    except duckdb.Error:
        return []
    return list(zip(relation.columns, map(str, relation.types), strict=True))


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.table`` (a table or view) exists.

    Raises:
        ValueError: ``table`` is not schema-qualified.
    """
    schema, name = _split(table)
    if schema != "main" and _bound_columns(con, f"{_quoted(schema)}.{_quoted(name)}"):
        return True
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog <> 'temp' "
            "AND table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """``schema.table`` names of every table and view in the warehouse."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog <> 'temp'"
    ).fetchall()
    return {r[0] for r in rows}


def table_columns(
    con: duckdb.DuckDBPyConnection, table: str, *, temp: bool = False
) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of the columns of ``schema.table`` in order (empty if it does not
    exist); ``temp`` looks at temporary tables instead."""
    schema, name = _split(table) if "." in table else ("main", table)
    if temp or schema != "main":  # a name only one catalog can hold ("main" may be temp's)
        qualified = f"temp.main.{_quoted(name)}" if temp else f"{_quoted(schema)}.{_quoted(name)}"
        columns = _bound_columns(con, qualified)
        if columns:
            return columns
    database = "'temp'" if temp else "current_database()"
    # duckdb_columns(), not information_schema.columns: the same rows, several times faster
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        f"WHERE database_name = {database} AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [schema, name],
    ).fetchall()


def column_names(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of ``schema.table`` in order (empty if it does not exist)."""
    return [name for name, _ in table_columns(con, table)]


def read_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str] | None = None
) -> pl.DataFrame:
    """Rows of ``table`` (registered in ``warehouse.ddl.TABLES``, or with ``columns`` given);
    empty with the registered columns when the table does not exist yet (e.g.
    ``ml.predictions`` before any model has been trained)."""
    if not table_exists(con, table):
        schema = TABLES.get(table, {})
        return pl.DataFrame(schema={c: schema[c] for c in (columns or list(schema)) if c in schema})
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return con.sql(f"SELECT {cols} FROM {table}").pl()


_PAIRS = "__catalog_pairs"


def read_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    pairs: pl.DataFrame,
    columns: list[str],
) -> pl.DataFrame | None:
    """``symbol, timeframe, ts`` + ``columns`` of ``table`` for the (symbol, timeframe)
    ``pairs``, sorted; None when the table does not exist or lacks one of ``columns``."""
    if not table_exists(con, table):
        return None
    if not set(columns) <= set(column_names(con, table)):
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
