"""The LSTM family (Keras 3 on JAX) on real ETH/BTC 1h bars: sequence windows of the
configured features, walk-forward with the same folds and metrics, deterministic for a seed,
the newest-bar path, a series shorter than the window, and the optional extra missing."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import polars as pl
import pytest

from trading_assets.ml import lstm
from trading_assets.ml.dataset import prepare
from trading_assets.ml.errors import FamilyFailed
from trading_assets.ml.families import FAMILIES, _preprocess
from trading_assets.ml.newest_bar import BARS_NEEDED, arrays
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all

SMALL = {"window": 8, "units": 8, "epochs": 2, "batch_size": 128, "max_rows": 1024}


@pytest.fixture(scope="module")
def ds(table_1h):
    return prepare(table_1h, "1h", "fwd_ret_1")


@pytest.fixture(scope="module")
def fitted(ds):
    return FAMILIES["lstm"].fit(ds, np.arange(ds.frame.height), FAMILIES["lstm"].params(SMALL))


def test_walk_forward_with_the_same_folds_and_metrics_as_every_family(ds):
    config = TrainingConfig(
        families=("lstm", "lightgbm", "zero"), params={"lstm": SMALL},
        split=SplitConfig(n_folds=3),
    )  # fmt: skip
    out = train_all(ds, config)
    assert out.skipped == {}
    lstm_rows = out.results["lstm"].predictions.select("symbol", "ts", "fold", "role")
    assert lstm_rows.equals(out.results["lightgbm"].predictions.select(lstm_rows.columns))
    result = out.results["lstm"]
    assert [f["test_rows"] for f in result.folds] == [f.test.size for f in out.folds]
    assert set(result.validation) == set(out.results["lightgbm"].validation)
    assert np.isfinite(result.predictions["prediction"].to_numpy()).all()
    assert 0.3 < result.validation["directional_accuracy"] < 0.7  # no leak: near chance
    assert result.validation["rmse_vs_zero"] < 1.5
    assert result.notes == [] and result.model.window == 8


def test_deterministic_with_a_seed(ds):
    rows = np.arange(600)
    family = FAMILIES["lstm"]
    first = family.fit(ds, rows, family.params(SMALL))
    lstm._training_nets.clear()  # as in a fresh process: the network is built anew
    again = family.fit(ds, rows, family.params(SMALL))
    other = family.fit(ds, rows, family.params({**SMALL, "seed": 8}))
    for a, b in zip(first.weights, again.weights, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first.weights[0], other.weights[0])
    test = np.arange(600, 700)
    assert np.array_equal(first.predict_rows(ds, test), again.predict_rows(ds, test))


def test_a_prediction_reads_exactly_the_window_ending_at_its_bar(ds, fitted):
    eth = ds.frame.filter(pl.col("symbol") == "ETH/USDT")
    t = 300
    base = fitted.predict_frame(eth)
    assert (
        np.isnan(base[: fitted.window - 1]).all() and np.isfinite(base[fitted.window - 1 :]).all()
    )

    def changed(row: int) -> float:
        edited = eth.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.col("KMID") + 0.05)
            .otherwise(pl.col("KMID")).alias("KMID")
        )  # fmt: skip
        return float(fitted.predict_frame(edited)[t])

    assert changed(t + 1) == base[t]  # a later bar never moves it (no look-ahead)
    assert changed(t - fitted.window) == base[t]  # nor a bar before the window
    assert changed(t) != base[t] and changed(t - fitted.window + 1) != base[t]
    # rows of both series in one frame, in any order: each reads its own series
    both = ds.frame.sample(fraction=1.0, shuffle=True, seed=1)
    mixed = fitted.predict_frame(both.sort("ts"))
    by_symbol = fitted.predict_frame(both.sort("symbol", "ts"))
    keyed = both.sort("ts").select("symbol", "ts").with_columns(pl.Series("p", mixed))
    same = both.sort("symbol", "ts").select("symbol", "ts").with_columns(pl.Series("q", by_symbol))
    joined = keyed.join(same, on=["symbol", "ts"]).drop_nans()
    assert joined.height > 1000 and np.allclose(joined["p"], joined["q"])
    # the training-row path and the frame path agree
    first_eth = int(np.flatnonzero(ds.frame["symbol"] == "ETH/USDT")[0])
    rows = first_eth + np.arange(100, 400)
    assert np.allclose(fitted.predict_rows(ds, rows), base[100:400], rtol=1e-6)


def test_scaler_is_the_scikit_learn_preprocessing(ds):
    x = ds.matrix(np.arange(800))
    scaler = lstm.Scaler.fit(x)
    expected = _preprocess().fit(x).transform(ds.matrix())
    assert np.allclose(scaler.transform(ds.matrix()), expected, atol=1e-5)


def test_newest_bar_path_equals_the_frame_path(crypto_1h, ds, fitted):
    eth = crypto_1h["ETH/USDT"].sort("ts")
    rows = ds.frame.filter(pl.col("symbol") == "ETH/USDT")
    last_ts = rows["ts"][-1]
    bars = eth.filter(pl.col("ts") <= last_ts)
    assert fitted.bars_needed == BARS_NEEDED + 7
    fast = fitted.predict_bars(*arrays(bars, fitted.bars_needed))
    assert fast == pytest.approx(float(fitted.predict_frame(rows)[-1]), rel=1e-5)
    with pytest.raises(ValueError, match="need 68 bars"):
        fitted.predict_bars(*arrays(bars, 60))
    # pickled without Keras state (what MLflow stores), the same numbers after loading
    loaded = pickle.loads(pickle.dumps(fitted))
    assert loaded._device is None
    assert loaded.predict_bars(*arrays(bars, fitted.bars_needed)) == fast


def test_a_series_shorter_than_the_window_is_skipped_with_the_reason(ds):
    """A third symbol with 5 bars, all in the test blocks: it is not trained on, not
    predicted, and named; the other series still train."""
    eth = ds.frame.filter(pl.col("symbol") == "ETH/USDT")
    tiny = eth.tail(5).with_columns(pl.lit("SOL/USDT").alias("symbol"))
    frame = pl.concat([ds.frame, tiny]).sort("symbol", "ts")
    third = type(ds)(ds.timeframe, ds.target, ds.horizon, ds.features, frame)
    out = train_all(third, TrainingConfig(families=("lstm",), params={"lstm": SMALL},
                                          split=SplitConfig(n_folds=2)))  # fmt: skip
    result = out.results["lstm"]
    assert "SOL/USDT" not in result.predictions["symbol"].to_list()
    assert result.notes[0] == (
        "SOL/USDT: 5 bar(s), shorter than the LSTM window of 8: series skipped"
    )
    assert any("5 of" in n and "not predicted" in n for n in result.notes[1:])
    with pytest.raises(FamilyFailed, match="every series is shorter than the window"):
        FAMILIES["lstm"].fit(third, np.flatnonzero(frame["symbol"] == "SOL/USDT"),
                             FAMILIES["lstm"].params(SMALL))  # fmt: skip


def test_missing_extra_is_a_skip_naming_it(ds, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)  # `import keras` now fails
    out = train_all(ds, TrainingConfig(families=("lstm", "zero"), split=SplitConfig(n_folds=2)))
    assert set(out.results) == {"zero"}
    reason = out.skipped["lstm"]
    assert reason.startswith("keras is not installed: the LSTM needs the optional extra `lstm`")
    assert "uv sync --group lstm" in reason
