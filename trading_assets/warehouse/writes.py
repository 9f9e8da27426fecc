"""Atomic, idempotent writes and content-based data versions.

Every write is one DuckDB transaction: either all of it lands or none of it does. Re-writing
the same rows changes nothing, and the data version of a scope (for example one symbol's rows)
is a hash of its content, so it changes exactly when the stored content changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from trading_assets.warehouse.catalog import table_columns
from trading_assets.warehouse.ddl import ensure_table

_INCOMING = "__incoming"


@dataclass(frozen=True)
class WriteResult:
    """What one write did.

    Attributes:
        inserted: rows added.
        updated: existing rows whose values changed.
        deleted: rows removed (replace writes only).
        rows: rows in the written scope after the write.
        data_version: content hash of the scope after the write (see :func:`content_version`).
    """

    inserted: int
    updated: int
    deleted: int
    rows: int
    data_version: str

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted)


def _where(scope: Mapping[str, Any] | None, alias: str = "") -> tuple[str, list[Any]]:
    if not scope:
        return "TRUE", []
    prefix = f"{alias}." if alias else ""
    clause = " AND ".join(f'{prefix}"{col}" = ?' for col in scope)
    return clause, list(scope.values())


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckDB transaction: committed on success, rolled back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def content_version(
    con: duckdb.DuckDBPyConnection, table: str, scope: Mapping[str, Any] | None = None
) -> tuple[int, str]:
    """Row count and an order-independent content hash of ``table`` rows in ``scope``.

    Returns ``(rows, version)`` where version is ``"<rows>-<16 hex digits>"``; an empty scope
    is ``"0-0000000000000000"``.
    """
    where, params = _where(scope, "t")
    ((rows, digest),) = con.execute(
        f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t WHERE {where}", params
    ).fetchall()
    return int(rows), rows_version(int(rows), int(digest))


def rows_version(rows: int, digest: int) -> str:
    """The data version ``"<rows>-<16 hex digits>"`` of ``rows`` rows whose DuckDB row hashes
    XOR to ``digest`` (an unsigned 64-bit int): :func:`content_version`'s format, for callers
    that combine the hashes themselves."""
    return f"{rows}-{digest:016x}"


def _dml_count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    # fetchall, not fetchone: DuckDB 2 refuses new statements while a result is unfinished
    result = con.execute(sql, params or []).fetchall()
    return int(result[0][0]) if result else 0


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    scope: Mapping[str, Any] | None = None,
    schema: Mapping[str, pl.DataType] | None = None,
) -> WriteResult:
    """Insert new keys and update changed rows of ``frame`` into ``table``, in one transaction.

    ``frame`` must have the table's columns; where it holds a key more than once the last row
    wins. Rows already stored with identical values are left alone, so re-running the same
    write inserts and updates nothing. ``scope`` (e.g. ``{"symbol": "ETH/USDT"}``) selects the
    rows the returned data version describes.

    Raises:
        duckdb.Error: the write failed; the transaction is rolled back and nothing changes.
    """
    with transaction(con):
        return upsert_rows(con, table, frame, key, scope=scope, schema=schema)


def upsert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    scope: Mapping[str, Any] | None = None,
    schema: Mapping[str, pl.DataType] | None = None,
) -> WriteResult:
    """:func:`upsert` without its own transaction, to combine several writes in one
    (``with transaction(con): ...``)."""
    ensure_table(con, table, dict(schema) if schema else None)
    frame = frame.unique(subset=list(key), keep="last", maintain_order=True)
    value_cols = [c for c in frame.columns if c not in key]
    on = " AND ".join(f't."{k}" = i."{k}"' for k in key)
    differs = " OR ".join(f't."{c}" IS DISTINCT FROM i."{c}"' for c in value_cols) or "FALSE"
    assignments = ", ".join(f'"{c}" = i."{c}"' for c in value_cols)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    using = ", ".join(f'"{k}"' for k in key)
    con.register(_INCOMING, frame)
    try:
        updated = 0
        if value_cols and frame.height:
            updated = _dml_count(
                con,
                f"UPDATE {table} AS t SET {assignments} FROM {_INCOMING} AS i "
                f"WHERE {on} AND ({differs})",
            )
        inserted = 0
        if frame.height:
            inserted = _dml_count(
                con,
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_INCOMING} "
                f"ANTI JOIN {table} USING ({using})",
            )
    finally:
        con.unregister(_INCOMING)
    rows, version = content_version(con, table, scope)
    return WriteResult(inserted, updated, 0, rows, version)


def replace_scope(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    scope: Mapping[str, Any],
    *,
    schema: Mapping[str, pl.DataType] | None = None,
) -> WriteResult:
    """Replace every row of ``table`` in ``scope`` by ``frame``, in one transaction.

    Used for derived tables that are recomputed per scope (e.g. one symbol's resampled bars).
    ``inserted``/``deleted`` count the rows that differ between old and new content; when
    nothing differs nothing is written.

    Raises:
        ValueError: ``frame`` holds rows outside ``scope``.
        duckdb.Error: the write failed; the transaction is rolled back.
    """
    with transaction(con):
        return replace_scope_rows(con, table, frame, scope, schema=schema)


def replace_scope_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    scope: Mapping[str, Any],
    *,
    schema: Mapping[str, pl.DataType] | None = None,
) -> WriteResult:
    """:func:`replace_scope` without its own transaction, to combine several writes in one
    (``with transaction(con): ...``)."""
    for col, value in scope.items():
        if frame.height and frame.filter(pl.col(col) != value).height:
            raise ValueError(f"replace_scope on {table}: rows outside scope {col}={value!r}")
    ensure_table(con, table, dict(schema) if schema else None)
    where, params = _where(scope)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    # rows are compared by a hash of their values (one BIGINT, not every column); the
    # incoming values cast to the stored types first, so equal values hash equally
    types = dict(table_columns(con, table))
    stored_hash = f"hash({cols})"
    incoming_hash = "hash(" + ", ".join(f'CAST("{c}" AS {types[c]})' for c in frame.columns) + ")"
    con.register(_INCOMING, frame)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __old_rows AS SELECT {stored_hash} AS h "
            f"FROM {table} WHERE {where}",
            params,
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __new_rows AS SELECT {incoming_hash} AS h "
            f"FROM {_INCOMING}"
        )
        gone = _dml_count(con, "SELECT count(*) FROM (FROM __old_rows EXCEPT ALL FROM __new_rows)")
        new = _dml_count(con, "SELECT count(*) FROM (FROM __new_rows EXCEPT ALL FROM __old_rows)")
        if gone or new:  # every row of a changed value is replaced (exact for duplicates)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __changed_rows AS SELECT DISTINCT h FROM ("
                "(FROM __old_rows EXCEPT ALL FROM __new_rows) UNION ALL "
                "(FROM __new_rows EXCEPT ALL FROM __old_rows))"
            )
            changed = "SELECT h FROM __changed_rows"
            con.execute(
                f"DELETE FROM {table} WHERE {where} AND {stored_hash} IN ({changed})", params
            )
            con.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_INCOMING} "
                f"WHERE {incoming_hash} IN ({changed})"
            )
            con.execute("DROP TABLE __changed_rows")
        con.execute("DROP TABLE __old_rows")
        con.execute("DROP TABLE __new_rows")
        rows, version = content_version(con, table, scope)
    finally:
        con.unregister(_INCOMING)
    return WriteResult(new, 0, gone, rows, version)
