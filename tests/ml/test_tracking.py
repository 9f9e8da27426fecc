"""MLflow: runs, registered models, champion/challenger, the Predictor's cache and hot swap,
read back through MlflowClient on a throw-away SQLite store."""

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from trading_assets.ml import tracking
from trading_assets.ml.dataset import prepare
from trading_assets.ml.predictor import Predictor
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all

NAME = "fwd_ret_1-1h-lightgbm"


@pytest.fixture(scope="module")
def store(tmp_path_factory, table_1h):
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    split = SplitConfig(n_folds=3)
    small = train_all(ds, TrainingConfig(families=("lightgbm", "zero"), split=split,
                                         params={"lightgbm": {"num_leaves": 4}}))  # fmt: skip
    big = train_all(ds, TrainingConfig(families=("lightgbm",), split=split,
                                       params={"lightgbm": {"num_leaves": 31}}))  # fmt: skip
    return {"uri": uri, "art": str(root / "art"), "small": small, "big": big, "ds": ds}


def _log(store, outcome, key, family="lightgbm", incumbent=None):
    """Log ``outcome``'s ``family``; the champion's stored predictions are ``incumbent(name,
    version)`` (a function of the version's labels in these tests), or none."""
    return tracking.log_family(
        outcome.results[family],
        outcome,
        tracking_uri=store["uri"],
        key=key,
        input_version="7-abc",
        artifact_location=store["art"],
        dagster_run_id="run-123",
        incumbent_predictions=incumbent,
    )


def _stored_like(outcome, scale: float):
    """An incumbent whose stored predictions are ``scale`` x the realized label on every
    out-of-sample bar: +1 a perfect champion, -1 a perfectly wrong one."""
    rows = outcome.results["lightgbm"].predictions
    return lambda name, version: rows.select(
        "symbol", "ts", (pl.col("label") * scale).alias("prediction")
    )


def test_runs_registry_champion_challenger_and_hot_swap(store):
    from mlflow import MlflowClient

    v1 = _log(store, store["small"], "k1")
    assert (v1.name, v1.version, v1.role) == (NAME, "1", "champion")
    assert v1.selection.reason == "first version: no champion yet"
    client = MlflowClient(tracking_uri=store["uri"], registry_uri=store["uri"])
    run = client.get_run(v1.run_id)
    assert run.data.tags["input_data_version"] == "7-abc"
    assert run.data.tags["dagster_run_id"] == "run-123"
    assert run.data.tags["test_folds"] == "2"  # the last of 3 folds is the test window
    assert run.data.params["param_num_leaves"] == "4"
    assert run.data.params["split_test_folds"] == "1"
    names = ("ic", "rank_ic", "icir", "directional_accuracy", "rmse", "rmse_vs_zero")
    assert {f"{w}_{m}" for w in ("val", "test") for m in names} <= set(run.data.metrics)
    small = store["small"].results["lightgbm"]
    assert run.data.metrics["val_ic"] == pytest.approx(small.validation["ic"])
    assert run.data.metrics["test_ic"] == pytest.approx(small.test["ic"])
    assert small.validation["ic"] != small.test["ic"]
    history = client.get_metric_history(v1.run_id, "fold_ic")
    assert sorted(m.step for m in history) == [0, 1, 2]
    artifacts = {a.path for a in client.list_artifacts(v1.run_id)}
    assert {"feature_importance.png", "feature_importance.json", "features.json"} <= artifacts
    version = client.get_model_version(NAME, "1")
    from mlflow.models import get_model_info

    info = get_model_info(f"models:/{NAME}/1")
    assert info.signature is not None and info.saved_input_example_info is not None
    assert json.loads(info.signature.to_dict()["inputs"])[0]["name"] == "KMID"
    assert version.tags["training_key"] == "k1"
    assert float(version.tags["test_ic"]) == pytest.approx(small.test["ic"])

    # against a champion that was right on every validation bar: challenger, the alias stays
    v2 = _log(store, store["big"], "k2", incumbent=_stored_like(store["small"], 1.0))
    assert v2.role == "challenger"
    validation_rows = (store["big"].results["lightgbm"].predictions["role"] == "validation").sum()
    assert v2.selection.bars == validation_rows  # scored on exactly the validation bars
    assert v2.selection.champion == pytest.approx(1.0) and v2.selection.champion_version == "1"
    assert v2.selection.challenger == pytest.approx(
        store["big"].results["lightgbm"].validation["ic"]
    )
    tags = client.get_model_version(NAME, "2").tags
    assert tags["challenger"] == "true" and tags["selection_champion_version"] == "1"
    assert "does not beat champion v1" in tags["selection_reason"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"

    predictor = Predictor(NAME, store["uri"], refresh_seconds=0)
    rows = store["ds"].frame.tail(50)
    served_v1 = predictor.predict_batch(rows)
    assert predictor.version == "1"
    same_object = predictor.loaded.model
    predictor.predict_batch(rows)
    assert predictor.loaded.model is same_object  # cached, not reloaded

    # against a champion that was wrong on every bar, it takes the alias; the running
    # Predictor serves it without a restart
    v3 = _log(store, store["big"], "k3", incumbent=_stored_like(store["small"], -1.0))
    assert v3.role == "champion" and "beats champion v1" in v3.selection.reason
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "3"
    served_v3 = predictor.predict_batch(rows)
    assert predictor.version == "3"
    assert not np.allclose(served_v1, served_v3)

    # pyfunc gives the same numbers as the fast path
    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    assert np.allclose(pyfunc.predict(rows.select(store["ds"].features).to_pandas()), served_v3)

    # moving the alias back by hand swaps back
    client.set_registered_model_alias(NAME, "champion", "1")
    assert np.allclose(predictor.predict_batch(rows), served_v1)

    # a known training key is found (no retrain), an unknown one is not
    assert tracking.find_trained(store["uri"], "k2").version == "2"
    assert tracking.find_trained(store["uri"], "k2").role == "challenger"
    assert tracking.find_trained(store["uri"], "k1").role == "champion"
    assert tracking.find_trained(store["uri"], "nope") is None


def test_baselines_are_logged_runs_never_registered(store):
    from mlflow import MlflowClient

    zero = _log(store, store["small"], "k-zero", family="zero")
    assert zero.role == tracking.BASELINE and zero.version == f"run-{zero.run_id[:8]}"
    client = MlflowClient(store["uri"])
    assert "fwd_ret_1-1h-zero" not in {m.name for m in client.search_registered_models()}
    run = client.get_run(zero.run_id)
    assert run.data.tags["role"] == "baseline" and "val_rmse" in run.data.metrics
    assert "never registered" in run.data.tags["mlflow.note.content"]
    again = tracking.find_trained(store["uri"], "k-zero")  # unchanged inputs: not relogged
    assert (again.role, again.version, again.run_id) == ("baseline", zero.version, zero.run_id)


def test_newest_bar_fast_path_equals_the_batch_prediction(store, crypto_1h):
    predictor = Predictor(NAME, store["uri"])
    eth = crypto_1h["ETH/USDT"].sort("ts")
    features = store["ds"].frame.filter(pl.col("symbol") == "ETH/USDT")
    # the newest labelled bar: features from the bars up to it only
    last_ts = features["ts"][-1]
    bars = eth.filter(pl.col("ts") <= last_ts)
    fast = predictor.predict_newest_bar(bars)
    assert fast == pytest.approx(float(predictor.predict_batch(features.tail(1))[0]), rel=1e-9)
    with pytest.raises(ValueError, match="need 61 bars"):
        predictor.predict_newest_bar(bars.tail(10))
    assert Path(store["art"]).exists()
