"""Consensus: walk-forward IC weights (negative IC -> 0, per regime), no look-ahead."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from tests.trading.conftest import momentum, oracle, predictions_frame
from trading_assets.schemas import SIGNALS_SCHEMA
from trading_assets.trading.consensus import (
    ConsensusConfig,
    consensus_signals,
    horizon_of,
    latest_versions,
    walk_forward_ic,
)

START = 300  # predictions start after the regime warm-up, like an out-of-sample fold


def _inputs(orcl, orcl_labels):
    fwd1 = orcl_labels["fwd_ret_1"].to_numpy()
    fwd5 = orcl_labels["fwd_ret_5"].to_numpy()
    preds = pl.concat(
        [
            predictions_frame(orcl, "good", oracle(fwd1, 0.03, 1), start=START),
            predictions_frame(orcl, "anti", -oracle(fwd1, 0.03, 2), start=START),
            predictions_frame(orcl, "good5", oracle(fwd5, 0.05, 3), "fwd_ret_5", start=START),
            predictions_frame(orcl, "momentum", momentum(orcl["close"].to_numpy()), start=START),
        ]
    )
    return preds


def test_walk_forward_ic_is_the_correlation_of_exactly_the_realized_window():
    rng = np.random.default_rng(0)
    n, h, lookback = 400, 5, 60
    x = rng.normal(size=n)
    y = 0.3 * x + rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    groups = (rng.random(n) < 0.4).astype(np.int64)
    ic, obs = walk_forward_ic(x, y, groups, h, lookback)
    for t in (10, 50, 123, 250, 399):
        s = np.arange(t - h + 1)
        s = s[np.isfinite(x[s]) & (groups[s] == groups[t])][-lookback:]
        assert obs[t] == s.size
        if s.size >= 3:
            assert ic[t] == pytest.approx(np.corrcoef(x[s], y[s])[0, 1], abs=1e-10)


def test_negative_ic_gets_zero_weight_and_the_good_model_leads(orcl, orcl_labels, orcl_regime):
    result = consensus_signals(_inputs(orcl, orcl_labels), orcl, orcl_labels, orcl_regime)
    w = result.weights.filter(pl.col("ts") > orcl["ts"][START + 400])
    by_model = w.group_by("model").agg(
        pl.col("weight").mean(), pl.col("ic").mean(), (pl.col("weight") > 0).mean().alias("on")
    )
    got = {r["model"]: r for r in by_model.iter_rows(named=True)}
    assert got["anti"]["ic"] < -0.2 and got["anti"]["weight"] == 0 and got["anti"]["on"] == 0
    assert got["good"]["ic"] > 0.2 and got["good"]["on"] == 1
    assert got["good5"]["ic"] > 0.2
    sig = result.signals.filter(pl.col("ts") > orcl["ts"][START + 400])
    assert sig.schema == pl.Schema(SIGNALS_SCHEMA)
    fwd = sig.join(orcl_labels, on=["symbol", "timeframe", "ts"])
    hit = (fwd["direction"] == fwd["dir_1"]).mean()
    assert hit > 0.6  # led by the positive-IC models
    assert sig["models"].max() <= 3 and sig["agreement"].min() >= 0
    assert sig["position"].abs().max() <= 1.0 and sig["position"].abs().max() > 0.5


def test_weights_are_per_regime(orcl, orcl_labels, orcl_regime):
    fwd1 = orcl_labels["fwd_ret_1"].to_numpy()
    regime = orcl_regime["regime"].to_numpy()
    calm = np.isin(regime, ["up_calm", "down_calm"])
    # right in calm regimes, wrong in volatile ones
    values = np.where(calm, 1.0, -1.0) * oracle(fwd1, 0.03, 4)
    preds = pl.concat(
        [
            predictions_frame(orcl, "calm_expert", values, start=START),
            predictions_frame(orcl, "momentum", momentum(orcl["close"].to_numpy()), start=START),
        ]
    )
    result = consensus_signals(preds, orcl, orcl_labels, orcl_regime)
    w = (
        result.weights.filter(pl.col("model") == "calm_expert")
        .join(orcl_regime, on=["symbol", "timeframe", "ts"])
        .filter(pl.col("ts") > orcl["ts"][START + 2000])  # every regime has 30+ pairs
    )
    calm_w = w.filter(pl.col("regime").str.ends_with("calm"))["weight"]
    vol_w = w.filter(pl.col("regime").str.ends_with("volatile"))["weight"]
    assert calm_w.min() > 0.2 and vol_w.max() == 0
    flat = ConsensusConfig(per_regime=False)
    pooled = consensus_signals(preds, orcl, orcl_labels, orcl_regime, flat).weights
    pooled = pooled.filter(pl.col("model") == "calm_expert").join(w.select("ts"), on="ts")
    # one IC over all regimes mixes the right and the wrong half: far weaker
    calm_ic = w.filter(pl.col("regime").str.ends_with("calm"))["ic"].mean()
    assert abs(pooled["ic"].mean()) < 0.5 * calm_ic


@pytest.mark.parametrize("cut", [START + 200, START + 1500, 4000])
def test_no_signal_uses_a_label_not_yet_realized(orcl, orcl_labels, orcl_regime, cut):
    preds = _inputs(orcl, orcl_labels)
    base = consensus_signals(preds, orcl, orcl_labels, orcl_regime).signals
    ts_cut = orcl["ts"][cut]
    rng = np.random.default_rng(cut)

    # the label fwd_ret_h of bar s is realized at the close of bar s + h: scramble every label
    # not yet realized at cut's close (fwd_ret_1 from bar cut, fwd_ret_5 from bar cut - 4),
    # and every prediction and bar after the cut
    def scrambled(col: str, first: int) -> pl.Expr:
        noise = pl.Series(rng.normal(0, 0.1, orcl_labels.height))
        late = pl.col("ts") >= orcl["ts"][first]
        return pl.when(late).then(pl.col(col) + noise).otherwise(pl.col(col)).alias(col)

    labels2 = orcl_labels.with_columns(scrambled("fwd_ret_1", cut), scrambled("fwd_ret_5", cut - 4))
    preds2 = preds.with_columns(
        pl.when(pl.col("ts") > ts_cut).then(-pl.col("prediction")).otherwise(pl.col("prediction"))
    )
    later = pl.col("ts") > ts_cut  # the sizing calibrates on opens: those move too
    bars2 = orcl.with_columns(
        pl.when(later).then(pl.col("close") * 1.5).otherwise(pl.col("close")),
        pl.when(later).then(pl.col("open") * 0.7).otherwise(pl.col("open")),
    )
    got = consensus_signals(preds2, bars2, labels2, orcl_regime).signals
    before = pl.col("ts") <= ts_cut
    a, b = base.filter(before), got.filter(before)
    assert a.height > 0 and a.height == b.height
    for col in ("direction", "position", "agreement", "confidence", "consensus", "models"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-9, atol=1e-12)
    # the boundary is exact: the 1-bar label of bar cut - 1 IS realized at cut's close
    realized = orcl_labels.with_columns(
        pl.when(pl.col("ts") == orcl["ts"][cut - 1])
        .then(-pl.col("fwd_ret_1") * 50)
        .otherwise(pl.col("fwd_ret_1"))
        .alias("fwd_ret_1")
    )
    moved = consensus_signals(preds, orcl, realized, orcl_regime).signals
    at_cut = pl.col("ts") == ts_cut
    assert moved.filter(at_cut)["consensus"][0] != base.filter(at_cut)["consensus"][0]
    # and the 5-bar label of bar cut - 5 is realized at cut's close: it moves good5's IC
    realized5 = orcl_labels.with_columns(
        pl.when(pl.col("ts") == orcl["ts"][cut - 5])
        .then(-pl.col("fwd_ret_5") * 50)
        .otherwise(pl.col("fwd_ret_5"))
        .alias("fwd_ret_5")
    )
    ic5 = consensus_signals(preds, orcl, realized5, orcl_regime).weights
    base_w = consensus_signals(preds, orcl, orcl_labels, orcl_regime).weights
    pick = (pl.col("model") == "good5") & (pl.col("ts") <= ts_cut)
    a5, b5 = ic5.filter(pick)["ic"].to_numpy(), base_w.filter(pick)["ic"].to_numpy()
    np.testing.assert_array_equal(a5[:-1], b5[:-1])  # nothing before the cut changes
    assert a5[-1] != b5[-1]


def test_single_model_late_predictions_and_versions(orcl, orcl_labels, orcl_regime):
    fwd1 = orcl_labels["fwd_ret_1"].to_numpy()
    one = predictions_frame(orcl, "only", oracle(fwd1, 0.03, 5), start=START)
    result = consensus_signals(one, orcl, orcl_labels, orcl_regime)
    assert result.signals.height == one.height
    assert set(result.signals["models"].unique()) <= {0, 1}
    late = one.with_columns(
        pl.when(pl.col("ts") == one["ts"][100])
        .then(pl.col("available_at") + timedelta(hours=1))
        .otherwise(pl.col("available_at"))
        .alias("available_at")
    )
    lated = consensus_signals(late, orcl, orcl_labels, orcl_regime)
    assert lated.signals.height == one.height - 1
    assert any("after their bar's close" in n for n in lated.notes)
    old = one.with_columns(
        pl.lit("v0").alias("model_version"), pl.col("available_at") - timedelta(days=400)
    )
    picked = latest_versions(pl.concat([old, one]))
    assert picked["model_version"].unique().to_list() == ["v1"]
    # a retraining on the same bars: equal newest available_at, the later computation wins,
    # even with fewer rows and a smaller version string (a baseline's "run-<id>")
    retrained = one.slice(1).with_columns(
        pl.lit("v0-newer").alias("model_version"), pl.col("predicted_at") + timedelta(hours=2)
    )
    for rows in ([one, retrained], [retrained, one]):
        picked = latest_versions(pl.concat(rows))
        assert picked["model_version"].unique().to_list() == ["v0-newer"]


def test_no_predictions_and_no_labels_say_what_is_missing(orcl, orcl_labels, orcl_regime):
    empty = consensus_signals(
        predictions_frame(orcl, "m", np.full(orcl.height, np.nan)), orcl, orcl_labels, orcl_regime
    )
    assert empty.signals.height == 0 and "no predictions" in empty.notes[0]
    one = predictions_frame(orcl, "m", momentum(orcl["close"].to_numpy()), start=START)
    unlabeled = consensus_signals(one, orcl, orcl_labels.clear(), orcl_regime)
    assert unlabeled.signals.height == one.height
    assert (unlabeled.signals["direction"] == 0).all()  # no IC yet: flat
    assert any("no labels yet" in n for n in unlabeled.notes)


def test_target_must_be_a_forward_return(orcl, orcl_labels, orcl_regime):
    assert horizon_of("fwd_ret_5") == 5
    with pytest.raises(ValueError, match="dir_1"):
        horizon_of("dir_1")
    odd = predictions_frame(orcl, "direction", np.ones(orcl.height), "dir_1", start=START)
    result = consensus_signals(odd, orcl, orcl_labels, orcl_regime)
    assert result.signals.height == 0 and "['dir_1']" in result.notes[0]


def test_live_predictions_give_the_newest_bar_a_live_signal(orcl, orcl_labels, orcl_regime):
    """Walk-forward rows end where labels are realized; a live row on the last bar (label
    NULL) gets a signal of kind ``live`` whose weight comes from realized pairs only."""
    fwd1 = orcl_labels["fwd_ret_1"].to_numpy()
    last = orcl.height - 1
    assert np.isnan(fwd1[last])  # the newest bar's label is not realized
    values = oracle(fwd1, 0.03, 1)
    walk = predictions_frame(orcl, "good", values, start=START).filter(
        pl.col("ts") < orcl["ts"][last]
    )
    live_row = predictions_frame(orcl, "good", np.full(orcl.height, 0.01), start=last)
    live_row = live_row.with_columns(pl.lit("live").alias("kind"))
    result = consensus_signals(pl.concat([walk, live_row]), orcl, orcl_labels, orcl_regime)
    newest = result.signals.filter(pl.col("ts") == orcl["ts"][last]).row(0, named=True)
    assert newest["kind"] == "live"
    assert newest["direction"] == 1 and newest["agreeing_models"] == "good"
    assert result.signals.filter(pl.col("ts") < orcl["ts"][last])["kind"].unique().to_list() == [
        "walk_forward"
    ]
    # the live value does not move any weight: weights of earlier bars are the same without it
    alone = consensus_signals(walk, orcl, orcl_labels, orcl_regime)
    before = result.weights.filter(pl.col("ts") < orcl["ts"][last]).select("ts", "weight")
    assert before.equals(alone.weights.select("ts", "weight"))
    assert result.weights.filter(pl.col("ts") == orcl["ts"][last])["weight"][0] > 0
    # the live signal is sized like the others, calibrated from realized pairs only (the
    # 500 newest of bars up to last - 2); earlier positions are the same without it
    sized = result.sizing.filter(pl.col("ts") == orcl["ts"][last]).row(0, named=True)
    assert sized["sizing"] == "sized" and sized["pairs"] == 500 and newest["position"] > 0
    assert sized["expected_return"] > 0 and sized["t_stat"] > 1
    assert result.signals.filter(pl.col("ts") < orcl["ts"][last])["position"].equals(
        alone.signals["position"]
    )
