"""Fractional Kelly sizing, caps, and the trailing variance behind it."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.trading.sizing import KellySizing, kelly_positions, trailing_variance


def test_fractional_kelly_values_and_caps():
    mu = np.array([0.001, -0.001, 0.01, -0.01, 0.0, np.nan, 0.001])
    var = np.array([0.0004, 0.0004, 0.0004, 0.0004, 0.0004, 0.0004, 0.0])
    sizing = KellySizing(fraction=0.5, max_long=1.0, max_short=0.5)
    got = kelly_positions(mu, var, sizing)
    # 0.5 * 0.001 / 0.0004 = 1.25 -> capped at 1; the short side at 0.5
    np.testing.assert_allclose(got, [1.0, -0.5, 1.0, -0.5, 0.0, 0.0, 0.0])
    small = kelly_positions(np.array([1e-4, -1e-4]), np.array([4e-4, 4e-4]), sizing)
    np.testing.assert_allclose(small, [0.125, -0.125])
    long_only = kelly_positions(mu, var, KellySizing(0.5, long_only=True))
    assert long_only.min() == 0.0 and long_only.max() == 1.0


def test_bad_sizing_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        KellySizing(fraction=0)
    with pytest.raises(ValueError, match="caps"):
        KellySizing(max_long=-1)


def test_trailing_variance_uses_only_past_returns(orcl):
    close = orcl["close"].to_numpy()
    var = trailing_variance(close, 20)
    r = np.diff(np.log(close))
    assert np.isnan(var[:20]).all()
    for t in (20, 21, 1000, close.size - 1):
        np.testing.assert_allclose(var[t], np.var(r[t - 20 : t], ddof=1), rtol=1e-8)
    changed = close.copy()
    changed[1001:] *= 2.0
    np.testing.assert_array_equal(trailing_variance(changed, 20)[:1001], var[:1001])
