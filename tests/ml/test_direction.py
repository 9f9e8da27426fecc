"""The SVC on direction labels (dir_1, dir_5) of real ETH/BTC 1h bars: scaled, subsampled,
calibrated probabilities, scored per fold with accuracy, balanced accuracy and log-loss
against the majority class of each fold's training rows."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

from trading_assets.ml import metrics, plan
from trading_assets.ml.dataset import prepare
from trading_assets.ml.families import FAMILIES, DirectionModel
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def test_classification_metrics_by_hand():
    pred = np.array([0.6, -0.2, 0.1, -0.8, 0.0])  # P(up) = 0.8, 0.4, 0.55, 0.1, 0.5
    label = np.array([1.0, 1.0, -1.0, -1.0, 1.0])
    p = np.array([0.8, 0.4, 0.55, 0.1, 0.5])
    scores = metrics.evaluate_classification(pred, label, majority=np.full(5, 0.6))
    assert scores["accuracy"] == pytest.approx(2 / 5)  # right: rows 0 and 3
    assert scores["balanced_accuracy"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    expected = -np.mean(np.log([0.8, 0.4, 0.45, 0.9, 0.5]))
    assert scores["log_loss"] == pytest.approx(expected)
    assert scores["log_loss"] == pytest.approx(log_loss(label > 0, p))
    # the majority class (up, at 60%) is right on 3 of 5; its balanced accuracy is 0.5
    assert scores["majority_accuracy"] == pytest.approx(3 / 5)
    assert scores["majority_balanced_accuracy"] == pytest.approx(0.5)
    assert scores["accuracy_vs_majority"] == pytest.approx(2 / 5 - 3 / 5)
    majority_ll = -(3 * math.log(0.6) + 2 * math.log(0.4)) / 5
    assert scores["log_loss_vs_majority"] == pytest.approx(expected - majority_ll)
    assert metrics.metric_for("classification", "ic") == "log_loss"
    assert metrics.metric_for("classification", "accuracy") == "accuracy"
    assert metrics.metric_for("regression", "log_loss") == "ic"
    assert metrics.better(0.6, 0.7, "log_loss") and metrics.better(0.6, 0.5, "accuracy")


def test_direction_datasets_leave_out_unchanged_bars(table_1h):
    ds = prepare(table_1h, "1h", "dir_1")
    assert ds.task == "classification" and ds.horizon == 1
    assert set(ds.frame["label"].unique().to_list()) == {-1.0, 1.0}
    unchanged = table_1h.filter(pl.col("dir_1") == 0).height
    assert unchanged == 1 and ds.notes == ["left out 1 unchanged bar(s) (dir_1 = 0)"]
    assert ds.frame.height == table_1h["dir_1"].drop_nulls().len() - unchanged
    assert prepare(table_1h, "1h", "dir_5").horizon == 5


@pytest.mark.parametrize("target", ["dir_1", "dir_5"])
def test_svc_walk_forward_against_the_majority_class(table_1h, target):
    ds = prepare(table_1h, "1h", target)
    split = SplitConfig(n_folds=4)
    out = train_all(ds, TrainingConfig(families=("svc", "lightgbm"), split=split))
    assert set(out.results) == {"svc"}  # lightgbm regresses returns: not on directions
    result = out.results["svc"]
    pred = result.predictions["prediction"].to_numpy()
    assert ((pred > -1) & (pred < 1)).all() and np.unique(pred).size > 100  # probabilities
    for fold, row in zip(out.folds, result.folds, strict=True):
        label = ds.labels(fold.test)
        rows = result.predictions.filter(pl.col("fold") == fold.number)
        p_up = metrics.probability_up(rows["prediction"].to_numpy())
        assert row["accuracy"] == pytest.approx(accuracy_score(label > 0, p_up > 0.5))
        assert row["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(label > 0, p_up > 0.5)
        )
        assert row["log_loss"] == pytest.approx(log_loss(label > 0, p_up, labels=[False, True]))
        # the baseline: the training rows' most frequent direction, at its frequency
        share = float(np.mean(ds.labels(fold.train) > 0))
        assert row["majority_accuracy"] == pytest.approx(np.mean((label > 0) == (share > 0.5)))
        assert row["majority_log_loss"] == pytest.approx(
            log_loss(label > 0, np.full(label.size, share), labels=[False, True])
        )
    for window in (result.validation, result.test):
        assert 0.35 < window["accuracy"] < 0.65  # no leak: near chance on hourly directions
        # calibrated on noise: near the majority's log-loss (~log 2), never confident
        assert window["log_loss"] < window["majority_log_loss"] + 0.1
        assert window["log_loss_vs_majority"] == pytest.approx(
            window["log_loss"] - window["majority_log_loss"]
        )
    assert isinstance(result.model, DirectionModel)
    assert set(result.importance) == set(ds.features)


def test_a_planted_direction_is_learned_with_reliable_probabilities():
    """Directions of a planted signal (label = sign(0.01 (x1 - 0.5 x2) + noise)): the SVC
    beats the majority class by far, and among bars given P(up) = p, a share of about p
    went up (per quintile of p, out of sample)."""
    from tests.ml.test_metrics import _planted

    table, _ = _planted(n_bars=2000)
    table = table.with_columns(pl.col("fwd_ret_1").sign().cast(pl.Int32).alias("dir_1"))
    ds = prepare(table, "1h", "dir_1", ["KMID", "KLEN", "ROC5"])
    result = train_all(ds, TrainingConfig(families=("svc",), split=SplitConfig(n_folds=4)))
    result = result.results["svc"]
    for window in (result.validation, result.test):
        assert window["accuracy"] > 0.7 and window["accuracy_vs_majority"] > 0.15
        assert window["log_loss"] < window["majority_log_loss"] - 0.1
    oos = result.predictions.with_columns(
        p_up=(pl.col("prediction") + 1) / 2, up=(pl.col("label") > 0).cast(pl.Float64)
    )
    ranked = oos.sort("p_up")
    for part in np.array_split(np.arange(ranked.height), 5):  # quintiles of P(up)
        rows = ranked[part]
        assert abs(rows["p_up"].mean() - rows["up"].mean()) < 0.08


def test_svc_is_subsampled_and_calibrated_on_its_newest_rows(table_1h):
    ds = prepare(table_1h, "1h", "dir_1")
    family = FAMILIES["svc"]
    model = family.fit(ds, np.arange(ds.frame.height), family.params({"max_rows": 500}))
    calibrated = model.estimator
    svc = calibrated.calibrated_classifiers_[0].estimator.estimator[-1]
    assert svc.shape_fit_[0] == 400  # 500 evenly spaced rows: the oldest 80% fit the SVC
    assert len(calibrated.calibrated_classifiers_) == 1  # one Platt fit on the newest 100
    x = ds.matrix(np.arange(50))
    p_up = calibrated.predict_proba(x)[:, 1]
    assert np.allclose(model.predict_matrix(x), 2 * p_up - 1)
    with pytest.raises(Exception, match="one direction only"):
        ups = np.flatnonzero(ds.frame["label"] > 0)
        family.fit(ds, ups, family.params())


def test_the_plan_trains_each_target_with_the_families_of_its_task(table_1h):
    source = plan.TrainingInput("1h", table_1h, "1-abc")
    request = plan.TrainingRequest(
        timeframes=["1h"], targets=["fwd_ret_1", "dir_1"], families=["lightgbm", "svc"],
        split=SplitConfig(n_folds=2), min_rows=200, champion_metric="log_loss",
    )  # fmt: skip
    returns = plan.plan_dataset(source, "fwd_ret_1", request, code_version="v", find=lambda k: None)
    direction = plan.plan_dataset(source, "dir_1", request, code_version="v", find=lambda k: None)
    assert returns.todo == ["lightgbm"] and direction.todo == ["svc"]
    only_returns = plan.TrainingRequest(**{**request.__dict__, "families": ["lightgbm"]})
    none = plan.plan_dataset(source, "dir_1", only_returns, code_version="v", find=lambda k: 0)
    assert none.error == (
        "no requested family trains classification targets like dir_1; these do: ['svc']"
    )
    with pytest.raises(Exception, match="champion_metric 'auc'"):
        plan.TrainingRequest(**{**request.__dict__, "champion_metric": "auc"})


def test_selection_on_directions_reads_the_log_loss():
    """The incumbent's stored signed probabilities are scored with the log-loss on the same
    validation bars: the sharper right one wins, an over-confident wrong one loses."""
    from datetime import UTC, datetime, timedelta

    from trading_assets.ml import tracking

    ts = [datetime(2023, 4, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(40)]
    label = np.where(np.arange(40) % 3 == 0, -1.0, 1.0)
    new = pl.DataFrame({"symbol": "ETH/USDT", "ts": ts, "label": label,
                        "prediction": np.where(label > 0, 0.3, -0.3)})  # fmt: skip
    cases = [(0.1, True), (0.6, False), (-0.9, True)]  # hesitant, sharper, wrong
    for edge, promote in cases:
        old = np.where(label > 0, edge, -edge)
        incumbent = new.select("symbol", "ts", pl.Series("prediction", old))
        chosen = tracking.select(new, incumbent, "log_loss", champion_version="1")
        assert chosen.promote is promote
        assert chosen.challenger == pytest.approx(-np.log(0.65))  # P(right) = 0.65 on every bar
        assert chosen.reason.startswith("log_loss ")
