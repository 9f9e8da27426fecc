"""``signals.signals`` brought up to date: the consensus of only the series whose inputs
changed (:mod:`trading_assets.warehouse.series_state`), written in one transaction.

Every input of a series' signals is a row of that series (its walk-forward and live
predictions, bars, labels, regimes and feature contributions), so a series whose input rows
are unchanged keeps exactly the signals it has; a new bar of one symbol recomputes its
series only. With no trusted state (first build, new code or configuration, a table changed
behind the asset's back) every series is recomputed, and the result is the same.

Frames: timestamps UTC; signals follow ``SIGNALS_SCHEMA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from trading_assets.schemas import SIGNALS_SCHEMA
from trading_assets.trading import consensus, signals_run
from trading_assets.warehouse import series_state
from trading_assets.warehouse.catalog import read_series
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.predictions import (
    LIVE_TABLE,
    WALK_FORWARD_TABLE,
    all_contributions,
    all_predictions,
)
from trading_assets.warehouse.writes import (
    WriteResult,
    content_version,
)

TABLE = "signals.signals"
ASSET = "signals/signals"


@dataclass(frozen=True)
class SignalsInputs:
    """Every input of the signals (see :func:`trading_assets.trading.signals_run.
    build_signals`; None: the table does not exist)."""

    predictions: pl.DataFrame
    bars: pl.DataFrame | None
    labels: pl.DataFrame | None
    regime: pl.DataFrame | None
    contributions: pl.DataFrame

    def frames(self) -> tuple:
        """The inputs in :func:`~trading_assets.trading.signals_run.build_signals`' order."""
        return (self.predictions, self.bars, self.labels, self.regime, self.contributions)

    def of(self, series: set[tuple[str, str]]) -> SignalsInputs:
        """The rows of ``series`` only."""

        def keep(frame: pl.DataFrame | None) -> pl.DataFrame | None:
            if frame is None or frame.height == 0:
                return frame
            return series_state.of_series(frame, series)

        return SignalsInputs(*(keep(f) for f in self.frames()))


def read_inputs(con: duckdb.DuckDBPyConnection) -> SignalsInputs:
    """The inputs of every predicted series from the warehouse (tables created or widened
    to their current columns first)."""
    for table in (TABLE, WALK_FORWARD_TABLE, LIVE_TABLE):
        ensure_table(con, table)  # adds the columns an older release did not write
    predictions = all_predictions(con)
    pairs = predictions.select("symbol", "timeframe").unique()
    return SignalsInputs(
        predictions,
        read_series(con, "staging.bars", pairs, ["open", "close"]),
        read_series(con, "features.labels", pairs, ["fwd_ret_1", "fwd_ret_5"]),
        read_series(con, "features.regime", pairs, ["regime"]),
        all_contributions(con),
    )


@dataclass(frozen=True)
class SignalsUpdate:
    """What :func:`update_signals` did: the :class:`~trading_assets.trading.signals_run.
    SignalsRun` of the recomputed series, the write, and which series were recomputed
    (None: all of them)."""

    run: signals_run.SignalsRun
    write: WriteResult
    recomputed: list[tuple[str, str]] | None


def update_signals(
    con: duckdb.DuckDBPyConnection,
    inputs: SignalsInputs,
    config: consensus.ConsensusConfig,
    top_drivers: int,
    state_version: str,
    trusted_version: str | None,
) -> SignalsUpdate:
    """Recompute the signals of the series whose inputs changed and replace their rows.

    Args:
        con: the warehouse (written in one transaction).
        inputs: :func:`read_inputs`.
        config / top_drivers: as for :func:`~trading_assets.trading.signals_run.build_signals`.
        state_version: the asset's code version and configuration, as text.
        trusted_version: the data version recorded for the last build; stored state is used
            only when the table's content version still equals it.

    Without predictions nothing is written (the stored signals are kept).

    Raises:
        duckdb.Error: the write failed; the transaction is rolled back.
    """
    if inputs.predictions.height == 0:  # nothing to replace them with: keep them
        run = signals_run.build_signals(*inputs.frames(), config, top_drivers)
        rows, version = content_version(con, TABLE)
        return SignalsUpdate(run, WriteResult(0, 0, 0, rows, version), None)
    runs: list[signals_run.SignalsRun] = []

    def compute(series: set[tuple[str, str]] | None) -> pl.DataFrame:
        subset = inputs if series is None else inputs.of(series)
        runs.append(signals_run.build_signals(*subset.frames(), config, top_drivers))
        return runs[-1].signals

    names = ("predictions", "bars", "labels", "regime", "contributions")
    frames = {n: f for n, f in zip(names, inputs.frames(), strict=True) if f is not None}
    write, recomputed = series_state.update_changed(
        con, ASSET, state_version, trusted_version, TABLE, SIGNALS_SCHEMA, frames, compute
    )
    run = runs[0] if runs else signals_run.SignalsRun(pl.DataFrame(schema=SIGNALS_SCHEMA))
    return SignalsUpdate(run, write, recomputed)


__all__ = ["SignalsInputs", "SignalsUpdate", "read_inputs", "update_signals"]
