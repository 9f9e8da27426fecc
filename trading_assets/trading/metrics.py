"""Performance metrics of an equity curve, annualized per market and timeframe.

Conventions (risk-free rate 0; ``r`` = per-bar simple returns of equity, ``n`` bars,
``P`` bars per year):

- ``total_return`` = final equity / 1.0 - 1; ``cagr`` = final equity ** (P / n) - 1
  (-1 when the equity is gone);
- ``volatility`` = std(r, ddof=1) * sqrt(P); ``sharpe`` = mean(r) / std(r, ddof=1) * sqrt(P);
- ``sortino`` = mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(P) (downside deviation against 0
  over all bars);
- ``max_drawdown`` = min(equity / running peak - 1) (<= 0, the start at 1.0 counts as a peak);
  ``calmar`` = cagr / |max_drawdown|;
- ``hit_rate`` = share of bars held with a non-zero position on which the instrument moved the
  position's way (sign(position) * asset return > 0); NaN when never exposed;
- ``turnover`` = mean |position change| per bar; ``exposure`` = share of bars with a non-zero
  position.

A ratio whose denominator is 0 (no volatility, no drawdown) is NaN, not infinite.

Bars per year (:func:`bars_per_year`): crypto trades around the clock, 365 days x 24 h. For
equities and indices it is the exchange's sessions per year (from its calendar, about 252 in New
York) times the bars per session *actually observed* in the series: a session holds 7
clock-aligned hourly bars (09:00-16:00 New York, the first one half a session hour), 16 with
extended hours, 390 regular minutes, and an illiquid series fewer. Without the series'
timestamps, the regular session's clock-aligned bar count is used.
"""

from __future__ import annotations

import math
from datetime import date, time

import numpy as np
import polars as pl

from trading_assets.markets import market_of
from trading_assets.sessions import sessions, trading_dates
from trading_assets.timeframes import timeframe_seconds

#: sessions a year of an equity market when no dates are given
EQUITY_SESSIONS_PER_YEAR = 252


def sessions_per_year(symbol: str, first: date, last: date) -> float:
    """Mean number of sessions a year of ``symbol``'s exchange over the whole calendar years
    ``first.year`` to ``last.year`` (from ``exchange_calendars``: 252 in New York in 2013,
    250 in 2012 with the hurricane closure).

    Raises:
        ConfigurationError: no calendar for the symbol's exchange.
    """
    known = sessions(symbol, date(first.year, 1, 1), date(last.year, 12, 31))
    years = known.days.astype("datetime64[Y]").astype(int) + 1970
    inside = (years >= first.year) & (years <= last.year)
    return float(inside.sum()) / (last.year - first.year + 1)


def _regular_session_bars(symbol: str, seconds: int) -> float:
    """Clock-aligned bars of ``seconds`` touching the regular session (7 hourly in New York)."""
    market = market_of(symbol)

    def local_seconds(at: time) -> int:
        return at.hour * 3600 + at.minute * 60 + at.second

    first = local_seconds(market.session_open) // seconds * seconds
    return math.ceil((local_seconds(market.session_close) - first) / seconds)


def bars_per_year(symbol: str, timeframe: str, ts: pl.Series | None = None) -> float:
    """Bars of ``timeframe`` in a year for ``symbol`` (see the module docstring).

    Args:
        ts: the series' bar open times (UTC). For equities the bars per session are counted
            from them (bars / distinct trading dates) and the sessions per year come from the
            exchange calendar over the years they cover; None: the regular session's
            clock-aligned bar count and :data:`EQUITY_SESSIONS_PER_YEAR`.

    Raises:
        ConfigurationError: no calendar for the symbol's exchange.
    """
    seconds = timeframe_seconds(timeframe)
    if market_of(symbol).always_open:
        return 365 * 86_400 / seconds
    if seconds >= 604_800:
        return EQUITY_SESSIONS_PER_YEAR * 86_400 / seconds * 7 / 5
    if ts is None or ts.len() == 0:
        per_session = 1.0 if seconds >= 86_400 else _regular_session_bars(symbol, seconds)
        return EQUITY_SESSIONS_PER_YEAR * per_session
    days = trading_dates(symbol, timeframe, ts)
    per_session = ts.len() / days.n_unique()
    return sessions_per_year(symbol, days.min(), days.max()) * per_session


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 and math.isfinite(den) else float("nan")


def performance(
    returns: np.ndarray,
    equity: np.ndarray,
    position: np.ndarray,
    asset_returns: np.ndarray,
    periods_per_year: float,
) -> dict[str, float]:
    """Metrics of one backtest (see the module docstring).

    Args:
        returns: per-bar simple returns of equity (float64).
        equity: equity at each bar's close, starting from 1.0 (float64).
        position: position held over each bar (float64).
        asset_returns: the instrument's per-bar simple return (float64).
        periods_per_year: bars per year (:func:`bars_per_year`).

    Returns:
        ``total_return, cagr, volatility, sharpe, sortino, calmar, max_drawdown, hit_rate,
        turnover, exposure`` as floats (NaN where undefined, e.g. fewer than 2 bars).
    """
    n = int(returns.size)
    nan = float("nan")
    if n == 0:
        return dict.fromkeys(
            ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
             "max_drawdown", "hit_rate", "turnover", "exposure"),
            nan,
        )  # fmt: skip
    final = float(equity[-1])
    years = n / periods_per_year
    cagr = final ** (1 / years) - 1 if final > 0 else -1.0
    std = float(np.std(returns, ddof=1)) if n > 1 else nan
    mean = float(np.mean(returns))
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    max_dd = float(np.min(equity / peak - 1.0))
    exposed = position != 0
    moved = np.sign(position) * asset_returns > 0
    prev = np.concatenate([[0.0], position[:-1]])
    root = math.sqrt(periods_per_year)
    return {
        "total_return": final - 1.0,
        "cagr": cagr,
        "volatility": std * root,
        "sharpe": _ratio(mean, std) * root,
        "sortino": _ratio(mean, downside) * root,
        "calmar": _ratio(cagr, abs(max_dd)),
        "max_drawdown": max_dd,
        "hit_rate": float(moved[exposed].mean()) if exposed.any() else nan,
        "turnover": float(np.mean(np.abs(position - prev))),
        "exposure": float(exposed.mean()),
    }
