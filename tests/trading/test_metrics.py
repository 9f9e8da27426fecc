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
    # without observed bars: the clock-aligned bars of the regular session, 09:00-16:00
    assert bars_per_year("^GSPC", "1h") == 252 * 7
    assert bars_per_year("SPY", "1m") == 252 * 390
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


def _in_session(symbol: str, ts) -> np.ndarray:
    """Whether each bar opens inside the regular session (calendar: holidays, early closes)."""
    from trading_assets.sessions import sessions

    known = sessions(symbol, ts.min().date(), ts.max().date())
    return known.session_of(ts.dt.epoch("us").to_numpy())[0]


def test_equity_minutes_are_annualized_by_the_bars_observed(shared_data):
    """NinjaTrader SPY 1m, January 2011: 14,180 bars over 20 sessions with thin pre/post-market
    bars, so 709 bars a session (not 390); 2011 had 252 New York sessions."""
    import polars as pl

    from trading_assets.sources.files.ninjatrader import NinjaTraderReader

    path = shared_data / "equities" / "minute" / "nt-spy-minute-2011.csv"
    bars = NinjaTraderReader(path, symbol="SPY", timeframe="1m").read()
    assert bars_per_year("SPY", "1m", bars["ts"]) == pytest.approx(14_180 / 20 * 252)
    regular = bars.filter(pl.Series(_in_session("SPY", bars["ts"])))
    per_session = regular.height / 20
    assert 380 <= per_session <= 390  # minutes without a trade are missing
    assert bars_per_year("SPY", "1m", regular["ts"]) == pytest.approx(per_session * 252)


def test_equity_hours_are_annualized_by_the_bars_observed(shared_data):
    """Two real hourly layouts: Yahoo's AAPL bars (regular-session bars at :30, extended-hours
    bars on the hour, 45 sessions) and clock-aligned bars resampled from Lean's SPY minutes
    (six sessions of October 2013)."""
    import json

    import polars as pl

    from trading_assets.bars.resample import resample_bars
    from trading_assets.markets import US_EQUITY
    from trading_assets.schemas import UTC_TS
    from trading_assets.sources.files.lean_csv import LeanCsvReader

    path = shared_data.parent / "formats" / "yahoo_hourly" / "AAPL_1h_20251226.json"
    stamps = [b["t"] for b in json.loads(path.read_text())["bars"] if b["t"].endswith(":00.000Z")]
    ts = pl.Series(stamps).str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC").cast(UTC_TS)
    assert ts.len() == 700
    sessions_2025 = 250  # New York, 2025 (calendar)
    every = bars_per_year("AAPL", "1h", ts)
    assert every == pytest.approx(700 / 45 * sessions_2025)  # 15.6 bars a session
    regular = ts.filter(pl.Series(_in_session("AAPL", ts)))
    # 7 bars a full session (09:30 ... 15:30), 3 on the two half days; 44 sessions (the
    # file ends in the pre-market of 2025-12-26)
    assert regular.len() == 42 * 7 + 2 * 3
    assert bars_per_year("AAPL", "1h", regular) == pytest.approx(300 / 44 * sessions_2025)
    # clock-aligned hours from minutes, regular session only: 7 a session (09:00 ... 15:00)
    minute_dir = shared_data / "equities" / "minute" / "lean_spy_2013-10"
    minutes = pl.concat(LeanCsvReader(p).read() for p in sorted(minute_dir.glob("*_trade.csv")))
    minutes = minutes.filter(pl.Series(_in_session("SPY", minutes["ts"])))
    hours = resample_bars(minutes, "1h", US_EQUITY)
    per_day = hours.group_by(pl.col("ts").dt.date()).len().sort("ts")["len"].to_list()
    assert per_day == [6, 7, 7, 7, 7, 7]  # the first 09:00 bucket starts before the data
    assert bars_per_year("SPY", "1h", hours["ts"]) == pytest.approx(41 / 6 * 252)
    # the backtest's annualized volatility uses it: std of hourly returns x sqrt(41 / 6 x 252)
    from trading_assets.trading.backtest_run import BacktestSettings, backtest_series

    none = pl.DataFrame(schema={"model": pl.String, "ts": UTC_TS, "prediction": pl.Float64})
    metrics, equity, _ = backtest_series(
        "SPY", "1h", hours, none, none.select("ts"), BacktestSettings(fees_bps=0, slippage_bps=0)
    )
    r = equity["return"].to_numpy()
    held = metrics.filter(pl.col("strategy") == "buy_and_hold").row(0, named=True)
    assert held["volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(41 / 6 * 252))
