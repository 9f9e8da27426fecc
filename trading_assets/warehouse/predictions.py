"""Warehouse reads and writes of model predictions: walk-forward (``ml.predictions``, written
by training) and live (``ml.live_predictions``, written by the served champions).

Both tables follow :data:`trading_assets.schemas.PREDICTIONS_SCHEMA`, keyed (model,
model_version, symbol, timeframe, ts); timestamps UTC; predictions are forward log returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.warehouse import writes
from trading_assets.warehouse.catalog import column_names, read_table, table_exists
from trading_assets.warehouse.ddl import ensure_table

WALK_FORWARD_TABLE = "ml.predictions"
LIVE_TABLE = "ml.live_predictions"
CONTRIBUTIONS_TABLE = "ml.prediction_contributions"
LIVE_CONTRIBUTIONS_TABLE = "ml.live_prediction_contributions"
TRAINING_TABLE = "features.training_table"


def training_tail(
    con: duckdb.DuckDBPyConnection,
    timeframe: str,
    bars: int,
    symbols: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The last ``bars`` rows of every series of ``timeframe`` in ``features.training_table``
    (every column), sorted by symbol, ts; only ``symbols`` when given; empty when the table
    does not exist."""
    if not table_exists(con, TRAINING_TABLE):
        return pl.DataFrame()
    only = "" if symbols is None else "AND list_contains($3, symbol) "
    params: list = [timeframe, bars] + ([list(symbols)] if symbols is not None else [])
    return con.sql(
        f"SELECT * FROM {TRAINING_TABLE} WHERE timeframe = $1 {only}"
        "QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) <= $2 "
        "ORDER BY symbol, ts",
        params=params,
    ).pl()


def newest_unlabeled(con: duckdb.DuckDBPyConnection, timeframe: str, target: str) -> pl.DataFrame:
    """``symbol, ts``: the newest bar of each series of ``timeframe`` in
    ``features.training_table`` whose label ``target`` is not realized yet (NULL); series
    without one are absent, and so is everything when the table or the column is missing."""
    empty = pl.DataFrame(schema={"symbol": pl.String(), "ts": schemas.UTC_TS})
    if not table_exists(con, TRAINING_TABLE) or target not in column_names(con, TRAINING_TABLE):
        return empty
    return con.sql(
        f'SELECT symbol, max(ts) AS ts FROM {TRAINING_TABLE} WHERE timeframe = $1 AND "{target}" '
        "IS NULL GROUP BY symbol ORDER BY symbol",
        params=[timeframe],
    ).pl()


def newest_walk_forward_versions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """model -> the version of its newest walk-forward predictions: the latest
    ``available_at``; on a tie (a retraining on the same bars) the one computed last
    (``predicted_at``), then more rows, then the larger version string, as
    :func:`trading_assets.trading.consensus.latest_versions` picks."""
    if not table_exists(con, WALK_FORWARD_TABLE):
        return {}
    rows = con.execute(
        "SELECT model, model_version FROM (SELECT model, model_version, "
        "max(available_at) AS newest, max(predicted_at) AS computed, count(*) AS n "
        f"FROM {WALK_FORWARD_TABLE} GROUP BY ALL) QUALIFY row_number() OVER (PARTITION BY "
        "model ORDER BY newest DESC, computed DESC NULLS LAST, n DESC, model_version DESC) = 1"
    ).fetchall()
    return {m: v for m, v in rows}


def live_watermarks(
    con: duckdb.DuckDBPyConnection, model: str, version: str, timeframe: str
) -> pl.DataFrame:
    """``symbol, last_ts``: the newest bar each series has a live prediction of ``model`` at
    ``version`` for (empty when none)."""
    empty = pl.DataFrame(schema={"symbol": pl.String(), "last_ts": schemas.UTC_TS})
    if not table_exists(con, LIVE_TABLE):
        return empty
    return con.sql(
        f"SELECT symbol, max(ts) AS last_ts FROM {LIVE_TABLE} "
        "WHERE model = $1 AND model_version = $2 AND timeframe = $3 GROUP BY symbol",
        params=[model, version, timeframe],
    ).pl()


def version_predictions(con: duckdb.DuckDBPyConnection, model: str, version: str) -> pl.DataFrame:
    """The stored out-of-sample predictions of ``model`` at ``version``: its walk-forward rows
    (``ml.predictions``) and its live rows (``ml.live_predictions``, bars after its training
    data), one row per (symbol, ts) with the walk-forward row first, as ``symbol`` (String),
    ``ts`` (UTC bar open) and ``prediction`` (Float64 log return); empty without any."""
    parts = [
        f"SELECT symbol, ts, prediction, {rank} AS rank FROM {table} "
        "WHERE model = $1 AND model_version = $2"
        for rank, table in enumerate((WALK_FORWARD_TABLE, LIVE_TABLE))
        if table_exists(con, table)
    ]
    schema = {"symbol": pl.String(), "ts": schemas.UTC_TS, "prediction": pl.Float64()}
    if not parts:
        return pl.DataFrame(schema=schema)
    rows = con.sql(
        f"SELECT symbol, ts, prediction FROM ({' UNION ALL '.join(parts)}) "
        "QUALIFY row_number() OVER (PARTITION BY symbol, ts ORDER BY rank) = 1 "
        "ORDER BY symbol, ts",
        params=[model, version],
    ).pl()
    return rows.cast(schema) if rows.height else pl.DataFrame(schema=schema)


def write_live(
    con: duckdb.DuckDBPyConnection,
    served: Mapping[str, str],
    rows: pl.DataFrame,
    contributions: pl.DataFrame | None = None,
) -> writes.WriteResult:
    """Store live ``rows`` (and their feature ``contributions``) in one transaction: rows of
    a served model at another version than ``served[model]`` (a former champion) are
    deleted, then ``rows`` are upserted.

    Raises:
        duckdb.Error: the write failed; nothing changed.
    """
    with writes.transaction(con):
        ensure_table(con, LIVE_TABLE)
        ensure_table(con, LIVE_CONTRIBUTIONS_TABLE)
        deleted = 0
        for model, version in served.items():
            con.execute(
                f"DELETE FROM {LIVE_CONTRIBUTIONS_TABLE} WHERE model = ? AND model_version <> ?",
                [model, version],
            )
            deleted += int(
                con.execute(
                    f"SELECT count(*) FROM {LIVE_TABLE} WHERE model = ? AND model_version <> ?",
                    [model, version],
                ).fetchall()[0][0]
            )
            con.execute(
                f"DELETE FROM {LIVE_TABLE} WHERE model = ? AND model_version <> ?",
                [model, version],
            )
        result = writes.upsert_rows(
            con, LIVE_TABLE, rows.select(list(schemas.PREDICTIONS_SCHEMA)),
            schemas.PREDICTIONS_KEY,
        )  # fmt: skip
        if contributions is not None and contributions.height:
            writes.upsert_rows(
                con, LIVE_CONTRIBUTIONS_TABLE,
                contributions.select(list(schemas.PREDICTION_CONTRIBUTIONS_SCHEMA)),
                schemas.PREDICTION_CONTRIBUTIONS_KEY,
            )  # fmt: skip
    return writes.WriteResult(
        result.inserted, result.updated, deleted, result.rows, result.data_version
    )


def all_contributions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Feature contributions of walk-forward and live predictions together
    (``PREDICTION_CONTRIBUTIONS_SCHEMA``)."""
    frames = [read_table(con, t) for t in (CONTRIBUTIONS_TABLE, LIVE_CONTRIBUTIONS_TABLE)]
    frames = [f.cast(schemas.PREDICTION_CONTRIBUTIONS_SCHEMA) for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=schemas.PREDICTION_CONTRIBUTIONS_SCHEMA)
    return pl.concat(frames)


def all_predictions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Walk-forward and live predictions together (``PREDICTIONS_SCHEMA``). Rows stored
    before ``kind`` existed (NULL there) read as their table's kind; call
    :func:`trading_assets.warehouse.ddl.ensure_table` on both tables first to add the columns
    to a warehouse an older release wrote."""
    frames = [
        read_table(con, table).with_columns(pl.col("kind").fill_null(kind))
        for table, kind in ((WALK_FORWARD_TABLE, "walk_forward"), (LIVE_TABLE, "live"))
    ]
    return pl.concat([f.select(list(schemas.PREDICTIONS_SCHEMA)) for f in frames]).cast(
        schemas.PREDICTIONS_SCHEMA
    )
