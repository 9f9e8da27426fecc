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
        timeframes=["1h"], targets=["fwd_ret_1"], families=["lightgbm", "zero", "lstm"],
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
        {"dataset": "all", "family": "lstm", "reason": report.skipped[1]["reason"]},
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
