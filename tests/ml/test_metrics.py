"""Metrics by hand, and a planted signal that the walk-forward pipeline must recover."""

import math

import numpy as np
import polars as pl
import pytest

from trading_assets.ml import metrics
from trading_assets.ml.dataset import prepare
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def test_metrics_by_hand():
    pred = np.array([0.1, -0.2, 0.3, 0.0])
    label = np.array([0.2, -0.1, -0.3, 0.1])
    assert metrics.ic(pred, label) == pytest.approx(np.corrcoef(pred, label)[0, 1])
    # ranks 3,1,4,2 vs 4,2,1,3
    assert metrics.rank_ic(pred, label) == pytest.approx(
        np.corrcoef([3, 1, 4, 2], [4, 2, 1, 3])[0, 1]
    )
    # hits: +/+ yes, -/- yes, +/- no, 0 -> half
    assert metrics.directional_accuracy(pred, label) == pytest.approx(2.5 / 4)
    assert metrics.rmse(pred, label) == pytest.approx(math.sqrt(np.mean((pred - label) ** 2)))
    assert math.isnan(metrics.ic(np.zeros(4), label))  # the zero baseline has no IC
    ts = np.repeat(np.arange(6), 2)
    p = np.arange(12.0)
    y = np.array([1, 2, 2, 1, 3, 2, 2, 5, 1, 9, 2, 1.0])
    per = metrics.period_ics(p, y, ts, period=2)  # 3 periods of 4 rows
    assert per.shape == (3,)
    assert metrics.icir(p, y, ts, period=2) == pytest.approx(per.mean() / per.std(ddof=1))
    assert metrics.better(0.1, math.nan, "ic") and not metrics.better(math.nan, 0.1, "ic")
    assert metrics.better(0.01, 0.02, "rmse") and not metrics.better(0.01, 0.02, "ic")


def _planted(n_bars: int = 1500, seed: int = 3) -> tuple[pl.DataFrame, float]:
    """Two symbols; label = 0.01 * (x1 - 0.5 x2) + noise; expected IC of the true function."""
    rng = np.random.default_rng(seed)
    ts = pl.datetime_range(
        pl.datetime(2020, 1, 1, time_zone="UTC"),
        pl.datetime(2020, 1, 1, time_zone="UTC") + pl.duration(hours=n_bars - 1),
        "1h", eager=True,
    )  # fmt: skip
    parts = []
    for symbol in ("AAA", "BBB"):
        x = rng.normal(size=(n_bars, 3))
        signal = 0.01 * (x[:, 0] - 0.5 * x[:, 1])
        noise = rng.normal(scale=0.01, size=n_bars)
        parts.append(
            pl.DataFrame(
                {"symbol": symbol, "timeframe": "1h", "ts": ts, "KMID": x[:, 0], "KLEN": x[:, 1],
                 "ROC5": x[:, 2], "fwd_ret_1": signal + noise}
            )
        )  # fmt: skip
    var_signal = 0.01**2 * (1 + 0.25)
    return pl.concat(parts), math.sqrt(var_signal / (var_signal + 0.01**2))


def test_planted_signal_is_recovered_out_of_sample_and_noise_is_not():
    table, expected_ic = _planted()
    ds = prepare(table, "1h", "fwd_ret_1", ["KMID", "KLEN", "ROC5"])
    config = TrainingConfig(
        families=("lightgbm", "mlp", "zero", "last"), split=SplitConfig(n_folds=4)
    )
    out = train_all(ds, config)
    assert out.skipped == {}
    for family in ("lightgbm", "mlp"):
        overall = out.results[family].validation
        # close to the IC of the true function (0.745), far above chance
        assert expected_ic - 0.12 < overall["ic"] <= expected_ic + 0.03, family
        assert overall["directional_accuracy"] > 0.70
        assert overall["rmse_vs_zero"] < 0.8
        for fold in out.results[family].folds:
            assert fold["ic"] > expected_ic - 0.2
        assert overall["icir"] > 1.5  # over the 3 validation folds
        # the held-out test window finds the same signal
        assert expected_ic - 0.15 < out.results[family].test["ic"] <= expected_ic + 0.05
    # the label is i.i.d.: yesterday's return says nothing about today's
    assert abs(out.results["last"].validation["ic"]) < 0.08
    # every test row is predicted exactly once, in the test blocks only
    preds = out.results["lightgbm"].predictions
    assert preds.height == sum(f.test.size for f in out.folds)
    assert preds.select("symbol", "ts").is_unique().all()
    importance = out.results["lightgbm"].importance
    assert importance["KMID"] > importance["KLEN"] > importance["ROC5"]


def test_shuffled_labels_give_no_signal():
    table, _ = _planted(seed=4)
    shuffled = table.with_columns(pl.col("fwd_ret_1").shuffle(seed=1))
    ds = prepare(shuffled, "1h", "fwd_ret_1", ["KMID", "KLEN", "ROC5"])
    out = train_all(ds, TrainingConfig(families=("lightgbm",), split=SplitConfig(n_folds=3)))
    assert abs(out.results["lightgbm"].validation["ic"]) < 0.08
