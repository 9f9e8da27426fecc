"""The signals of ``signals/signals`` without Dagster: missing tables in plain words, the
explained consensus, and the summary of stored signals."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.trading.conftest import momentum, predictions_frame
from trading_assets.schemas import (
    PREDICTION_CONTRIBUTIONS_SCHEMA,
    PREDICTIONS_SCHEMA,
    SIGNALS_SCHEMA,
)
from trading_assets.trading.consensus import ConsensusConfig, consensus_signals
from trading_assets.trading.explain import explain
from trading_assets.trading.signals_run import (
    all_flat,
    build_signals,
    complete_inputs,
    latest_explanation,
    series_summary,
    sizing_summary,
)

START = 300
NO_CONTRIBUTIONS = pl.DataFrame(schema=PREDICTION_CONTRIBUTIONS_SCHEMA)


def _one(orcl) -> pl.DataFrame:
    return predictions_frame(orcl, "m", momentum(orcl["close"].to_numpy()), start=START)


def test_missing_tables_become_empty_frames_and_are_said(orcl):
    none = pl.DataFrame(schema=PREDICTIONS_SCHEMA)
    bars, labels, regime, missing = complete_inputs(none, None, None, None, NO_CONTRIBUTIONS)
    assert missing == ["no predictions in ml.predictions yet (no model has been trained)"]
    assert bars.columns == ["symbol", "timeframe", "ts", "open", "close"] and bars.height == 0
    assert labels.columns == ["symbol", "timeframe", "ts"]
    assert regime.schema["regime"] == pl.String
    _, _, _, missing = complete_inputs(_one(orcl), None, None, None, NO_CONTRIBUTIONS)
    assert missing == [
        "no bars in staging.bars for the predicted series",
        "features.labels is missing: no realized labels, every IC unknown",
        "features.regime is missing: weights use every bar's IC",
        "no feature contributions: explanations name no drivers",
    ]
    closes = orcl.select("symbol", "timeframe", "ts", "open", "close")
    given = complete_inputs(_one(orcl), closes, closes.head(0), closes.head(0), NO_CONTRIBUTIONS)
    assert given[0] is closes and given[3] == [
        "no feature contributions: explanations name no drivers"
    ]


def test_build_signals_is_the_explained_consensus(orcl, orcl_labels, orcl_regime):
    preds, config = _one(orcl), ConsensusConfig()
    run = build_signals(preds, orcl, orcl_labels, orcl_regime, NO_CONTRIBUTIONS, config, 2)
    want = consensus_signals(preds, orcl, orcl_labels, orcl_regime, config)
    assert run.signals.equals(explain(want.signals, want.weights, NO_CONTRIBUTIONS, 2, want.sizing))
    assert run.notes == want.notes and run.sizing.equals(want.sizing)
    assert run.signals.height == preds.height and run.signals.columns == list(SIGNALS_SCHEMA)
    assert run.signals["explanation"].str.contains("No feature contributions").any()
    empty = build_signals(preds.clear(), None, None, None, NO_CONTRIBUTIONS, ConsensusConfig())
    assert empty.signals.height == 0 and empty.missing[0].startswith("no predictions")


def test_summary_of_stored_signals(orcl, orcl_labels, orcl_regime):
    run = build_signals(
        _one(orcl), orcl, orcl_labels, orcl_regime, NO_CONTRIBUTIONS, ConsensusConfig()
    )
    summary = series_summary(run.signals)
    assert summary.columns == [
        "symbol", "timeframe", "signals", "long_share", "short_share", "mean_abs_position",
        "flat_share", "turnover", "mean_models",
    ]  # fmt: skip
    row = summary.row(0, named=True)
    assert row["signals"] == run.signals.height
    assert 0 < row["long_share"] + row["short_share"] <= 1
    positions = run.signals.sort("ts")["position"].to_numpy()
    assert row["turnover"] == pytest.approx(np.abs(np.diff(positions)).mean())
    assert row["flat_share"] == pytest.approx((positions == 0).mean())
    sizing = sizing_summary(run.sizing).row(0, named=True)
    reasons = run.sizing["sizing"].value_counts()
    assert {r: sizing[r] for r in reasons["sizing"]} == dict(reasons.iter_rows())
    early = run.sizing.filter(pl.col("sizing") == "too_little_history")
    later = run.sizing.filter(pl.col("sizing").is_in(["sized", "no_edge", "in_band"]))
    assert sizing["too_little_history"] == early.height > 0
    assert early["pairs"].max() < 100 <= later["pairs"].min()  # min_calibration_pairs
    assert early["ts"].max() < later["ts"].min() and (early["expected_return"] == 0).all()
    newest = run.sizing.sort("ts").row(-1, named=True)
    assert sizing["pairs"] == newest["pairs"] == 500 and sizing["t_stat"] == newest["t_stat"]
    assert not all_flat(run.signals)
    assert all_flat(run.signals.with_columns(direction=pl.lit(0, pl.Int8)))
    assert not all_flat(run.signals.clear())
    newest = run.signals.sort("ts", descending=True)["explanation"][0]
    assert latest_explanation(run.signals.reverse()) == newest
    assert latest_explanation(run.signals.clear()) == ""
