"""Regime: rule regime fitted on earlier bars; Markov switching regime on daily bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from trading_assets.features.regime import LABELS, RegimeConfig, regime


def test_rule_regime_matches_its_definition_on_real_minutes(eth_1m):
    bars = eth_1m.slice(40_000, 3_000)
    out = regime(bars)
    close = bars["close"].to_pandas()
    vol = np.sqrt((np.log(close).diff() ** 2).rolling(20).mean())
    threshold = vol.shift(1).rolling(250, min_periods=60).median()  # earlier bars only
    trend = np.where(close.rolling(20).mean() > close.rolling(100).mean(), 1, -1)
    np.testing.assert_allclose(out["vol"].to_numpy(), vol.to_numpy(), rtol=1e-12)
    state = (vol > threshold).astype(float).where(vol.notna() & threshold.notna()).to_numpy()
    got_state = out["vol_state"].cast(float).fill_null(np.nan).to_numpy()
    assert np.array_equal(got_state, state, equal_nan=True)
    positions = np.flatnonzero(out["regime_id"].is_not_null().to_numpy())
    valid = out.drop_nulls("regime_id").to_pandas()
    expected = 2 * (trend[positions] == -1) + state[positions]
    assert np.array_equal(valid["regime_id"].to_numpy(), expected)
    assert set(valid["regime"]) <= set(LABELS)
    assert out["regime"].null_count() == 99 + 0  # trend needs 100 bars; vol state 80


def test_fewer_bars_than_the_history_and_constant_prices(eth_1m):
    short = regime(eth_1m.head(50))
    assert short.height == 50 and short["regime"].null_count() == 50
    flat = eth_1m.head(400).with_columns(
        pl.lit(10.0).alias(c) for c in ("open", "high", "low", "close")
    )
    out = regime(flat)
    assert out["vol"].drop_nulls().unique().to_list() == [0.0]
    assert out["vol_ratio"].null_count() == 400  # threshold 0: ratio undefined
    assert out["vol_state"].drop_nulls().unique().to_list() == [0]


def test_markov_probability_is_a_probability_and_off_by_default(orcl_1d):
    bars = orcl_1d.head(700)
    assert regime(bars)["markov_p_high"].null_count() == 700
    out = regime(bars, RegimeConfig(markov=True, markov_min_obs=400, markov_refit_every=300))
    p = out["markov_p_high"]
    assert p.head(400).null_count() == 400
    assert p.slice(400).is_between(0, 1).all()
    returns = pd.Series(np.log(bars["close"].to_numpy())).diff().abs()
    high = p.slice(400).to_numpy() > 0.5
    # the high-variance state goes with bigger moves
    assert returns[400:][high].mean() > returns[400:][~high].mean()
