"""Warehouse reads and writes of the price tables: ``raw.<kind>`` (bars, ticks, quotes,
quote bars), ``ops.source_items`` (what was ingested from where, and the state it ended in),
``ops.rejected_rows`` (rows set aside), ``raw.corporate_actions`` and ``staging.bars``.

Timestamps are UTC, prices float64 in the quote currency (see :mod:`trading_assets.schemas`).
Reads create a missing table first (empty), so a symbol without data reads as no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.sources.states import STORED
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import (
    WriteResult,
    replace_scope_rows,
    transaction,
    upsert_rows,
)

SOURCE_ITEMS = "ops.source_items"
REJECTED_ROWS = "ops.rejected_rows"
CORPORATE_ACTIONS = "raw.corporate_actions"
REJECTED_SCHEMA = schemas.REJECTED_ROWS_SCHEMA
#: the key columns of ``staging.bars``, the default columns of :func:`read_staging_bars`
BAR_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")


def known_fingerprints(con: duckdb.DuckDBPyConnection, kind: str, symbol: str) -> dict[str, str]:
    """origin -> fingerprint of the source items of ``kind`` of ``symbol`` whose rows were
    stored when last read (landed whole or partly; see
    :class:`trading_assets.sources.base.SourceItem`)."""
    ensure_table(con, SOURCE_ITEMS)
    rows = con.execute(
        f"SELECT origin, fingerprint FROM {SOURCE_ITEMS} "
        "WHERE kind = ? AND symbol = ? AND status IN (SELECT unnest(?))",
        [kind, symbol, list(STORED)],
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True)
class IngestWrite:
    """What :func:`write_ingest` did, and what the symbol's table holds after it.

    Attributes:
        result: the upsert of the rows into ``raw.<kind>``, scoped to the symbol.
        latest: the symbol's 5 stored rows with the latest ts, newest first.
        spans: per timeframe ``timeframe, rows, first, last`` (UTC) of the symbol's stored
            rows, sorted by timeframe; None for kinds without a timeframe (ticks, quotes).
    """

    result: WriteResult
    latest: pl.DataFrame
    spans: pl.DataFrame | None


def write_ingest(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    symbol: str,
    rows: pl.DataFrame,
    items: pl.DataFrame,
    rejected: pl.DataFrame | None = None,
    actions: pl.DataFrame | None = None,
) -> IngestWrite:
    """Upsert ``rows`` into ``raw.<kind>`` and ``items`` into ``ops.source_items``, replace
    the ``ops.rejected_rows`` of the items read by ``rejected``, and upsert ``actions`` into
    ``raw.corporate_actions``, in ONE transaction; then summarise the symbol's stored rows
    with DuckDB aggregates (the symbol's whole history is never read back).

    Args:
        con: a writable connection.
        kind: a row kind of :data:`trading_assets.schemas.KINDS` (``bars``, ``ticks``...).
        symbol: the symbol all of ``rows`` belong to.
        rows: canonical rows of ``kind``; where a key repeats, the last row wins.
        items: rows of ``ops.source_items`` (:data:`trading_assets.schemas.SOURCE_ITEMS_SCHEMA`);
            nothing is written there when empty.
        rejected: rows of ``ops.rejected_rows``
            (:data:`trading_assets.schemas.REJECTED_ROWS_SCHEMA`) of the items in ``items``.
        actions: rows of ``raw.corporate_actions``
            (:data:`trading_assets.schemas.CORPORATE_ACTIONS_SCHEMA`) of ``symbol``.

    Raises:
        KeyError: an unknown ``kind``.
        duckdb.Error: the write failed; the transaction is rolled back and nothing changes.
    """
    schema, key = schemas.KINDS[kind]
    table = f"raw.{kind}"
    with transaction(con):
        result = upsert_rows(con, table, rows, key, scope={"symbol": symbol}, schema=schema)
        if items.height:
            upsert_rows(con, SOURCE_ITEMS, items, schemas.SOURCE_ITEMS_KEY)
        _replace_rejected(con, items, rejected)
        if actions is not None and actions.height:
            upsert_rows(
                con,
                CORPORATE_ACTIONS,
                actions,
                schemas.CORPORATE_ACTIONS_KEY,
                scope={"symbol": symbol},
                schema=schemas.CORPORATE_ACTIONS_SCHEMA,
            )
        latest = con.sql(
            f"SELECT * FROM {table} WHERE symbol = $1 ORDER BY ts DESC LIMIT 5",
            params=[symbol],
        ).pl()
        spans = (
            con.sql(
                f"SELECT timeframe, count(*) AS rows, min(ts) AS first, max(ts) AS last "
                f"FROM {table} WHERE symbol = $1 GROUP BY timeframe ORDER BY timeframe",
                params=[symbol],
            ).pl()
            if "timeframe" in schema
            else None
        )
    return IngestWrite(result, latest, spans)


def _replace_rejected(
    con: duckdb.DuckDBPyConnection, items: pl.DataFrame, rejected: pl.DataFrame | None
) -> None:
    """The rejected rows of each item read replace the ones recorded when it was last read."""
    if not items.height:
        return
    rejected = rejected if rejected is not None else pl.DataFrame(schema=REJECTED_SCHEMA)
    for origin, kind in items.select("origin", "kind").unique().iter_rows():
        mine = rejected.filter((pl.col("origin") == origin) & (pl.col("kind") == kind))
        replace_scope_rows(
            con, REJECTED_ROWS, mine, {"origin": origin, "kind": kind}, schema=REJECTED_SCHEMA
        )


def read_raw_prices(
    con: duckdb.DuckDBPyConnection, symbol: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(bars, ticks)``: every row of ``symbol`` in ``raw.bars`` and ``raw.ticks`` (their
    canonical schemas, in storage order)."""
    for table in ("raw.bars", "raw.ticks"):
        ensure_table(con, table)
    bars = con.sql("SELECT * FROM raw.bars WHERE symbol = $1", params=[symbol]).pl()
    ticks = con.sql("SELECT * FROM raw.ticks WHERE symbol = $1", params=[symbol]).pl()
    return bars, ticks


def read_staging_bars(
    con: duckdb.DuckDBPyConnection,
    symbol: str | None = None,
    columns: Sequence[str] = BAR_KEY,
) -> pl.DataFrame:
    """``columns`` of ``staging.bars`` for ``symbol`` sorted by (timeframe, ts), or for every
    symbol (``symbol`` None) sorted by (symbol, timeframe, ts).

    Raises:
        duckdb.BinderException: a column ``staging.bars`` does not have.
    """
    ensure_table(con, "staging.bars")
    cols = ", ".join(columns)
    if symbol is None:
        return con.sql(f"SELECT {cols} FROM staging.bars ORDER BY symbol, timeframe, ts").pl()
    return con.sql(
        f"SELECT {cols} FROM staging.bars WHERE symbol = $1 ORDER BY timeframe, ts",
        params=[symbol],
    ).pl()


def read_source_items(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every row of ``ops.source_items`` (:data:`trading_assets.schemas.SOURCE_ITEMS_SCHEMA`)."""
    ensure_table(con, SOURCE_ITEMS)
    return con.sql(f"SELECT * FROM {SOURCE_ITEMS} ORDER BY origin, kind").pl()


def write_unowned_files(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, kind: str
) -> WriteResult:
    """Replace the ``ops.source_items`` rows of ``kind`` (the files no symbol owns, see
    :func:`trading_assets.sources.inventory.unowned_rows`) by ``rows``, in one transaction.

    A file whose fingerprint, status and error are unchanged keeps its stored row (and its
    ``ingested_at``), so listing the same folder again writes nothing and keeps the data
    version.
    """
    ensure_table(con, SOURCE_ITEMS)
    same = ["origin", "kind", "fingerprint", "status", "error"]
    stored = con.sql(
        f"SELECT origin, kind, fingerprint, status, error, ingested_at FROM {SOURCE_ITEMS} "
        "WHERE kind = $1",
        params=[kind],
    ).pl()
    kept = rows.join(stored, on=same, how="left", nulls_equal=True, suffix="_stored")
    rows = kept.with_columns(pl.coalesce("ingested_at_stored", "ingested_at").alias("ingested_at"))
    rows = rows.select(list(schemas.SOURCE_ITEMS_SCHEMA))
    with transaction(con):
        return replace_scope_rows(
            con, SOURCE_ITEMS, rows, {"kind": kind}, schema=schemas.SOURCE_ITEMS_SCHEMA
        )


def read_split_actions(con: duckdb.DuckDBPyConnection, symbol: str) -> pl.DataFrame | None:
    """The stock splits the sources of ``symbol`` declared (``raw.corporate_actions``):
    ``ex_date`` (Date, the session date) and ``ratio`` (new shares per old share), by date;
    None when there are none (see :func:`trading_assets.bars.splits.split_adjust`)."""
    ensure_table(con, CORPORATE_ACTIONS)
    splits = con.sql(
        f"SELECT CAST(ts AT TIME ZONE 'UTC' AS DATE) AS ex_date, value AS ratio "
        f"FROM {CORPORATE_ACTIONS} WHERE symbol = $1 AND action = 'split' ORDER BY ts",
        params=[symbol],
    ).pl()
    return splits if splits.height else None
