"""Warehouse reads and writes of the feature tables (one DuckDB transaction per write).

- Feature tables (``features.*``, keyed symbol, timeframe, ts UTC) are created from the
  families' Polars schemas; a table whose columns no longer match (a feature added or renamed)
  is dropped and recreated, and its watermarks cleared, so every symbol is recomputed in full
  on its next run.
- ``ops.feature_watermarks`` records, per (family, symbol, timeframe), what the stored rows
  were computed from (:class:`trading_assets.features.incremental.Watermark`); it is written
  in the same transaction as the rows it describes.
- ``ops.feature_measures`` keeps, per (family or table, symbol, timeframe), the check
  measures of the stored rows and what they were measured on
  (:class:`trading_assets.features.series.MeasuredSeries`; symbol ``*`` for
  ``features.cross_asset`` and ``features.sentiment``, which cover every symbol), so a run
  measures only the timeframes whose rows or bars changed: the per-series families,
  ``features.context``, ``features.cross_asset`` and ``features.sentiment``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from trading_assets.features import context as context_logic
from trading_assets.features import joins
from trading_assets.features.checks import Measure
from trading_assets.features.cross_asset import NAMES
from trading_assets.features.incremental import SeriesFamily, Watermark
from trading_assets.features.joins import ContextJoin
from trading_assets.features.sentiment import NAMES as SENTIMENT_NAMES
from trading_assets.features.series import (
    MeasuredSeries,
    SeriesWrite,
    combine_measures,
    measure_keys,
    remeasure,
    timeframe_measures,
)
from trading_assets.schemas import UTC_TS
from trading_assets.warehouse.catalog import table_columns, table_exists
from trading_assets.warehouse.ddl import create_table_sql, duckdb_type, ensure_table
from trading_assets.warehouse.writes import WriteResult, rows_version, transaction, upsert_rows

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
MEASURES = "ops.feature_measures"
MEASURES_SCHEMA: dict[str, pl.DataType] = {
    "family": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "measure_key": pl.String(),
    "partial": pl.String(),
}


@dataclass(frozen=True)
class SeriesWriteResult(WriteResult):
    """:class:`~trading_assets.warehouse.writes.WriteResult` of :func:`write_series`, with
    ``series``: timeframe -> ``(rows, digest)`` of the symbol's rows after the write."""

    series: dict[str, tuple[int, int]] = field(default_factory=dict)


CONTEXT = "features.context"
_INCOMING = "__feature_rows"
_EXPECTED = "__expected_columns"


def expected_columns(
    con: duckdb.DuckDBPyConnection, schema: Mapping[str, pl.DataType]
) -> list[tuple[str, str]]:
    """The ``(name, DuckDB type)`` pairs DuckDB reports for a table created from ``schema``
    (through a temporary table, dropped again).

    Raises:
        TypeError: a dtype the warehouse does not store (see
            :func:`trading_assets.warehouse.ddl.duckdb_type`).
    """
    cols = ", ".join(f'"{name}" {duckdb_type(dtype)}' for name, dtype in schema.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_EXPECTED} ({cols})")
    try:
        return table_columns(con, _EXPECTED, temp=True)
    finally:
        con.execute(f"DROP TABLE temp.main.{_EXPECTED}")


def ensure_feature_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: Mapping[str, pl.DataType],
    family: str | None = None,
) -> bool:
    """Create ``table`` (``schema.name``) with ``schema``, and the watermarks table.

    An existing table with other columns is dropped and recreated, and ``family``'s
    watermarks are cleared (so every symbol is recomputed in full), in one transaction.

    Returns:
        True when an existing table was recreated.
    """
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
    """timeframe -> stored watermark of ``family`` for ``symbol`` (``last_ts`` UTC).

    Raises:
        duckdb.CatalogException: the watermarks table does not exist yet (call
            :func:`ensure_feature_table` first).
    """
    rows = con.execute(
        f"SELECT timeframe, last_ts, rows, bars_hash, code_version FROM {WATERMARKS} "
        "WHERE family = ? AND symbol = ?",
        [family, symbol],
    ).fetchall()
    return {tf: Watermark(ts, int(n), h, v) for tf, ts, n, h, v in rows}


def last_rows(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> dict[str, dict[str, Any]]:
    """timeframe -> the stored row (column -> value) with the latest ts for ``symbol``.

    Two reads: the latest ts per timeframe (two columns), then those rows only (a window
    over every column of the symbol's rows costs several times more on wide tables)."""
    latest = con.execute(
        f"SELECT timeframe, max(ts) FROM {table} WHERE symbol = ? GROUP BY timeframe", [symbol]
    ).fetchall()
    if not latest:
        return {}
    rows = " OR ".join("(timeframe = ? AND ts = ?)" for _ in latest)
    frame = con.sql(
        f"SELECT * FROM {table} WHERE symbol = ? AND ({rows}) ORDER BY timeframe, ts",
        params=[symbol, *(value for pair in latest for value in pair)],
    ).pl()
    return {row["timeframe"]: row for row in frame.iter_rows(named=True)}


def series_fingerprints(
    con: duckdb.DuckDBPyConnection, table: str, symbol: str | None
) -> dict[str, tuple[int, int]]:
    """timeframe -> ``(rows, digest)`` of ``symbol``'s stored rows (None: every symbol's):
    the row count and XOR of DuckDB's row hashes
    (:func:`trading_assets.warehouse.writes.content_version`'s measure, per timeframe;
    :func:`symbol_version` combines them into the whole's)."""
    where, params = ("symbol = ?", [symbol]) if symbol is not None else ("true", [])
    rows = con.execute(
        f"SELECT timeframe, count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t "
        f"WHERE {where} GROUP BY timeframe",
        params,
    ).fetchall()
    return {tf: (int(n), int(digest)) for tf, n, digest in rows}


def symbol_version(fingerprints: Mapping[str, tuple[int, int]]) -> tuple[int, str]:
    """Row count and content version of a symbol's rows from :func:`series_fingerprints`:
    equal to :func:`~trading_assets.warehouse.writes.content_version` of the symbol's
    scope (XOR is order-free, so the timeframes' digests combine)."""
    rows = digest = 0
    for n, d in fingerprints.values():
        rows, digest = rows + n, digest ^ d
    return rows, rows_version(rows, digest)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> int:
    result = con.execute(sql, params).fetchall()
    return int(result[0][0]) if result else 0


def _watermark_row(family: str, symbol: str, write: SeriesWrite) -> pl.DataFrame:
    mark = write.watermark
    row = {
        "family": family,
        "symbol": symbol,
        "timeframe": write.timeframe,
        "last_ts": mark.last_ts,
        "rows": mark.rows,
        "bars_hash": mark.bars_hash,
        "code_version": mark.code_version,
    }
    return pl.DataFrame([row], schema=WATERMARK_SCHEMA)


def write_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    family: str,
    symbol: str,
    writes: Sequence[SeriesWrite],
    drop_timeframes: Sequence[str],
) -> SeriesWriteResult:
    """Apply ``writes`` for ``symbol`` and their watermarks, and drop the rows and watermarks
    of ``drop_timeframes``, in ONE transaction.

    Returns:
        rows inserted and deleted (``updated`` is always 0: changed rows are deleted and
        inserted again), the symbol's rows after the write, their content version and the
        fingerprint of each of its timeframes (:func:`series_fingerprints`).

    Raises:
        duckdb.Error: the write failed; the transaction is rolled back and nothing changes.
    """
    inserted = deleted = 0
    with transaction(con):
        for tf in drop_timeframes:
            deleted += _count(
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
            deleted += _count(con, f"DELETE FROM {table} WHERE {where}", params)
            cols = ", ".join(f'"{c}"' for c in write.rows.columns)
            con.register(_INCOMING, write.rows)
            try:
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_INCOMING}")
            finally:
                con.unregister(_INCOMING)
            inserted += write.rows.height
            upsert_rows(
                con,
                WATERMARKS,
                _watermark_row(family, symbol, write),
                WATERMARK_KEY,
                schema=WATERMARK_SCHEMA,
            )
        series = series_fingerprints(con, table, symbol)
    rows, version = symbol_version(series)
    return SeriesWriteResult(inserted, 0, deleted, rows, version, series)


def read_symbol_rows(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> pl.DataFrame:
    """All stored rows of ``symbol`` in ``table``, in storage order (sorting wide rows in
    DuckDB costs seconds; the checks do not need an order)."""
    return con.sql(f"SELECT * FROM {table} WHERE symbol = $1", params=[symbol]).pl()


def read_symbol_features(
    con: duckdb.DuckDBPyConnection, table: str, symbol: str, columns: Sequence[str]
) -> pl.DataFrame:
    """``symbol, timeframe, ts`` + ``columns`` of ``symbol`` in the feature table ``table``,
    sorted by (timeframe, ts); an empty frame without columns when ``table`` does not exist.

    Raises:
        duckdb.BinderException: ``table`` lacks one of ``columns``.
    """
    if not table_exists(con, table):
        return pl.DataFrame()
    names = ", ".join(f'"{c}"' for c in columns)
    return con.sql(
        f"SELECT symbol, timeframe, ts, {names} FROM {table} WHERE symbol = $1 "
        "ORDER BY timeframe, ts",
        params=[symbol],
    ).pl()


def read_timeframes(
    con: duckdb.DuckDBPyConnection, table: str, symbol: str | None, timeframes: Sequence[str]
) -> pl.DataFrame:
    """Stored rows of ``symbol`` (None: every symbol) in ``timeframes``, in storage order."""
    where, params = ("symbol = ? AND ", [symbol]) if symbol is not None else ("", [])
    return con.sql(
        f"SELECT * FROM {table} WHERE {where}list_contains(?, timeframe)",
        params=[*params, list(timeframes)],
    ).pl()


def newest_rows(
    con: duckdb.DuckDBPyConnection, table: str, symbol: str, columns: Sequence[str], n: int = 5
) -> pl.DataFrame:
    """``columns`` of the ``n`` stored rows of ``symbol`` with the latest ts (any timeframe),
    oldest first: the materialization's preview."""
    names = ", ".join(f'"{c}"' for c in columns)
    return con.sql(
        f"SELECT {names} FROM (SELECT {names} FROM {table} WHERE symbol = ? "
        "ORDER BY ts DESC, timeframe LIMIT ?) ORDER BY ts, timeframe",
        params=[symbol, n],
    ).pl()


def read_measures(
    con: duckdb.DuckDBPyConnection, family: str, symbol: str
) -> dict[str, MeasuredSeries]:
    """timeframe -> the check measures :func:`store_measures` kept for ``family`` and
    ``symbol`` (empty before the first)."""
    if not table_exists(con, MEASURES):
        return {}
    rows = con.execute(
        f"SELECT timeframe, measure_key, partial FROM {MEASURES} WHERE family = ? AND symbol = ?",
        [family, symbol],
    ).fetchall()
    return {tf: MeasuredSeries(key, json.loads(partial)) for tf, key, partial in rows}


def store_measures(
    con: duckdb.DuckDBPyConnection,
    family: str,
    symbol: str,
    measured: Mapping[str, MeasuredSeries],
) -> None:
    """Keep ``measured`` (timeframe -> measures) as ``family``'s for ``symbol``, replacing
    what was kept, in one transaction. A cache: each entry names what it was measured on, so
    one that no longer matches the rows is measured again, never trusted."""
    with transaction(con):
        ensure_table(con, MEASURES, MEASURES_SCHEMA)
        con.execute(f"DELETE FROM {MEASURES} WHERE family = ? AND symbol = ?", [family, symbol])
        rows = [
            [family, symbol, tf, m.key, json.dumps(m.partial, sort_keys=True)]
            for tf, m in sorted(measured.items())
        ]
        if rows:
            con.executemany(f"INSERT INTO {MEASURES} VALUES (?, ?, ?, ?, ?)", rows)


def measure_cached(
    con: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    keys: Mapping[str, str],
    read_rows: Callable[[list[str]], pl.DataFrame],
    bars: pl.DataFrame,
    measure: Callable[[pl.DataFrame, pl.DataFrame], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every timeframe's check measures of a feature table (``name`` in
    ``ops.feature_measures``; ``symbol``: the symbol it covers, ``"*"`` for every symbol):
    those kept under the same key (:func:`trading_assets.features.series.measure_keys`), the
    others measured again (:func:`trading_assets.features.series.remeasure`) and kept.

    Returns:
        the measures of every timeframe of ``keys`` in timeframe order, and the timeframes
        measured again.
    """
    measured = read_measures(con, name, symbol)
    now, again = remeasure(keys, measured, read_rows, bars, measure)
    if again or set(now) != set(measured):
        store_measures(con, name, symbol, now)
    return [now[tf].partial for tf in sorted(keys)], again


def measure_stored(
    con: duckdb.DuckDBPyConnection,
    table: str,
    family: SeriesFamily,
    symbol: str,
    version: str,
    fingerprints: Mapping[str, tuple[int, int]],
    bars: pl.DataFrame,
    threshold: float,
) -> tuple[dict[str, Measure], list[str]]:
    """The per-series feature checks' measures of ``symbol``'s stored rows in ``table``
    (:func:`trading_assets.features.series.series_measures`): the timeframes whose rows
    (``fingerprints``, from :func:`series_fingerprints`), bars (``symbol, timeframe, ts``)
    or ``version`` changed are read and measured again, the others come from
    ``ops.feature_measures`` (:func:`measure_cached`).

    Returns:
        the measures by check name, and the timeframes measured again (sorted).
    """
    partials, again = measure_cached(
        con,
        family.name,
        symbol,
        measure_keys(version, fingerprints, bars),
        lambda timeframes: read_timeframes(con, table, symbol, timeframes),
        bars,
        lambda rows, own: timeframe_measures(family, rows, own),
    )
    columns = [name for name, _ in table_columns(con, table)]
    return combine_measures(family, partials, columns, threshold), again


def measure_context(
    con: duckdb.DuckDBPyConnection,
    symbol: str,
    joined: ContextJoin,
    bars: pl.DataFrame,
    version: str,
    threshold: float,
) -> tuple[dict[str, Measure], list[str]]:
    """:func:`trading_assets.features.joins.context_measures` of ``symbol``'s context rows
    just stored from ``joined`` (against the symbol's ``bars``), measuring again only the
    timeframes whose stored rows, bars, sources or ``version`` (code and knobs) changed
    (:func:`measure_cached`, under ``context``).

    Returns:
        the measures by check name, and the timeframes measured again (sorted).
    """
    own = joins.context_bars(joined, bars)
    features = context_logic.feature_names()
    applies = joins.context_applies(joined)
    partials, again = measure_cached(
        con,
        "context",
        symbol,
        measure_keys(
            f"{version}:{sorted(joined.sources)}", series_fingerprints(con, CONTEXT, symbol), own
        ),
        lambda timeframes: joined.frame.filter(pl.col("timeframe").is_in(timeframes)),
        own,
        lambda rows, tf_bars: joins.join_timeframe_measures(rows, tf_bars, features, applies),
    )
    measures = joins.combine_join_measures(
        partials, joined.frame.columns, features, threshold, joins.context_extra(joined)
    )
    return measures, again


def measure_cross_asset(
    con: duckdb.DuckDBPyConnection,
    table: str,
    references: Mapping[str, str | None],
    closes: pl.DataFrame,
    version: str,
    threshold: float,
) -> tuple[dict[str, Measure], list[str]]:
    """:func:`trading_assets.features.joins.cross_asset_measures` of the stored cross-asset
    rows (every symbol) against ``closes``, reading and measuring again only the timeframes
    whose rows, bars or ``version`` (code, knobs and references) changed
    (:func:`measure_cached`, under ``cross_asset``).

    Returns:
        the measures by check name, and the timeframes measured again (sorted).
    """
    fingerprints = series_fingerprints(con, table, None)
    if not fingerprints:  # no rows: every bar is missing, measured as a whole
        joined = joins.CrossAssetJoin(con.sql(f"SELECT * FROM {table}").pl(), dict(references))
        return joins.cross_asset_measures(joined, closes, threshold), []
    bars = joins.cross_asset_bars(references, closes)
    partials, again = measure_cached(
        con,
        "cross_asset",
        "*",
        measure_keys(version, fingerprints, bars),
        lambda timeframes: read_timeframes(con, table, None, timeframes),
        bars,
        joins.cross_asset_timeframe_measures,
    )
    columns = [name for name, _ in table_columns(con, table)]
    extra = joins.cross_asset_extra(references)
    return joins.combine_join_measures(partials, columns, NAMES, threshold, extra), again


def measure_sentiment(
    con: duckdb.DuckDBPyConnection,
    table: str,
    bars: pl.DataFrame,
    version: str,
    threshold: float,
) -> tuple[dict[str, Measure], list[str]]:
    """:func:`trading_assets.features.joins.sentiment_measures` of the stored sentiment rows
    (every symbol) against ``bars`` (``symbol, timeframe, ts`` of every symbol), reading and
    measuring again only the timeframes whose rows, bars or ``version`` (code and source
    table) changed (:func:`measure_cached`, under ``sentiment``).

    Returns:
        the measures by check name, and the timeframes measured again (sorted).
    """
    keys = bars.select(joins.KEY)
    partials, again = measure_cached(
        con,
        "sentiment",
        "*",
        measure_keys(version, series_fingerprints(con, table, None), keys),
        lambda timeframes: read_timeframes(con, table, None, timeframes),
        keys,
        lambda rows, own: joins.join_timeframe_measures(rows, own, SENTIMENT_NAMES),
    )
    columns = [name for name, _ in table_columns(con, table)]
    return joins.combine_join_measures(partials, columns, SENTIMENT_NAMES, threshold), again


def news_summary(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, list[str]]:
    """Rows of the sentiment table with at least one article in their hourly or daily
    bucket, and their symbols (sorted): what
    :func:`trading_assets.features.joins.sentiment_summary` counts, in one query."""
    ((rows, symbols),) = con.execute(
        f"SELECT count(*), coalesce(list_sort(list(DISTINCT symbol)), []) FROM {table} "
        "WHERE sent_1h_count > 0 OR sent_1d_count > 0"
    ).fetchall()
    return int(rows), [str(s) for s in symbols]
