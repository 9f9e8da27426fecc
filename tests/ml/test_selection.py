"""Nested walk-forward: the test window is scored and reported, never used to choose the
champion; the champion and a new version are compared on the same validation bars."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from trading_assets.ml import metrics, tracking
from trading_assets.ml.dataset import prepare
from trading_assets.ml.errors import TrainingDataError
from trading_assets.ml.splits import SplitConfig, walk_forward
from trading_assets.ml.training import TrainingConfig, train_all

SPLIT = SplitConfig(n_folds=4)  # three validation folds, then the test window
CONFIG = TrainingConfig(
    families=("lightgbm", "zero", "last"), split=SPLIT, params={"lightgbm": {"num_leaves": 7}}
)


_validation = tracking.validation_rows  # what log_family hands to the selection


@pytest.fixture(scope="module")
def incumbent(table_1h) -> pl.DataFrame:
    """The champion's stored out-of-sample predictions: the same family with other
    parameters, trained on the data as it was 150 bars earlier."""
    cut = table_1h["ts"].unique().sort()[-150]
    older = prepare(table_1h.filter(pl.col("ts") < cut), "1h", "fwd_ret_1")
    config = TrainingConfig(
        families=("lightgbm",), split=SPLIT, params={"lightgbm": {"num_leaves": 31}}
    )
    return train_all(older, config).results["lightgbm"].predictions


def test_test_window_labels_never_move_a_selection(table_1h, incumbent):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    folds = walk_forward(ds.frame, 1, SPLIT)
    assert [f.role for f in folds] == ["validation"] * 3 + ["test"]
    test_start = ds.frame["ts"].gather(folds[-1].test).min()
    # the labels of the test window scrambled: flipped and doubled
    scrambled = table_1h.with_columns(
        pl.when(pl.col("ts") >= test_start)
        .then(-2.0 * pl.col("fwd_ret_1"))
        .otherwise(pl.col("fwd_ret_1"))
        .alias("fwd_ret_1")
    )
    base = train_all(ds, CONFIG)
    moved = train_all(prepare(scrambled, "1h", "fwd_ret_1"), CONFIG)
    stored = incumbent.select("symbol", "ts", "prediction")
    for family in CONFIG.families:
        a, b = base.results[family], moved.results[family]
        # validation: the same predictions and the same numbers, to the last bit
        assert_frame_equal(_validation(a), _validation(b), check_exact=True)
        assert a.validation == b.validation or family == "zero", family  # zero: NaN ICs
    a, b = base.results["lightgbm"], moved.results["lightgbm"]
    assert a.test["ic"] == pytest.approx(-b.test["ic"], abs=0.02)  # the test window did move
    assert abs(a.test["rmse"] - b.test["rmse"]) > 1e-4
    first = tracking.select(_validation(a), stored, "ic", champion_version="1")
    second = tracking.select(_validation(b), stored, "ic", champion_version="1")
    assert first == second
    # both compared on the validation bars the champion also predicted, none of the test window
    assert first.bars > 300 and first.champion_version == "1"
    shared = _validation(a).join(stored, on=["symbol", "ts"])
    assert shared.height == first.bars and shared["ts"].max() < test_start
    assert first.challenger == pytest.approx(metrics.ic(shared["prediction"], shared["label"]))
    assert first.champion == pytest.approx(metrics.ic(shared["prediction_right"], shared["label"]))
    # what the old rule read (every out-of-sample fold pooled) did move with the test labels
    pooled = [metrics.ic(r.predictions["prediction"], r.predictions["label"]) for r in (a, b)]
    assert abs(pooled[0] - pooled[1]) > 0.005


def test_selection_rules_without_a_comparable_champion(table_1h, incumbent):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    result = train_all(ds, TrainingConfig(families=("last",), split=SPLIT)).results["last"]
    validation = _validation(result)
    first = tracking.select(validation, None, "ic", champion_version=None)
    assert first.promote and first.bars == 0 and math.isnan(first.champion)
    # a champion with no stored predictions on these bars cannot be compared: promoted
    elsewhere = incumbent.with_columns(pl.col("symbol") + "-other")
    blind = tracking.select(validation, elsewhere, "ic", champion_version="4")
    assert blind.promote and "0 of the" in blind.reason and "v4" in blind.reason
    # rmse: smaller is better; a perfect champion is never beaten
    perfect = validation.select("symbol", "ts", pl.col("label").alias("prediction"))
    kept = tracking.select(validation, perfect, "rmse", champion_version="2")
    assert not kept.promote and kept.champion == 0.0 and kept.challenger > 0
    with pytest.raises(KeyError):
        tracking.select(validation, perfect, "sharpe", champion_version="2")


def test_bad_nesting_is_a_clear_error(table_1h):
    with pytest.raises(TrainingDataError, match="test_folds 3 must be >= 1 and below n_folds 3"):
        walk_forward(table_1h, 1, SplitConfig(n_folds=3, test_folds=3))
    with pytest.raises(TrainingDataError, match="test_folds 0"):
        walk_forward(table_1h, 1, SplitConfig(n_folds=3, test_folds=0))
