"""Performance metrics against values computed by hand (plain Python) on real daily data."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from trading_assets.trading.backtest import backtest
from trading_assets.trading.metrics import bars_per_year, performance


def test_bars_per_year_per_market():
    assert bars_per_year("ORCL", "1d") == 252
    assert bars_per_year("^GSPC", "1h") == pytest.approx(252 * 6.5)
    assert bars_per_year("ETH/USDT", "1h") == 365 * 24
    assert bars_per_year("BTC/USD", "1m") == 365 * 24 * 60
    assert bars_per_year("BTC/USD", "1d") == 365


def test_metrics_by_hand_on_orcl(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    rng = np.random.default_rng(7)
    target = rng.choice([-1.0, 0.0, 0.5, 1.0], size=c.size)
    res = backtest(o, c, target, fees_bps=5)
    got = performance(res.returns, res.equity, res.position, res.asset_returns, 252)

    r = [float(x) for x in res.returns]
    eq = [float(x) for x in res.equity]
    n = len(r)
    mean, std = statistics.fmean(r), statistics.stdev(r)
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / n)
    peak, mdd = 1.0, 0.0
    for e in eq:
        peak = max(peak, e)
        mdd = min(mdd, e / peak - 1)
    cagr = eq[-1] ** (252 / n) - 1
    pos = [float(p) for p in res.position]
    exposed = [i for i in range(n) if pos[i] != 0]
    hits = sum(1 for i in exposed if math.copysign(1, pos[i]) * res.asset_returns[i] > 0)
    turnover = sum(abs(pos[i] - (pos[i - 1] if i else 0.0)) for i in range(n)) / n
    expected = {
        "total_return": eq[-1] - 1,
        "cagr": cagr,
        "volatility": std * math.sqrt(252),
        "sharpe": mean / std * math.sqrt(252),
        "sortino": mean / down * math.sqrt(252),
        "calmar": cagr / abs(mdd),
        "max_drawdown": mdd,
        "hit_rate": hits / len(exposed),
        "turnover": turnover,
        "exposure": len(exposed) / n,
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert 0.6 < got["exposure"] < 0.9 and got["max_drawdown"] < -0.5


def test_flat_strategy_has_undefined_ratios_not_infinities(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    res = backtest(o, c, np.zeros(c.size))
    got = performance(res.returns, res.equity, res.position, res.asset_returns, 252)
    assert got["total_return"] == 0 and got["exposure"] == 0 and got["turnover"] == 0
    assert got["max_drawdown"] == 0
    for key in ("sharpe", "sortino", "calmar", "hit_rate"):
        assert math.isnan(got[key]), key
