"""``signals.backtest_metrics`` and ``signals.backtest_equity`` brought up to date: the
backtests of only the series whose inputs changed (:mod:`trading_assets.warehouse.
series_state`), both tables written in one transaction.

A series' backtests read only its own rows (its bars, its models' predictions, its
signals), so a series whose input rows are unchanged keeps exactly the metrics and equity
it has; a new bar of one symbol backtests its series again. With no trusted state (first
build, new code or configuration, a table changed behind the asset's back) every series is
backtested, and the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from trading_assets.schemas import BACKTEST_EQUITY_SCHEMA, BACKTEST_METRICS_SCHEMA
from trading_assets.trading import backtest_run
from trading_assets.trading.consensus import latest_versions
from trading_assets.warehouse import series_state
from trading_assets.warehouse.catalog import read_series, read_table, table_exists
from trading_assets.warehouse.writes import (
    WriteResult,
    content_version,
    replace_scope_rows,
    transaction,
)

METRICS_TABLE = "signals.backtest_metrics"
EQUITY_TABLE = "signals.backtest_equity"
ASSET = "signals/backtest"


@dataclass(frozen=True)
class BacktestUpdate:
    """What :func:`update_backtests` did: the :class:`~trading_assets.trading.backtest_run.
    BacktestRun` of the recomputed series, the combined write of both tables
    (:func:`~trading_assets.trading.backtest_run.combined_write`), the equity table's write,
    and which series were recomputed (None: all of them)."""

    run: backtest_run.BacktestRun
    write: WriteResult
    equity: WriteResult
    recomputed: list[tuple[str, str]] | None


def stored_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The combined data version of the two tables as they are now (None: not both exist)."""
    if not (table_exists(con, METRICS_TABLE) and table_exists(con, EQUITY_TABLE)):
        return None
    versions = [
        WriteResult(0, 0, 0, *content_version(con, t)) for t in (METRICS_TABLE, EQUITY_TABLE)
    ]
    return backtest_run.combined_write(*versions).data_version


def update_backtests(
    con: duckdb.DuckDBPyConnection,
    settings: backtest_run.BacktestSettings,
    state_version: str,
    trusted_version: str | None,
) -> BacktestUpdate:
    """Backtest the series whose inputs changed and replace their rows of both tables.

    Args:
        con: the warehouse (read, then written in one transaction).
        settings: costs, long-only, cliff factor, buy-and-hold timeframes.
        state_version: the asset's code version and configuration, as text.
        trusted_version: the data version recorded for the last build; stored state is used
            only when the tables' combined version still equals it.

    Raises:
        duckdb.Error: the write failed; the transaction is rolled back.
    """
    predictions = latest_versions(read_table(con, "ml.predictions"))
    signals = read_table(con, "signals.signals", ["symbol", "timeframe", "ts", "position"])
    every = read_table(con, "staging.bars", ["symbol", "timeframe"]).unique()
    pairs = backtest_run.series_to_backtest(every, predictions, signals, settings.timeframes)
    bars = read_series(con, "staging.bars", pairs, ["open", "close"])
    frames = {"pairs": pairs, "predictions": predictions, "signals": signals}
    now = series_state.fingerprints(con, {**frames, **({"bars": bars} if bars is not None else {})})
    trusted = bool(trusted_version) and stored_version(con) == trusted_version
    changed = series_state.changed_series(con, ASSET, state_version, now, trusted)
    if changed is not None and not changed:  # every series as stored: nothing to backtest
        run = backtest_run.BacktestRun(
            pl.DataFrame(schema=BACKTEST_METRICS_SCHEMA),
            pl.DataFrame(schema=BACKTEST_EQUITY_SCHEMA),
        )
    else:
        todo = pairs if changed is None else series_state.of_series(pairs, changed)
        run = backtest_run.run_backtests(todo, bars, predictions, signals, settings)
    with transaction(con):
        if changed is None:
            metrics = replace_scope_rows(
                con, METRICS_TABLE, run.metrics, {}, schema=BACKTEST_METRICS_SCHEMA
            )
            equity = replace_scope_rows(
                con, EQUITY_TABLE, run.equity, {}, schema=BACKTEST_EQUITY_SCHEMA
            )
        else:
            metrics = series_state.replace_series(
                con, METRICS_TABLE, run.metrics, changed, BACKTEST_METRICS_SCHEMA
            )
            equity = series_state.replace_series(
                con, EQUITY_TABLE, run.equity, changed, BACKTEST_EQUITY_SCHEMA
            )
        series_state.store(con, ASSET, state_version, now, changed)
    written = backtest_run.combined_write(metrics, equity)
    return BacktestUpdate(run, written, equity, None if changed is None else sorted(changed))


def stored_metrics(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every series' stored metrics (``BACKTEST_METRICS_SCHEMA``; empty without the table)."""
    if not table_exists(con, METRICS_TABLE):
        return pl.DataFrame(schema=BACKTEST_METRICS_SCHEMA)
    return con.sql(f"SELECT * FROM {METRICS_TABLE} ORDER BY symbol, timeframe, strategy").pl()


__all__ = ["BacktestUpdate", "stored_metrics", "stored_version", "update_backtests"]
