"""Which (symbol, timeframe) series of an asset's inputs changed since its last build.

An asset that computes every series from whole input tables (``signals/signals`` reads all
predictions, bars, labels, regimes and contributions) recomputes only the series whose
input rows changed: a new bar of one symbol touches one or two series out of many.

Each build stores, per series, a fingerprint of its rows in every input (row count and the
XOR of DuckDB's row hashes, the measure :func:`trading_assets.warehouse.writes.
content_version` uses) in ``ops.series_state``, under the asset's *state version* (its code
version and configuration: a change of either recomputes everything). The next build
compares its inputs' fingerprints with them. They are trusted only when the caller says the
result table is still what the last build wrote (its content version equals the data version
Dagster recorded for that materialization): another checkout, a manual edit of the table or
a build that failed after writing makes every series change.

:func:`update_changed` does all of it for a table with one row set per series (fingerprints,
trust, recomputation, per-series replacement and the new state, in one transaction). No
Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb
import polars as pl

from trading_assets.warehouse.writes import (
    WriteResult,
    content_version,
    replace_scope_rows,
    transaction,
)

STATE_TABLE = "ops.series_state"
SERIES = ("symbol", "timeframe")

#: series -> input name -> (rows, digest)
Fingerprints = dict[tuple[str, str], dict[str, tuple[int, int]]]


def fingerprints(
    con: duckdb.DuckDBPyConnection, inputs: Mapping[str, pl.DataFrame]
) -> Fingerprints:
    """Per series, the row count and XOR of row hashes of each input frame (each with
    ``symbol`` and ``timeframe`` columns; an input without rows of a series is absent from
    its entry). Hashes are DuckDB's, over every column of the row."""
    out: Fingerprints = {}
    for name, frame in inputs.items():
        if frame.height == 0:
            continue
        con.register("__series_input", frame)
        try:
            rows = con.execute(
                "SELECT symbol, timeframe, count(*), coalesce(bit_xor(hash(t)), 0) "
                "FROM __series_input t GROUP BY symbol, timeframe"
            ).fetchall()
        finally:
            con.unregister("__series_input")
        for symbol, timeframe, count, digest in rows:
            out.setdefault((str(symbol), str(timeframe)), {})[name] = (int(count), int(digest))
    return out


def changed_series(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    state_version: str,
    now: Fingerprints,
    trusted: bool,
) -> set[tuple[str, str]] | None:
    """The series whose inputs differ from those the last build of ``asset`` at
    ``state_version`` stored (new, changed or gone), or None (recompute everything) when
    nothing is stored for that version or ``trusted`` is False."""
    if not trusted or not _exists(con):
        return None
    rows = con.execute(
        f"SELECT symbol, timeframe, input, rows, digest FROM {STATE_TABLE} "
        "WHERE asset = ? AND state_version = ?",
        [asset, state_version],
    ).fetchall()
    if not rows:
        return None
    stored: Fingerprints = {}
    for symbol, timeframe, name, count, digest in rows:
        if name:  # "" marks a series stored with no input rows at all
            stored.setdefault((symbol, timeframe), {})[name] = (int(count), int(digest))
        else:
            stored.setdefault((symbol, timeframe), {})
    return {s for s in set(now) | set(stored) if now.get(s) != stored.get(s)}


def store(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    state_version: str,
    now: Fingerprints,
    only: set[tuple[str, str]] | None = None,
) -> None:
    """Store ``now`` as ``asset``'s fingerprints at ``state_version``: every series (``only``
    None: the rest of the asset's state is dropped), or the ``only`` series (the others are
    kept). Call inside the transaction that writes the asset's rows."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (asset VARCHAR, state_version VARCHAR, "
        "symbol VARCHAR, timeframe VARCHAR, input VARCHAR, rows BIGINT, digest UBIGINT)"
    )
    if only is None:
        con.execute(f"DELETE FROM {STATE_TABLE} WHERE asset = ?", [asset])
        series = set(now)
    else:
        keys = [list(s) for s in only]
        con.execute(
            f"DELETE FROM {STATE_TABLE} WHERE asset = ? AND (state_version <> ? OR "
            "list_contains(?, [symbol, timeframe]))",
            [asset, state_version, keys],
        )
        series = {s for s in only if s in now}
    rows = [
        [asset, state_version, symbol, timeframe, name, count, digest]
        for symbol, timeframe in sorted(series)
        for name, (count, digest) in (sorted(now[(symbol, timeframe)].items()) or [("", (0, 0))])
    ]
    if rows:
        con.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def of_series(frame: pl.DataFrame, series: set[tuple[str, str]]) -> pl.DataFrame:
    """The rows of ``frame`` (with ``symbol, timeframe``) that belong to ``series``."""
    wanted = pl.DataFrame(
        [list(s) for s in sorted(series)],
        schema={"symbol": pl.String, "timeframe": pl.String},
        orient="row",
    )
    return frame.join(wanted, on=list(SERIES), how="semi")


def replace_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    series: set[tuple[str, str]],
    schema: Mapping[str, pl.DataType],
) -> WriteResult:
    """Replace the rows of each of ``series`` in ``table`` by its rows of ``frame`` (call
    inside a transaction); the result's row count and data version are the whole table's."""
    inserted = deleted = 0
    for symbol, timeframe in sorted(series):
        rows = frame.filter((pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe))
        scope = {"symbol": symbol, "timeframe": timeframe}
        one = replace_scope_rows(con, table, rows, scope, schema=schema)
        inserted, deleted = inserted + one.inserted, deleted + one.deleted
    rows_, version = content_version(con, table)
    return WriteResult(inserted, 0, deleted, rows_, version)


def update_changed(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    state_version: str,
    trusted_version: str | None,
    table: str,
    schema: Mapping[str, pl.DataType],
    inputs: Mapping[str, pl.DataFrame],
    compute: Callable[[set[tuple[str, str]] | None], pl.DataFrame],
    expand: Callable[[set[tuple[str, str]]], set[tuple[str, str]]] = lambda changed: changed,
) -> tuple[WriteResult, list[tuple[str, str]] | None]:
    """Bring ``table`` (one row set per series) up to date with ``inputs``: recompute the
    series whose input rows changed and replace their rows, with the state, in one
    transaction.

    Args:
        con / asset / state_version: as for :func:`changed_series`.
        trusted_version: the data version recorded for the asset's last build; the stored
            state is used only while ``table``'s content version equals it.
        table / schema: the result table.
        inputs: frames with ``symbol, timeframe`` (:func:`fingerprints`).
        compute: ``compute(series)`` -> the result rows of those series (None: of every
            series); not called when nothing changed.
        expand: the series whose rows depend on ``changed`` ones (e.g. through a reference
            symbol), including them.

    Returns:
        The write (row count and data version of the whole table) and the recomputed
        series (None: all of them).

    Raises:
        duckdb.Error: the write failed; the transaction is rolled back.
    """
    now = fingerprints(con, inputs)
    trusted = bool(trusted_version) and content_version(con, table)[1] == trusted_version
    changed = changed_series(con, asset, state_version, now, trusted)
    if changed is not None:
        changed = expand(changed) if changed else changed
        if not changed:
            rows, version = content_version(con, table)
            return WriteResult(0, 0, 0, rows, version), []
    frame = compute(changed)
    with transaction(con):
        if changed is None:
            write = replace_scope_rows(con, table, frame, {}, schema=schema)
        else:
            write = replace_series(con, table, frame, changed, schema)
        store(con, asset, state_version, now, changed)
    return write, None if changed is None else sorted(changed)


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    from trading_assets.warehouse.catalog import table_exists

    return table_exists(con, STATE_TABLE)


__all__ = [
    "STATE_TABLE",
    "Fingerprints",
    "changed_series",
    "fingerprints",
    "of_series",
    "replace_series",
    "store",
    "update_changed",
]
