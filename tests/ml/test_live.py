"""Live predictions on real ETH/BTC 1h bars: only closed, unlabeled bars; tail-incremental;
a NULL feature skips that model for that bar; the newest bar's prediction equals the
newest-bar fast path of the same model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from trading_assets.ml import live
from trading_assets.ml.dataset import prepare
from trading_assets.ml.families import FAMILIES, BaselineModel
from trading_assets.ml.newest_bar import FAST_FEATURES, arrays

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def lightgbm(table_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    rows = np.arange(ds.frame.height)
    model = FAMILIES["lightgbm"].fit(ds, rows, FAMILIES["lightgbm"].params({"n_estimators": 20}))
    return live.ServedModel("fwd_ret_1-1h-lightgbm", "lightgbm", "fwd_ret_1", "1h", "3", model)


def test_pending_bars_are_the_closed_unlabeled_newest_ones(table_1h):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", FAST_FEATURES)
    rows = live.pending(frame, NOW)
    newest = table_1h.group_by("symbol").agg(pl.col("ts").max()).sort("symbol")
    assert rows.select("symbol", "ts").sort("symbol").equals(newest)
    # a bar that has not closed yet is not pending
    eth_last = newest.filter(pl.col("symbol") == "ETH/USDT")["ts"][0]
    assert (
        live.pending(frame, eth_last + timedelta(minutes=59))
        .filter(pl.col("symbol") == "ETH/USDT")
        .is_empty()
    )
    # five-bar label: the last five bars of each series are pending
    five = live.pending(live.live_frame(table_1h, "1h", "fwd_ret_5", FAST_FEATURES), NOW)
    assert five.group_by("symbol").len()["len"].to_list() == [5, 5]


def test_live_prediction_equals_the_newest_bar_fast_path(table_1h, crypto_1h, lightgbm):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", lightgbm.model.input_columns)
    rows = live.pending(frame, NOW)
    stamp = datetime(2031, 5, 5, tzinfo=UTC)
    result = live.predict_pending(lightgbm, frame, rows, clock=lambda: stamp)
    assert result.skipped == []
    out = result.rows.sort("symbol")
    assert out.columns == list(live.schemas.PREDICTIONS_SCHEMA)
    assert out["kind"].to_list() == ["live", "live"]
    assert out["predicted_at"].to_list() == [stamp, stamp]
    assert (out["available_at"] == out["ts"] + timedelta(hours=1)).all()
    assert out["fold"].null_count() == 2
    for symbol, value in out.select("symbol", "prediction").iter_rows():
        bars = crypto_1h[symbol].sort("ts")
        fast = lightgbm.model.predict_bars(*arrays(bars))
        assert value == pytest.approx(fast, rel=1e-9, abs=1e-12)


def test_tail_incremental_and_gaps(table_1h, lightgbm):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", lightgbm.model.input_columns)
    done = frame.group_by("symbol").agg(pl.col("ts").max().alias("last_ts"))
    assert live.pending(frame, NOW, since=done).is_empty()
    # drop three ETH bars before the newest one: the newest is pending, the gap is noted
    eth = frame.filter(pl.col("symbol") == "ETH/USDT")
    holed = frame.join(eth.slice(eth.height - 4, 3).select("symbol", "ts"), on=["symbol", "ts"],
                       how="anti")  # fmt: skip
    notes = live.gaps(holed, live.pending(holed, NOW))
    assert notes == [f"ETH/USDT 1h: 3 bar(s) missing before {eth['ts'][-1]}"]


def test_a_null_feature_skips_that_model_for_that_bar_only(table_1h, lightgbm):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", lightgbm.model.input_columns)
    feature = lightgbm.model.input_columns[0]
    broken = frame.with_columns(
        pl.when((pl.col("symbol") == "BTC/USDT") & pl.col("label").is_null())
        .then(None)
        .otherwise(pl.col(feature))
        .alias(feature)
    )
    result = live.predict_pending(lightgbm, broken, live.pending(broken, NOW))
    assert result.rows["symbol"].to_list() == ["ETH/USDT"]
    assert len(result.skipped) == 1
    assert result.skipped[0]["symbol"] == "BTC/USDT"
    assert feature in result.skipped[0]["reason"]
    # a column the model needs that the table lacks: every bar skipped, with the name
    dropped = frame.drop(feature)
    gone = live.predict_pending(lightgbm, dropped, live.pending(dropped, NOW))
    assert gone.rows.is_empty()
    assert {s["reason"] for s in gone.skipped} == {f"feature(s) ['{feature}'] missing"}


def test_baselines_predict_live_by_formula(table_1h, crypto_1h):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", ())
    rows = live.pending(frame, NOW)
    served = live.ServedModel(
        "fwd_ret_1-1h-last", "last", "fwd_ret_1", "1h",
        live.baseline_version({}, "fwd_ret_1-1h-last"), BaselineModel("last", 1),
    )  # fmt: skip
    out = live.predict_pending(served, frame, rows).rows.sort("symbol")
    assert out["model_version"].to_list() == [live.FORMULA_VERSION] * 2
    for symbol, value in out.select("symbol", "prediction").iter_rows():
        close = crypto_1h[symbol].sort("ts")["close"].to_numpy()
        assert value == pytest.approx(np.log(close[-1] / close[-2]))


def test_lightgbm_live_rows_carry_their_top_contributions(table_1h, lightgbm):
    frame = live.live_frame(table_1h, "1h", "fwd_ret_1", lightgbm.model.input_columns)
    result = live.predict_pending(lightgbm, frame, live.pending(frame, NOW))
    contrib = result.contributions.sort("symbol", "rank")
    assert contrib["rank"].to_list() == [1, 2, 3, 1, 2, 3]
    assert set(contrib["feature"]) <= set(lightgbm.model.features)
    assert (contrib["model_version"] == "3").all()


def test_no_champion_yet_serves_only_the_baselines(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    specs, missing = live.served_specs(
        uri, ["1h"], ["fwd_ret_1"], ["lightgbm", "svm", "zero", "last"], {}
    )
    assert missing == ["fwd_ret_1-1h-lightgbm", "fwd_ret_1-1h-svm"]
    assert [s.champion for s in specs] == [None, None]
    assert [(s.family, s.version) for s in live.load_served(specs, uri)] == [
        ("zero", live.FORMULA_VERSION), ("last", live.FORMULA_VERSION)
    ]  # fmt: skip


def test_a_run_serves_the_version_the_alias_had_when_it_started(monkeypatch, lightgbm):
    """The alias moves after resolution: the run keeps the version it resolved."""
    from trading_assets.ml import predictor, tracking

    versions = iter(["7", "8", "9"])
    monkeypatch.setattr(
        tracking, "champion",
        lambda uri, name: tracking.ModelVersion(name, next(versions), "run", "champion", {}),
    )  # fmt: skip
    loads = []
    monkeypatch.setattr(
        predictor, "load_version", lambda uri, name, v: loads.append(v) or lightgbm.model
    )
    specs, _ = live.served_specs("sqlite://", ["1h"], ["fwd_ret_1"], ["lightgbm"], {})
    served = live.load_served(specs, "sqlite://")
    assert [s.version for s in served] == ["7"] and loads == ["7"]
    assert next(versions) == "8"  # resolved once: the later alias moves are not seen


def test_only_series_with_bars_left_to_predict_are_read(table_1h, lightgbm):
    spec = live.ServedSpec(lightgbm.name, "lightgbm", "fwd_ret_1", "1h", "3", None)
    baseline = live.ServedSpec("fwd_ret_1-1h-zero", "zero", "fwd_ret_1", "1h", "formula", None)
    newest = (
        table_1h.filter(pl.col("fwd_ret_1").is_null()).group_by("symbol").agg(pl.col("ts").max())
    )
    eth = newest.filter(pl.col("symbol") == "ETH/USDT")["ts"][0]
    btc = newest.filter(pl.col("symbol") == "BTC/USDT")["ts"][0]
    done_all = {name: newest.rename({"ts": "last_ts"}) for name in (spec.name, baseline.name)}
    assert live.series_to_predict([spec, baseline], {("1h", "fwd_ret_1"): newest}, done_all) == {}
    # a new ETH bar: only ETH is read; a model that never predicted reads every series
    behind = {
        **done_all,
        spec.name: pl.DataFrame(
            {"symbol": ["ETH/USDT", "BTC/USDT"], "last_ts": [eth - timedelta(hours=1), btc]}
        ),
    }
    assert live.series_to_predict([spec, baseline], {("1h", "fwd_ret_1"): newest}, behind) == {
        "1h": ["ETH/USDT"]
    }
    fresh = {baseline.name: done_all[baseline.name]}
    assert live.series_to_predict([spec, baseline], {("1h", "fwd_ret_1"): newest}, fresh) == {
        "1h": ["BTC/USDT", "ETH/USDT"]
    }
    # a timeframe with nothing to read is not predicted, and not reported as skipped
    served = live.ServedModel(baseline.name, "zero", "fwd_ret_1", "1h", "formula",
                              BaselineModel("zero", 1))  # fmt: skip
    nothing = live.predict_served([served], {}, {}, NOW)
    assert nothing.rows.is_empty() and nothing.skipped == []


def test_models_served_together_predict_as_each_served_alone(table_1h, lightgbm):
    """The models of a (timeframe, target) share one frame holding every feature any of them
    reads; each still predicts, skips and notes gaps as when served alone."""
    ds = prepare(table_1h, "1h", "fwd_ret_1", ["KMID", "KLEN", "ROC5"])
    rows = np.arange(ds.frame.height)
    narrow = live.ServedModel(
        "fwd_ret_1-1h-svm", "svm", "fwd_ret_1", "1h", "2",
        FAMILIES["svm"].fit(ds, rows, FAMILIES["svm"].params({})),
    )  # fmt: skip
    last = live.ServedModel(
        "fwd_ret_1-1h-last", "last", "fwd_ret_1", "1h",
        live.baseline_version({}, "fwd_ret_1-1h-last"), BaselineModel("last", 1),
    )  # fmt: skip
    served = [lightgbm, narrow, last]
    tails = {"1h": table_1h}
    eth_done = pl.DataFrame({"symbol": ["ETH/USDT"], "last_ts": [table_1h["ts"].max()]})
    done = {narrow.name: eth_done}  # the svm predicted ETH's newest bar already
    together = live.predict_served(served, tails, done, NOW)
    alone = [live.predict_served([s], tails, done, NOW) for s in served]

    def stable(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.drop("predicted_at").sort("model", "symbol", "ts")

    assert stable(together.rows).equals(stable(pl.concat([a.rows for a in alone])))
    assert together.rows.filter(pl.col("model") == narrow.name)["symbol"].to_list() == ["BTC/USDT"]
    assert together.skipped == [s for a in alone for s in a.skipped]
    assert together.gaps == sorted({g for a in alone for g in a.gaps})
    assert together.contributions.equals(alone[0].contributions)
