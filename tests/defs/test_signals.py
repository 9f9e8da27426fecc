"""End to end through Dagster on real data (the demo's S&P 500 daily bars): signals with their
checks, backtests and the signal_performance SQL model (the engine's P&L), from predictions
this test writes
(deterministic predictors in ``PREDICTIONS_SCHEMA``; the training asset lives elsewhere).
The logic itself is tested without Dagster in ``tests/trading``."""

from __future__ import annotations

from datetime import timedelta
from inspect import signature
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from trading_assets.definitions import build_definitions
from trading_assets.defs.signals.backtest import BacktestConfig
from trading_assets.defs.signals.signals import SignalsConfig
from trading_assets.home import ProjectHome
from trading_assets.runner import dagster_instance, materialize
from trading_assets.schemas import PREDICTION_CONTRIBUTIONS_SCHEMA, PREDICTIONS_SCHEMA
from trading_assets.sessions import bar_close_of
from trading_assets.trading.backtest_run import BacktestSettings
from trading_assets.trading.consensus import ConsensusConfig
from trading_assets.trading.signals_run import build_signals
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import upsert

UPSTREAM = (
    'key:"raw/source_bars" or key:"staging/bars" or key:"features/labels" or key:"features/regime"'
)
TRADING = 'key:"signals/signals" or key:"signals/backtest" or key:"reports/signal_performance"'
START = 300
KEY = ("model", "model_version", "symbol", "timeframe", "ts")


def _predictions(bars: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Three predictors that use only closes up to the bar: 5-bar momentum, 1-bar reversal,
    distance from the 20-bar mean; and top-2 'contributions' for the momentum model."""
    close = bars["close"].to_numpy()
    logc = np.log(close)
    mom = np.full(close.size, np.nan)
    mom[5:] = (logc[5:] - logc[:-5]) / 5
    rev = np.concatenate([[np.nan], -(logc[1:] - logc[:-1])])
    mean20 = pl.Series(close).rolling_mean(20).to_numpy()
    dist = np.log(close / mean20) / 20
    frames = []
    closes = bar_close_of(bars)  # ^GSPC days are known at the New York close
    for name, values in (("momentum", mom), ("reversal", rev), ("mean_gap", dist)):
        frames.append(
            bars.select("symbol", "timeframe", "ts")
            .with_columns(pl.Series("prediction", values), closes.alias("_close"))
            .slice(START)
            .with_columns(
                model=pl.lit(f"fwd_ret_1-1d-{name}"),
                model_version=pl.lit("test-v1"),
                family=pl.lit("moving_average"),
                target=pl.lit("fwd_ret_1"),
                available_at=pl.col("_close"),
                fold=pl.lit(0, dtype=pl.Int64),
                kind=pl.lit("walk_forward"),
                predicted_at=pl.col("_close") + timedelta(seconds=1),
            )
            .select(list(PREDICTIONS_SCHEMA))
        )
    preds = pl.concat(frames)
    mom_rows = frames[0]
    contributions = pl.concat(
        [
            mom_rows.select(
                "model",
                "model_version",
                "symbol",
                "timeframe",
                "ts",
                pl.lit(rank, dtype=pl.Int64).alias("rank"),
                pl.lit(feature).alias("feature"),
                (pl.col("prediction") * scale).alias("value"),
                (pl.col("prediction") * share).alias("contribution"),
            )  # fmt: skip
            for rank, feature, scale, share in ((1, "ROC5", 5.0, 0.7), (2, "rsi_14", 1000.0, 0.3))
        ]
    ).select(list(PREDICTION_CONTRIBUTIONS_SCHEMA))
    return preds, contributions


def _metadata(instance: dg.DagsterInstance, key: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(key.split("/")))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@pytest.fixture
def demo_home(home: Path, monkeypatch) -> ProjectHome:
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return ProjectHome.from_env()


def test_signals_and_backtests_through_dagster(demo_home: ProjectHome):
    instance = dagster_instance(demo_home)
    defs = build_definitions()
    assert materialize(defs, instance, UPSTREAM, symbols=["^GSPC"]).ok

    # no predictions yet: no signals, and the backtest still has buy-and-hold
    empty = materialize(defs, instance, TRADING)
    assert empty.ok, empty.failures
    assert (
        "no predictions in ml.predictions yet" in _metadata(instance, "signals/signals")["missing"]
    )
    with connect(demo_home.warehouse_path) as con:
        strategies = con.sql("SELECT strategy, bars FROM signals.backtest_metrics").pl()
        bars = con.sql(
            "SELECT symbol, timeframe, ts, close FROM staging.bars "
            "WHERE symbol = '^GSPC' AND timeframe = '1d' ORDER BY ts"
        ).pl()
    assert strategies.rows() == [("buy_and_hold", 5031)]

    preds, contributions = _predictions(bars)
    with connect(demo_home.warehouse_path) as con:
        upsert(
            con, "ml.predictions", preds, ("model", "model_version", "symbol", "timeframe", "ts")
        )
        upsert(con, "ml.prediction_contributions", contributions, (*KEY, "rank"))
    first = materialize(defs, instance, TRADING)
    assert first.ok, first.failures
    assert not any(o.failed_checks for o in first.outcomes.values()), first.outcomes
    assert set(first.outcomes) == {
        "signals/signals",
        "signals/backtest",
        "reports/signal_performance",
    }

    with connect(demo_home.warehouse_path) as con:
        signals = con.sql("SELECT * FROM signals.signals ORDER BY ts").pl()
        metrics = con.sql("SELECT * FROM signals.backtest_metrics ORDER BY strategy").pl()
        equity = con.sql(
            "SELECT strategy, count(*) AS n FROM signals.backtest_equity GROUP BY 1"
        ).pl()
        perf = con.sql("SELECT * FROM reports.signal_performance").pl()
    predicted = bars.height - START
    assert signals.height == predicted  # every predicted bar has a signal
    assert signals["models"].max() >= 1 and (signals["direction"] != 0).mean() > 0.5
    assert signals["position"].abs().max() <= 1.0
    assert (signals["as_of"] == bar_close_of(signals)).all()
    assert (signals["as_of"].dt.hour().is_in([17, 18, 20, 21])).all()  # New York closes, UTC
    # sized on the calibrated edge: the first signals are flat for lack of history, said in
    # the metadata; positions are not all at the caps
    meta = _metadata(instance, "signals/signals")
    assert any("too little history to calibrate the sizing" in n for n in meta["notes"])
    assert "too_little_history" in meta["sizing"] and "t_stat" in meta["sizing"]
    assert (signals["position"].abs() >= 0.999).mean() < 0.5
    assert signals["position"].head(100).abs().max() == 0
    explained = signals.filter(pl.col("explanation").str.contains("ROC5"))
    assert explained.height > 0 and "pushed the forecast" in explained["explanation"][0]
    assert set(metrics["strategy"]) == {
        "buy_and_hold", "consensus", "fwd_ret_1-1d-momentum", "fwd_ret_1-1d-reversal",
        "fwd_ret_1-1d-mean_gap",
    }  # fmt: skip
    assert (metrics["bars"] == predicted).all()
    assert set(equity["n"]) == {predicted}
    hold = metrics.filter(pl.col("strategy") == "buy_and_hold").row(0, named=True)
    s0, s1 = bars["close"][START], bars["close"][-1]
    assert hold["total_return"] == pytest.approx(s1 / s0 - 1, rel=0.05)  # opens vs closes, costs
    assert hold["exposure"] == pytest.approx(1 - 1 / predicted)
    assert perf.height == 1 and perf["signals"][0] == signals.height
    # one P&L: signal_performance reports the engine's consensus backtest, not its own
    consensus = metrics.filter(pl.col("strategy") == "consensus").row(0, named=True)
    for column in ("total_return", "sharpe", "max_drawdown", "hit_rate", "turnover", "exposure"):
        assert perf[column][0] == consensus[column], column
    assert perf["buy_and_hold_return"][0] == hold["total_return"]

    again = materialize(defs, instance, TRADING)
    assert again.ok
    for key, outcome in again.outcomes.items():
        assert outcome.rows_written == 0, key
        assert outcome.data_versions == first.outcomes[key].data_versions, key


def test_run_config_defaults_are_the_logic_defaults():
    """The knobs' defaults (part of the code version) are the logic's own defaults."""
    assert BacktestConfig().settings() == BacktestSettings()
    assert SignalsConfig().consensus_config() == ConsensusConfig()
    assert SignalsConfig().top_drivers == signature(build_signals).parameters["top_drivers"].default
