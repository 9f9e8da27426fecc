"""Every family, the LSTM and the direction SVC included, trains walk-forward on real ETH and
BTC 1h bars, registers in MLflow and is served from its champion: the Predictor's newest-bar
path, MLflow's pyfunc, and the live predictions of the newest (unlabelled) bars."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from trading_assets.ml import live, plan
from trading_assets.ml.dataset import KNOWN
from trading_assets.ml.families import BASELINES, FAMILIES
from trading_assets.ml.predictor import Predictor
from trading_assets.ml.splits import SplitConfig

SMALL_LSTM = {"window": 8, "units": 8, "epochs": 2, "batch_size": 128}
TARGETS = ["fwd_ret_1", "fwd_ret_5", "dir_1"]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, table_1h):
    root = tmp_path_factory.mktemp("families")
    store = plan.ModelStore(f"sqlite:///{root / 'mlflow.db'}", str(root / "art"))
    source = {"1h": plan.TrainingInput("1h", table_1h, "1436-test")}
    reports = []
    for targets, families in ((["fwd_ret_1", "dir_1"], list(FAMILIES)), (["fwd_ret_5"], ["arima"])):
        request = plan.TrainingRequest(
            timeframes=["1h"], targets=targets, families=families,
            split=SplitConfig(n_folds=3), min_rows=200, champion_metric="ic",
            params={"lstm": SMALL_LSTM},
        )  # fmt: skip
        reports.append(plan.train_models(source, request, code_version="t", store=store))
    return store.tracking_uri, plan.TrainingReport(
        models=reports[0].models + reports[1].models,
        skipped=reports[0].skipped + reports[1].skipped,
    )


def _registered(target: str) -> list[str]:
    """The non-baseline families trained on ``target`` here (fwd_ret_5: ARIMA only)."""
    if target == "fwd_ret_5":
        return ["arima"]
    task = "classification" if target.startswith("dir_") else "regression"
    return [f for f, spec in FAMILIES.items() if spec.trains(task) and f not in BASELINES]


def test_every_family_trains_and_registers(trained):
    uri, report = trained
    assert report.skipped == [
        {"dataset": "dir_1 1h", "family": "-", "reason": "left out 1 unchanged bar(s) (dir_1 = 0)"}
    ]
    trained_names = {row["model"] for row in report.models}
    for target in TARGETS:
        for family in _registered(target):
            assert f"{target}-1h-{family}" in trained_names
    assert "fwd_ret_5-1h-arima" in trained_names and "dir_1-1h-svc" in trained_names
    assert not any(name.startswith("dir_1-1h-lightgbm") for name in trained_names)
    svc = next(r for r in report.models if r["model"] == "dir_1-1h-svc")
    assert svc["val_log_loss"] != "None" and svc["val_rmse"] == "None"
    assert svc["selection"] == "first version: no champion yet"
    lstm = next(r for r in report.models if r["model"] == "fwd_ret_1-1h-lstm")
    assert float(lstm["val_rmse"]) > 0


def test_every_champion_serves_the_newest_bar(trained, crypto_1h, table_1h):
    """The Predictor loads each champion from the registry; its newest-bar prediction equals
    the model's own prediction of that bar from the training-table rows."""
    import mlflow.pyfunc

    uri, _ = trained
    eth_bars = crypto_1h["ETH/USDT"].sort("ts")
    for target in TARGETS:
        for family in _registered(target):
            name = f"{target}-1h-{family}"
            predictor = Predictor(name, uri)
            newest = predictor.predict_newest_bar(eth_bars, symbol="ETH/USDT")
            assert np.isfinite(newest), name
            model = predictor.loaded.model
            if family == "arima":
                continue  # its own test: forecasts from the closes
            features = [c for c in model.input_columns if c not in ("symbol", *KNOWN)]
            rows = live.live_frame(table_1h, "1h", target, features)
            rows = rows.filter(pl.col("symbol") == "ETH/USDT")  # its newest row: the newest bar
            expected = float(predictor.predict_batch(rows)[-1])
            assert newest == pytest.approx(expected, rel=1e-5, abs=1e-12), name
    # MLflow's pyfunc of the LSTM and of the SVC: the numbers of the Predictor
    for name in ("fwd_ret_1-1h-lstm", "dir_1-1h-svc"):
        predictor = Predictor(name, uri)
        columns = list(predictor.loaded.model.input_columns)
        rows = table_1h.sort("symbol", "ts").select(columns)
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        served = np.asarray(pyfunc.predict(rows.to_pandas()), dtype=float)
        assert np.allclose(served, predictor.predict_batch(rows), equal_nan=True), name


def test_live_predictions_come_from_every_champion(trained, crypto_1h, table_1h):
    uri, _ = trained
    families = list(FAMILIES)
    specs, missing = live.served_specs(uri, ["1h"], TARGETS, families, {})
    served = live.load_served(specs, uri)
    # fwd_ret_5 trained ARIMA only; the opt-in LSTM untrained there is not "missing"
    assert set(missing) == {f"fwd_ret_5-1h-{f}" for f in _registered("fwd_ret_1")} - {
        "fwd_ret_5-1h-arima",
        "fwd_ret_5-1h-lstm",
    }
    names = {s.name for s in served}
    assert {"fwd_ret_1-1h-lstm", "dir_1-1h-svc", "fwd_ret_5-1h-arima"} <= names
    assert "dir_1-1h-lightgbm" not in names and "fwd_ret_1-1h-svc" not in names
    run = live.predict_served(served, {"1h": table_1h}, {}, NOW)
    per = dict(run.rows.group_by("model").len().iter_rows())
    assert per["fwd_ret_1-1h-lstm"] == 2 and per["dir_1-1h-svc"] == 2  # newest bar, 2 series
    assert per["fwd_ret_5-1h-arima"] == 10  # the last 5 bars of each series are pending
    assert "fwd_ret_5-1h-zero" in per and "fwd_ret_5-1h-lstm" not in names  # not trained
    lstm = run.rows.filter(pl.col("model") == "fwd_ret_1-1h-lstm").sort("symbol")
    for symbol, value in lstm.select("symbol", "prediction").iter_rows():
        newest = Predictor("fwd_ret_1-1h-lstm", uri).predict_newest_bar(crypto_1h[symbol])
        assert value == pytest.approx(newest, rel=1e-5)
    svc = run.rows.filter(pl.col("model") == "dir_1-1h-svc")["prediction"].to_numpy()
    assert ((svc > -1) & (svc < 1)).all()
    # a series with fewer bars than the window: that bar is skipped with the reason
    short = table_1h.filter(pl.col("symbol") == "BTC/USDT").tail(5)
    lstm_model = next(s for s in served if s.name == "fwd_ret_1-1h-lstm")
    result = live.predict_served([lstm_model], {"1h": short}, {}, NOW)
    assert result.rows.is_empty()
    assert result.skipped[0]["reason"] == "fewer bars in the series than the window of 8"
