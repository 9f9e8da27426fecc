"""The backtests of ``signals/backtest`` without Dagster: strategies per series, all-flat and
broken bars, split cliffs, which series are tested, and the combined write of two tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from trading_assets.schemas import BACKTEST_EQUITY_SCHEMA, BACKTEST_METRICS_SCHEMA
from trading_assets.trading.backtest_run import (
    BacktestSettings,
    backtest_series,
    combined_write,
    run_backtests,
    series_to_backtest,
    strategy_targets,
)
from trading_assets.warehouse.writes import WriteResult

NONE = pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC"), "model": pl.String})


def _series(frame: pl.DataFrame, *cols: str) -> pl.DataFrame:
    return frame.select("symbol", "timeframe", *cols)


def test_all_flat_signals_and_a_single_model_are_reported(orcl):
    preds = _series(orcl, "ts").with_columns(model=pl.lit("only"), prediction=pl.lit(0.0))
    flat = _series(orcl, "ts").with_columns(position=pl.lit(0.0))
    metrics, equity, notes = backtest_series("ORCL", "1d", orcl, preds, flat, BacktestSettings())
    assert metrics["strategy"].to_list() == ["buy_and_hold", "only", "consensus"]
    assert any("never took a position" in n for n in notes)
    consensus = metrics.filter(pl.col("strategy") == "consensus").row(0, named=True)
    assert consensus["exposure"] == 0 and consensus["total_return"] == 0
    assert consensus["sharpe"] is None  # undefined, stored as NULL
    assert equity.height == 3 * orcl.height
    broken = orcl.with_columns(
        pl.when(pl.int_range(pl.len()) == 10).then(None).otherwise(pl.col("open")).alias("open")
    )
    metrics, _, notes = backtest_series("ORCL", "1d", broken, preds, flat, BacktestSettings())
    assert "1 bar(s) without a positive open/close left out" in notes[0]
    assert (metrics["bars"] == orcl.height - 1).all()


def test_split_cliff_in_raw_prices_is_flagged_not_a_return(orcl):
    split_at = orcl["ts"][3000]
    raw = orcl.with_columns(  # unadjusted for a 4:1 split: earlier prices four times higher
        pl.when(pl.col("ts") < split_at).then(pl.col(c) * 4).otherwise(pl.col(c)).alias(c)
        for c in ("open", "close")
    )
    settings = BacktestSettings()
    adjusted, _, notes = backtest_series("ORCL", "1d", raw, NONE, NONE, settings)
    assert len(notes) == 1 and notes[0].startswith("ORCL 1d: 1 split-like cliff(s) (>= 3.0x")
    assert notes[0].endswith(f"neutralized, at {split_at.date()}")
    clean, _, _ = backtest_series("ORCL", "1d", orcl, NONE, NONE, settings)
    got, want = adjusted["total_return"][0], clean["total_return"][0]
    assert got == pytest.approx(want, rel=0.05)  # only the split day's overnight move is lost
    assert want > 10  # ORCL rose 20-fold; unadjusted it would look like a quarter of that


def test_strategies_start_at_the_first_prediction_and_long_only_clips(orcl):
    preds = (
        _series(orcl, "ts")
        .slice(100, 50)
        .with_columns(model=pl.lit("m"), prediction=pl.Series(np.linspace(-1, 1, 50)))
    )
    targets = strategy_targets(orcl, preds, NONE, long_only=False)
    assert list(targets) == ["buy_and_hold", "m"]
    assert set(np.unique(targets["m"])) == {-1.0, 0.0, 1.0}
    assert (targets["m"][:100] == 0).all() and (targets["m"][150:] == 0).all()
    clipped = strategy_targets(orcl, preds, NONE, long_only=True)
    assert clipped["m"].min() == 0.0 and clipped["buy_and_hold"].min() == 1.0
    metrics, equity, _ = backtest_series("ORCL", "1d", orcl, preds, NONE, BacktestSettings())
    assert (metrics["bars"] == orcl.height - 100).all()
    assert metrics["start"][0] == orcl["ts"][100]
    assert equity.schema == pl.Schema(BACKTEST_EQUITY_SCHEMA)


def test_fewer_than_two_bars_is_a_note_not_an_error(orcl):
    metrics, equity, notes = backtest_series(
        "ORCL", "1d", orcl.head(1), NONE, NONE, BacktestSettings()
    )
    assert metrics.height == equity.height == 0
    assert notes == ["ORCL 1d: fewer than 2 bars to backtest"]


def test_series_to_backtest_takes_configured_timeframes_and_predicted_series():
    staging = pl.DataFrame({"symbol": ["A", "A", "B"], "timeframe": ["1d", "1h", "1d"]})
    preds = pl.DataFrame({"symbol": ["C", "C"], "timeframe": ["1h", "1h"]})
    signals = pl.DataFrame({"symbol": ["A"], "timeframe": ["1h"]})
    pairs = series_to_backtest(staging, preds, signals, ("1d",))
    assert pairs.rows() == [("A", "1d"), ("A", "1h"), ("B", "1d"), ("C", "1h")]
    assert series_to_backtest(staging, preds.clear(), signals.clear(), ()).height == 0


def test_run_backtests_skips_series_without_bars_and_says_what_is_missing(orcl):
    pairs = pl.DataFrame({"symbol": ["ORCL", "ZZZ"], "timeframe": ["1d", "1d"]})
    bars = _series(orcl, "ts", "open", "close")
    preds = pl.DataFrame(
        schema={"model": pl.String, "symbol": pl.String, "timeframe": pl.String,
                "ts": pl.Datetime("us", "UTC"), "prediction": pl.Float64}
    )  # fmt: skip
    signals = pl.DataFrame(
        schema={"symbol": pl.String, "timeframe": pl.String, "ts": pl.Datetime("us", "UTC"),
                "position": pl.Float64}
    )  # fmt: skip
    run = run_backtests(pairs, bars, preds, signals, BacktestSettings())
    assert run.metrics["strategy"].to_list() == ["buy_and_hold"]
    assert run.equity.height == orcl.height
    assert run.notes == ["ZZZ 1d: no bars in staging.bars; skipped"]
    assert run.missing == ["no predictions in ml.predictions yet: only buy_and_hold is backtested"]
    empty = run_backtests(pairs, None, preds, signals, BacktestSettings())
    assert empty.metrics.schema == pl.Schema(BACKTEST_METRICS_SCHEMA)
    assert empty.equity.schema == pl.Schema(BACKTEST_EQUITY_SCHEMA)
    assert empty.metrics.height == 0 and len(empty.notes) == 2
    assert empty.missing[-1] == "no bars in staging.bars: nothing to backtest"


def test_combined_write_sums_changes_and_hashes_both_versions():
    m, e = WriteResult(3, 0, 1, 10, "10-aa"), WriteResult(30, 0, 2, 100, "100-bb")
    both = combined_write(m, e)
    assert (both.inserted, both.updated, both.deleted, both.rows) == (33, 0, 3, 10)
    assert len(both.data_version) == 16
    assert combined_write(m, e) == both
    assert combined_write(m, WriteResult(0, 0, 0, 100, "100-cc")).data_version != (
        both.data_version
    )
