"""Bad input: too few rows, all-NULL features, constant labels, a family that fails; the
known returns the baselines use look only backwards."""

import numpy as np
import polars as pl
import pytest

from tests.ml.conftest import COLS
from trading_assets.ml.dataset import prepare
from trading_assets.ml.errors import TrainingDataError
from trading_assets.ml.families import FAMILIES
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def test_known_returns_use_only_closed_bars(crypto_1h, table_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    eth = ds.frame.filter(pl.col("symbol") == "ETH/USDT")
    close = crypto_1h["ETH/USDT"].sort("ts")["close"].to_numpy()
    # row t: ret_1 = log(c_t / c_{t-1}) and label = log(c_{t+1} / c_t)
    assert np.allclose(eth["ret_1"].to_numpy()[1:], np.diff(np.log(close))[: eth.height - 1])
    assert np.allclose(eth["label"].to_numpy(), np.diff(np.log(close))[: eth.height])
    assert np.allclose(eth["known_ret"].to_numpy()[1:], eth["label"].to_numpy()[:-1])
    five = prepare(table_1h, "1h", "fwd_ret_5").frame.filter(pl.col("symbol") == "ETH/USDT")
    logc = np.log(close)
    assert np.allclose(five["known_ret"].to_numpy()[5:], (logc[5:] - logc[:-5])[: five.height - 5])
    # an edit of a future bar's close leaves every known value of earlier bars unchanged
    assert ds.frame.height == table_1h.height - 2  # last bar of each series has no label


def test_bad_input_is_a_clear_error_or_a_recorded_note(table_1h):
    with pytest.raises(
        TrainingDataError, match="fwd_ret_1 1h: 100 labelled rows, need at least 200"
    ):
        prepare(table_1h.filter(pl.col("symbol") == "ETH/USDT").head(100), "1h", "fwd_ret_1")
    with pytest.raises(TrainingDataError, match="label fwd_ret_1 is constant"):
        prepare(table_1h.with_columns(pl.lit(0.001).alias("fwd_ret_1")), "1h", "fwd_ret_1")
    with pytest.raises(TrainingDataError, match=r"no column\(s\) \['NOPE'\]"):
        prepare(table_1h, "1h", "fwd_ret_1", ["KMID", "NOPE"])
    with pytest.raises(TrainingDataError, match="only forward returns fwd_ret_<h> and directions"):
        prepare(table_1h, "1h", "vol_1")
    nulled = table_1h.with_columns(pl.lit(None, dtype=pl.Float64).alias("KMID"))
    ds = prepare(nulled, "1h", "fwd_ret_1", ["KMID", "KLEN", "ROC5"])
    assert ds.features == ("KLEN", "ROC5") and "KMID" in ds.notes[0]
    with pytest.raises(TrainingDataError, match="every feature is all NULL"):
        prepare(nulled, "1h", "fwd_ret_1", ["KMID"])
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    with pytest.raises(TrainingDataError, match="fold 0"):
        train_all(ds, TrainingConfig(split=SplitConfig(n_folds=5, min_train_rows=5000)))


def test_a_family_that_does_not_converge_is_skipped_and_the_others_train(table_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    config = TrainingConfig(
        families=("mlp", "lightgbm", "zero"),
        params={"mlp": {"max_iter": 1, "early_stopping": False, "strict_convergence": True}},
        split=SplitConfig(n_folds=2),
    )
    out = train_all(ds, config)
    assert set(out.skipped) == {"mlp"} and "did not converge" in out.skipped["mlp"]
    assert set(out.results) == {"lightgbm", "zero"}


def test_every_family_trains_on_real_hourly_bars(table_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_1")
    small_lstm = {"lstm": {"window": 8, "units": 8, "epochs": 2, "batch_size": 128}}
    every = tuple(FAMILIES)  # the opt-in LSTM too
    out = train_all(
        ds, TrainingConfig(families=every, split=SplitConfig(n_folds=3), params=small_lstm)
    )
    assert out.skipped == {}
    # every family of forward returns; svc classifies directions and is left out here
    assert set(out.results) == {f for f, spec in FAMILIES.items() if spec.trains("regression")}
    assert "svc" in FAMILIES and "svc" not in out.results
    for family, result in out.results.items():
        assert result.predictions.height == sum(f.test.size for f in out.folds), family
        assert np.isfinite(result.predictions["prediction"].to_numpy()).all()
        assert 0.3 < result.validation["directional_accuracy"] < 0.7  # no leak: near chance
    contrib = out.results["lightgbm"].contributions
    assert contrib.height == 3 * out.results["lightgbm"].predictions.height
    assert set(contrib["feature"].unique()) <= set(ds.features)


def test_zero_volume_days_do_not_blow_up_the_neural_net():
    """^GSPC/^IXIC daily (arch demo data) have zero-volume days: VMA/VSTD reach 1e21. The
    scikit-learn families clip features to their training quantiles, so the MLP stays sane."""
    from tests.ml.conftest import training_rows
    from trading_assets.sources.demo import DEMO_FILES, _arch_data_dir, read_demo_csv

    frames = []
    for symbol, name in DEMO_FILES.items():
        bars = read_demo_csv(_arch_data_dir() / name, symbol).with_columns(
            pl.lit(None, dtype=pl.Float64).alias("vwap")
        )
        frames.append(training_rows(bars.select(*COLS)))
    ds = prepare(pl.concat(frames), "1d", "fwd_ret_1")
    assert ds.frame["VMA5"].max() > 1e12
    out = train_all(ds, TrainingConfig(families=("mlp", "zero"), split=SplitConfig(n_folds=2)))
    assert out.results["mlp"].validation["rmse_vs_zero"] < 1.2


@pytest.mark.parametrize("label", ["fwd_ret_1", "fwd_ret_5", "dir_1", "dir_5"])
def test_a_label_column_can_never_be_a_feature(table_1h, label):
    """Real labels (computed from ETH/BTC 1h bars) are columns of the training table, so
    they would train happily; every entry point refuses them and names the column."""
    from trading_assets.ml import plan
    from trading_assets.ml.dataset import with_known_returns

    assert label in table_1h.columns
    named = rf"dataset fwd_ret_1 1h: .*\['{label}'\] are labels"
    with pytest.raises(TrainingDataError, match=named):
        prepare(table_1h, "1h", "fwd_ret_1", ["KMID", label])
    with pytest.raises(TrainingDataError, match=rf"\['{label}'\] are labels"):
        with_known_returns(table_1h, "1h", "fwd_ret_1", [label, "ROC5"])
    with pytest.raises(TrainingDataError, match=rf"run config `features`: .*\['{label}'\]"):
        plan.TrainingRequest(
            timeframes=["1h"], targets=["fwd_ret_1"], families=["zero"],
            split=SplitConfig(n_folds=2), min_rows=200, champion_metric="ic",
            features=["KMID", label],
        )  # fmt: skip
    # the guard is about labels only: the features next to them still train
    assert prepare(table_1h, "1h", "fwd_ret_1", ["KMID", "ROC5"]).features == ("KMID", "ROC5")
