"""Backtests kept up to date series by series: only the series whose bars, predictions or
signals changed are backtested again, and both tables are the same as backtesting every
series; stored state is used only while the tables are what the last build wrote."""

from __future__ import annotations

import duckdb
import polars as pl

from tests.trading.conftest import momentum, predictions_frame
from trading_assets.trading.backtest_run import BacktestSettings
from trading_assets.trading.backtest_update import (
    EQUITY_TABLE,
    METRICS_TABLE,
    update_backtests,
)
from trading_assets.warehouse.writes import replace_scope

SETTINGS = BacktestSettings()
SYMBOLS = ("ORCL", "ORCL.B", "ORCL.C")


def _write_inputs(con, orcl: pl.DataFrame, cut: dict[str, int]) -> None:
    """Bars, one model's predictions and a signal per predicted bar for each symbol (ORCL's
    real rows renamed), keeping a symbol's first ``cut[symbol]`` bars only."""
    bars, preds = [], []
    for symbol in SYMBOLS:
        b = orcl.with_columns(pl.lit(symbol).alias("symbol")).head(cut.get(symbol, orcl.height))
        bars.append(b)
        preds.append(predictions_frame(b, "fwd_ret_1-1d-momentum", momentum(b["close"].to_numpy()),
                                       start=300))  # fmt: skip
    bars_frame, preds_frame = pl.concat(bars), pl.concat(preds)
    signals = preds_frame.select(
        "symbol", "timeframe", "ts", (pl.col("prediction") * 50).clip(-1, 1).alias("position")
    )
    for table, frame in (
        ("staging.bars", bars_frame.select("symbol", "timeframe", "ts", "open", "close")),
        ("ml.predictions", preds_frame),
        ("signals.signals", signals),
    ):
        con.register("incoming", frame)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS FROM incoming")
        con.unregister("incoming")


def _tables(con) -> tuple[pl.DataFrame, pl.DataFrame]:
    order = "ORDER BY ALL"
    return (
        con.sql(f"SELECT * FROM {METRICS_TABLE} {order}").pl(),
        con.sql(f"SELECT * FROM {EQUITY_TABLE} {order}").pl(),
    )


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("staging", "ml", "signals"):
        con.execute(f"CREATE SCHEMA {schema}")
    return con


def test_only_changed_series_are_backtested_and_the_tables_equal_a_full_run(orcl):
    con = _connect()
    _write_inputs(con, orcl, {"ORCL.B": orcl.height - 3})
    first = update_backtests(con, SETTINGS, "v", None)
    assert first.recomputed is None and first.write.inserted > 0
    again = update_backtests(con, SETTINGS, "v", first.write.data_version)
    assert again.recomputed == [] and again.run.metrics.is_empty() and again.run.missing == []
    assert again.write.data_version == first.write.data_version
    assert (again.write.inserted, again.write.deleted) == (0, 0)
    _write_inputs(con, orcl, {})  # three more bars (and predictions, signals) of ORCL.B
    newer = update_backtests(con, SETTINGS, "v", again.write.data_version)
    assert newer.recomputed == [("ORCL.B", "1d")]
    assert set(newer.run.metrics["symbol"]) == {"ORCL.B"}
    full = _connect()
    _write_inputs(full, orcl, {})
    everything = update_backtests(full, SETTINGS, "v", None)
    for ours, theirs in zip(_tables(con), _tables(full), strict=True):
        assert ours.equals(theirs)
    assert newer.write.data_version == everything.write.data_version


def test_tables_changed_behind_the_assets_back_are_rebuilt(orcl):
    con = _connect()
    _write_inputs(con, orcl, {})
    first = update_backtests(con, SETTINGS, "v", None)
    replace_scope(con, EQUITY_TABLE, pl.DataFrame(schema=_tables(con)[1].schema), {})
    repaired = update_backtests(con, SETTINGS, "v", first.write.data_version)
    assert repaired.recomputed is None
    assert repaired.write.data_version == first.write.data_version
    assert update_backtests(con, SETTINGS, "v2", first.write.data_version).recomputed is None
