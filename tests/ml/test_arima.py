"""ARIMA beyond one bar: the 1..h-step forecasts from every bar, summed to the h-bar log
return, equal statsmodels' own forecasts from the data up to that bar; fitted per fold."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from trading_assets.ml.dataset import prepare
from trading_assets.ml.families import FAMILIES, ArimaModel
from trading_assets.ml.splits import SplitConfig
from trading_assets.ml.training import TrainingConfig, train_all


def _returns(crypto_1h, symbol: str) -> np.ndarray:
    return np.diff(np.log(crypto_1h[symbol].sort("ts")["close"].to_numpy()))


@pytest.mark.parametrize("order", [(1, 0, 0), (2, 0, 1)])
def test_summed_forecasts_equal_statsmodels_forecasts(crypto_1h, order):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    returns = _returns(crypto_1h, "ETH/USDT")[:400]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = SARIMAX(returns, order=order, trend="c").fit(disp=False).params
        model = ArimaModel(order, {"ETH/USDT": params}, horizon=5)
        ahead = model.one_step(returns, "ETH/USDT")
        one = ArimaModel(order, {"ETH/USDT": params}).one_step(returns, "ETH/USDT")
        for t in (30, 200, 399):
            own = SARIMAX(returns[: t + 1], order=order, trend="c").filter(params)
            assert ahead[t] == pytest.approx(own.forecast(5).sum(), rel=1e-9, abs=1e-15)
            assert one[t] == pytest.approx(own.forecast(1)[0], rel=1e-9, abs=1e-15)
    assert ahead.shape == returns.shape


def test_arima_trains_five_bar_returns_walk_forward(table_1h, crypto_1h):
    ds = prepare(table_1h, "1h", "fwd_ret_5")
    out = train_all(ds, TrainingConfig(families=("arima", "zero"), split=SplitConfig(n_folds=3)))
    assert out.skipped == {}
    result = out.results["arima"]
    assert result.model.horizon == 5 and set(result.model.params) == {"ETH/USDT", "BTC/USDT"}
    assert result.predictions.height == sum(f.test.size for f in out.folds)
    # a 5-bar forecast is about five times a one-bar one (the drift adds up)
    one = FAMILIES["arima"].fit(prepare(table_1h, "1h", "fwd_ret_1"), out.folds[0].train,
                                FAMILIES["arima"].params())  # fmt: skip
    assert one.horizon == 1
    eth = result.predictions.filter(pl.col("symbol") == "ETH/USDT")
    assert np.std(eth["prediction"].to_numpy()) > 0
    # the newest-bar path forecasts the same 5-bar sum from the closes
    bars = crypto_1h["ETH/USDT"].sort("ts")
    close = bars["close"].to_numpy()
    newest = result.model.predict_bars(close, close, close, close, close, symbol="ETH/USDT")
    history = np.diff(np.log(close))[-result.model.history :]
    assert newest == pytest.approx(result.model.one_step(history, "ETH/USDT")[-1])
