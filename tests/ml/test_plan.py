"""The train/reuse/skip plan of ``ml/models``, without Dagster or MLflow: training keys, what
a registered key reuses, what is skipped and why, and the rows stored."""

from __future__ import annotations

import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.ml import plan, tracking
from trading_assets.ml.splits import SplitConfig
from trading_assets.warehouse.connection import connect


def _request(**overrides) -> plan.TrainingRequest:
    settings = dict(
        timeframes=["1h"], targets=["fwd_ret_1"], families=["lightgbm", "zero", "tft"],
        split=SplitConfig(n_folds=2), min_rows=200, champion_metric="ic",
    )  # fmt: skip
    return plan.TrainingRequest(**{**settings, **overrides})


def test_request_columns_and_known_families():
    request = _request(features=["KMID", "ROC5"])
    assert request.known_families == ["lightgbm", "zero"]
    assert request.columns == [
        "symbol", "timeframe", "ts", "KMID", "ROC5", "fwd_ret_1", "fwd_ret_1",
    ]  # fmt: skip
    assert _request().wanted_features[0] == "KMID"  # the fast set of Alpha158


def test_a_registered_training_key_is_reused_and_the_rest_is_todo(table_1h):
    source = plan.TrainingInput("1h", table_1h, "100-abc")
    registered = tracking.ModelVersion("fwd_ret_1-1h-zero", "3", "run", "champion", {"ic": 0.1})
    looked_up: list[str] = []

    def find(key: str):
        looked_up.append(key)
        return registered if len(looked_up) == 2 else None

    first = plan.plan_dataset(source, "fwd_ret_1", _request(), code_version="v1", find=find)
    assert first.where == "fwd_ret_1 1h" and first.error is None
    assert first.todo == ["lightgbm"] and first.reused == {"zero": registered}
    assert list(first.keys) == ["lightgbm", "zero"] and looked_up == list(first.keys.values())
    # the code version is part of every key
    other = plan.plan_dataset(
        source, "fwd_ret_1", _request(), code_version="v2", find=lambda key: None
    )
    assert set(other.keys.values()).isdisjoint(first.keys.values())


def test_a_dataset_that_cannot_be_prepared_looks_nothing_up(table_1h):
    source = plan.TrainingInput("1d", table_1h.clear(), "0-0000000000000000")

    def find(key):
        raise AssertionError("no lookup for an untrainable dataset")

    planned = plan.plan_dataset(source, "fwd_ret_1", _request(), code_version="v", find=find)
    assert planned.dataset is None and "0 labelled rows" in (planned.error or "")
    assert planned.keys == {} and planned.todo == []


def test_without_a_training_table_everything_is_skipped_and_untrained():
    report = plan.train_models(
        None, _request(), code_version="v", store=plan.ModelStore("sqlite:///unused.db")
    )
    assert report.skipped == [
        {"dataset": "all", "family": "all", "reason": "features.training_table missing"},
        {"dataset": "all", "family": "tft", "reason": report.skipped[1]["reason"]},
    ]
    assert report.skipped[1]["reason"].startswith("unknown family; known: [")
    assert report.data_version == plan.UNTRAINED and report.input_versions == {}
    assert plan.text_frame(report.skipped).schema == {
        "dataset": pl.String(), "family": pl.String(), "reason": pl.String(),
    }  # fmt: skip
    assert plan.text_frame([]).height == 0


def test_models_data_version_hashes_the_versions_in_use():
    a = plan.TrainingReport(versions=[("m1", "1", "k1"), ("m2", "4", "k2")])
    b = plan.TrainingReport(versions=[("m2", "4", "k2"), ("m1", "1", "k1")])
    c = plan.TrainingReport(versions=[("m1", "2", "k3"), ("m2", "4", "k2")])
    assert a.data_version == b.data_version != c.data_version
    assert len(a.data_version) == 16


def test_load_and_store_through_the_warehouse(tmp_path, table_1h):
    db = str(tmp_path / "w.duckdb")
    with connect(db) as con:
        assert plan.load_training_inputs(con, _request()) is None
        con.execute("CREATE SCHEMA features")
        con.register("t", table_1h.drop("ROC5"))
        con.execute("CREATE TABLE features.training_table AS SELECT * FROM t")
        inputs = plan.load_training_inputs(con, _request(timeframes=["1h", "1d"]))
        assert inputs is not None and list(inputs) == ["1h", "1d"]
        assert inputs["1h"].table.height == table_1h.height and inputs["1d"].table.height == 0
        assert "ROC5" not in inputs["1h"].table.columns  # asked for, not in the table
        assert inputs["1h"].input_version.startswith(f"{table_1h.height}-")

        ts = table_1h["ts"].head(3)
        rows = pl.DataFrame(
            {"model": "m", "model_version": "1", "family": "zero", "target": "fwd_ret_1",
             "symbol": "ETH/USDT", "timeframe": "1h", "ts": ts, "available_at": ts,
             "prediction": [0.0, 0.1, 0.2], "fold": [0, 0, 1], "kind": "walk_forward",
             "predicted_at": ts},
        ).cast(schemas.PREDICTIONS_SCHEMA)  # fmt: skip
        first = plan.store_predictions(con, [rows], [])
        again = plan.store_predictions(con, [rows], [])
        empty = plan.store_predictions(con, [], [])
    assert (first.write.inserted, first.write.rows, first.contribution_rows) == (3, 3, 0)
    assert (again.write.inserted, again.write.updated) == (0, 0)
    assert again.write.data_version == first.write.data_version == empty.write.data_version
    assert first.per_model.row(0)[:3] == ("m", "1", 3)


@pytest.mark.parametrize("value, text", [(0.123456, "0.1235"), (None, "None"), (3, "3")])
def test_format_metric(value, text):
    assert plan.format_metric(value) == text


def test_a_new_version_meets_the_champion_on_its_stored_predictions(tmp_path, table_1h):
    """Two trainings through the plan and a real warehouse: the second version is compared
    with the first (the champion) on the same validation bars, from the champion's
    predictions stored in ml.predictions and ml.live_predictions."""
    from mlflow import MlflowClient

    from trading_assets.ml import metrics
    from trading_assets.warehouse.predictions import version_predictions

    db, uri = tmp_path / "w.duckdb", f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = plan.ModelStore(uri, str(tmp_path / "art"))
    source = {"1h": plan.TrainingInput("1h", table_1h, "100-abc")}

    def train(leaves: int) -> plan.TrainingReport:  # a registered family (baselines are not)
        request = _request(families=["lightgbm"], split=SplitConfig(n_folds=4),
                           params={"lightgbm": {"num_leaves": leaves}})  # fmt: skip
        report = plan.train_models(
            source, request, code_version="v1", store=store,
            incumbent_predictions=plan.incumbent_reader(lambda: connect(db)),
        )  # fmt: skip
        with connect(db) as con:
            plan.store_predictions(con, report.predictions, report.contributions)
        return report

    first = train(4)
    assert first.models[0]["role"] == "champion" and first.models[0]["selection"].startswith(
        "first version"
    )
    # the champion's live prediction of a newer bar is read with its walk-forward rows
    champion_rows = first.predictions[0]
    live = champion_rows.tail(1).with_columns(
        pl.col("ts") + pl.duration(days=400), pl.lit("live").alias("kind")
    )
    with connect(db) as con:
        plan.store_predictions(con, [], [])
        con.execute("CREATE TABLE ml.live_predictions AS SELECT * FROM ml.predictions LIMIT 0")
        con.register("live", live)
        con.execute("INSERT INTO ml.live_predictions SELECT * FROM live")
        stored = version_predictions(con, "fwd_ret_1-1h-lightgbm", "1")
    assert stored.height == champion_rows.height + 1 and stored.columns == [
        "symbol", "ts", "prediction",
    ]  # fmt: skip

    second = train(15)
    row = second.models[0]
    assert row["version"] == "2" and "champion v1" in row["selection"]
    version = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version(
        "fwd_ret_1-1h-lightgbm", "2"
    )
    assert version.tags["selection_champion_version"] == "1"
    # by hand: both scored on the new version's validation bars, the champion's from storage
    new = second.predictions[0].filter(pl.col("fold") < 3).select("symbol", "ts", "prediction")
    dataset = pl.DataFrame(table_1h).select("symbol", "ts", pl.col("fwd_ret_1").alias("label"))
    both = new.join(stored, on=["symbol", "ts"], suffix="_old").join(dataset, on=["symbol", "ts"])
    assert both.height == new.height > 500
    ic_new = metrics.ic(both["prediction"].to_numpy(), both["label"].to_numpy())
    ic_old = metrics.ic(both["prediction_old"].to_numpy(), both["label"].to_numpy())
    assert f"ic {ic_new:.4g}" in row["selection"] and f"{ic_old:.4g}" in row["selection"]
    assert row["role"] == ("champion" if ic_new > ic_old else "challenger")
