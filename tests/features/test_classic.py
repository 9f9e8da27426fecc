"""Classic indicators against textbook pandas, and GARCH against ``arch`` itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tests.features.reference_pandas import assert_matches, classic_pandas
from trading_assets.features import classic as C

COMPARED = [n for n in C.NAMES if n != "garch_vol"]


@pytest.mark.parametrize(("series", "rows"), [("eth_1m", 4000), ("orcl_1d", 2000)])
def test_matches_textbook_pandas_on_real_bars(request, series, rows):
    bars = request.getfixturevalue(series).head(rows)
    ours = C.classic(bars, garch=None)
    reference = classic_pandas(bars.to_pandas(), exact=True)
    assert ours.columns[3:] == list(C.NAMES)
    assert ours["garch_vol"].null_count() == ours.height
    assert_matches(ours, reference, COMPARED, rtol=1e-9)


def test_warm_up_and_first_bar(eth_1m):
    f = C.classic(eth_1m.head(200), garch=None)
    nulls = {n: f[n].null_count() for n in COMPARED}
    assert nulls["sma_20"] == 19 and nulls["sma_50"] == 49 and nulls["rvol_60"] == 60
    assert nulls["ema_12"] == 0 and nulls["atr_14"] == 0 and nulls["macd"] == 0
    assert nulls["rsi_14"] == 1 and nulls["logret_1"] == 1
    assert f["ema_12"][0] == eth_1m["close"][0]  # seeded with the first close
    assert f["atr_14"][0] == pytest.approx(eth_1m["high"][0] - eth_1m["low"][0])


def test_constant_prices_and_zero_volume():
    ts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(100)]
    bars = pl.DataFrame(
        {"ts": ts, "open": 7.0, "high": 7.0, "low": 7.0, "close": 7.0, "volume": 0.0}
    )
    f = C.classic(bars).slice(60)
    # undefined: RSI (no move at all, 0/0), %B (zero band width), volume ratio/z (0/0)
    for name in ("rsi_14", "bb_pctb_20", "vol_ratio_20", "vol_z_20"):
        assert f[name].null_count() == f.height, name
    assert f["atr_14"].unique().to_list() == [0.0]
    assert f["rvol_20"].unique().to_list() == [0.0]
    assert f["macd"].unique().to_list() == [0.0]


def test_garch_matches_arch_variance_recursion_with_the_fitted_parameters(gspc_1d):
    from arch import arch_model

    close = gspc_1d["close"].to_numpy()
    vol = C.garch_volatility(close, min_obs=252, every=252)
    assert np.isnan(vol[:252]).all() and np.isfinite(vol[252:]).all()
    returns = 100 * np.diff(np.log(close))
    # segment 3 starts at bar 252 + 2*252 = 756; parameters fitted on returns before it
    start, end = 756, 1008
    params = C._fit_garch(returns[: start - 1])
    mu, omega, alpha, beta = params
    model = arch_model(returns[: end - 1], mean="Constant", vol="GARCH", p=1, q=1)
    fixed = model.fix([mu, omega, alpha, beta])
    variance = np.asarray(fixed.conditional_volatility) ** 2  # s_t of return t
    resid = returns[: end - 1] - mu
    forecast = omega + alpha * resid**2 + beta * variance
    expected = np.sqrt(forecast[start - 1 : end - 1]) / 100
    np.testing.assert_allclose(vol[start:end], expected, rtol=1e-9)
    # a sensible daily volatility of the S&P 500: 0.3% .. 10%
    assert np.nanmin(vol) > 0.003 and np.nanmax(vol) < 0.1


def test_garch_only_on_daily_bars_and_only_from_past_data(gspc_1d):
    daily = C.classic(gspc_1d.head(900))
    assert daily["garch_vol"].null_count() == 252
    intraday = C.classic(gspc_1d.head(900).with_columns(pl.lit("1h").alias("timeframe")))
    assert intraday["garch_vol"].null_count() == 900
    # the values of a shorter history are the same: nothing after a bar is used for it
    shorter = C.classic(gspc_1d.head(700))
    assert shorter["garch_vol"].equals(daily["garch_vol"].head(700))


def test_tail_update_continues_the_recursions_bitwise(eth_1m):
    bars = eth_1m.head(3000)
    full = C.classic(bars, garch=None)
    previous = full.row(2499, named=True)
    tail = C.classic_tail(bars.slice(2500 - C.LOOKBACK), C.LOOKBACK, previous, garch=None)
    assert tail.equals(full.slice(2500))
    with pytest.raises(ValueError, match="previous row"):
        C._compute(C._prepare(bars), 5, None, None)


@pytest.mark.parametrize("new_bars", [1, 3, C._LOOP_MAX, C._LOOP_MAX + 1])
def test_a_short_tail_loop_equals_the_linear_filter_bitwise(eth_1m, new_bars):
    # the full pass runs scipy's lfilter; a tail of up to _LOOP_MAX bars runs a plain loop
    bars = eth_1m.head(3000)
    full = C.classic(bars, garch=None)
    cut = 3000 - new_bars
    previous = full.row(cut - 1, named=True)
    tail = C.classic_tail(bars.slice(cut - C.LOOKBACK), C.LOOKBACK, previous, garch=None)
    assert tail.equals(full.slice(cut))
