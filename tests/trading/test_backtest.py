"""The backtest engine: against backtesting.py on real daily data (all-in +/-1 with
commission; fractional positions with fees and slippage), by hand, timing, cliffs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from trading_assets.trading.backtest import backtest, cliff_adjusted

FAST, SLOW = 10, 30


def sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def sma_targets(close: np.ndarray, long_only: bool) -> np.ndarray:
    """+1 when the fast SMA is above the slow one, else -1 (0 when long-only). backtesting.py
    first calls ``next()`` one bar after every indicator has a value, so the first decision
    is at bar SLOW, not SLOW - 1."""
    fast, slow = sma(close, FAST), sma(close, SLOW)
    target = np.where(fast > slow, 1.0, 0.0 if long_only else -1.0)
    target[:SLOW] = 0.0
    return target


def peer_equity(frame: pd.DataFrame, commission: float, long_only: bool) -> np.ndarray:
    """backtesting.py's equity curve (relative to its cash) for the SMA crossover: fills at
    the next open (trade_on_close=False), one position at a time (exclusive_orders), a cash
    so large that its whole-share sizing rounds away less than 1e-9."""
    from backtesting import Strategy

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self):
            up = self.fast[-1] > self.slow[-1]
            if up and not self.position.is_long:
                self.buy()
            elif not up and long_only and self.position.is_long:
                self.position.close()
            elif not up and not long_only and not self.position.is_short:
                self.sell()

    return run_peer(frame, SmaCross, commission=commission, exclusive_orders=True)


def run_peer(frame: pd.DataFrame, strategy, **options) -> np.ndarray:
    """backtesting.py's equity curve of ``strategy`` relative to its cash: fills at the next
    open (trade_on_close=False), a cash so large that its whole-unit sizing rounds away less
    than 1e-9."""
    from backtesting import Backtest

    cash = 1e12
    bt = Backtest(frame, strategy, cash=cash, trade_on_close=False, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    return stats._equity_curve["Equity"].to_numpy() / cash


def peer_frame(orcl) -> pd.DataFrame:
    """The bars as backtesting.py reads them: OHLCV columns, a naive time index."""
    frame = orcl.to_pandas().set_index("ts")[["open", "high", "low", "close", "volume"]]
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    frame.index = frame.index.tz_localize(None)
    return frame


@pytest.mark.parametrize("long_only", [False, True])
def test_equity_matches_backtesting_py_on_real_daily_data(orcl, long_only):
    frame = peer_frame(orcl)
    fees_bps = 7.0
    expected = peer_equity(frame, fees_bps / 1e4, long_only)
    close = orcl["close"].to_numpy()
    result = backtest(
        orcl["open"].to_numpy(), close, sma_targets(close, long_only), fees_bps=fees_bps
    )
    assert result.trades > 50  # a real test: many fills, with costs
    np.testing.assert_allclose(result.equity, expected, rtol=0, atol=1e-6)
    assert abs(result.equity[-1] - 1) > 0.1


def fractional_targets(close: np.ndarray, long_only: bool) -> np.ndarray:
    """Fractional positions from the SMA gap, in steps of 0.1 within +/-0.9 (0 to 0.9 when
    long-only): the targets grow, shrink, go flat and flip sign."""
    fast, slow = sma(close, FAST), sma(close, SLOW)
    target = np.clip(np.round((fast / slow - 1) * 10, 1), 0.0 if long_only else -0.9, 0.9)
    target[:SLOW] = 0.0
    return np.nan_to_num(target) + 0.0


def peer_fractional_equity(
    frame: pd.DataFrame, target: np.ndarray, fees_bps: float, slippage_bps: float
) -> np.ndarray:
    """backtesting.py's equity curve (relative to its cash) for fractional targets, traded as
    the engine does: when the target of bar i differs from bar i - 1's, an order at bar i's
    close fills at the next open and brings the holding to the target weight of the
    post-trade equity; fees and slippage are paid on the traded value at every fill (the
    engine's slippage: a fill that much worse than the open, the same cash as a cost on the
    traded value). The harness reads the next open to compute the units of that weight: it
    implements the sizing rule, backtesting.py does the fills, costs and accounting."""
    from backtesting import Strategy

    opens = frame["Open"].to_numpy()
    cost = (fees_bps + slippage_bps) / 1e4

    def fees_and_slippage(size: float, price: float) -> float:
        return abs(size) * price * fees_bps / 1e4 + abs(size) * price * slippage_bps / 1e4

    class Targets(Strategy):
        def init(self):
            self.target = self.I(lambda: target, name="target")

        def next(self):
            i = len(self.data) - 1
            if i + 1 >= opens.size or self.target[-1] == self.target[-2]:
                return
            units, fill, w = self.position.size, opens[i + 1], float(self.target[-1])
            before = self.equity + units * (fill - self.data.Close[-1])  # at the next open
            d = units * fill / before
            after = before * ((1 + cost * d) / (1 + cost * w) if w >= d
                              else (1 - cost * d) / (1 - cost * w))  # fmt: skip
            order = round(w * after / fill - units)
            if order > 0:
                self.buy(size=order)
            elif order < 0:
                self.sell(size=-order)

    return run_peer(frame, Targets, commission=fees_and_slippage, margin=0.5)


@pytest.mark.parametrize("long_only", [False, True])
def test_fractional_positions_with_slippage_match_backtesting_py(orcl, long_only):
    frame = peer_frame(orcl)
    close = orcl["close"].to_numpy()
    target = fractional_targets(close, long_only)
    changes = np.count_nonzero(np.diff(target))
    assert changes > 500 and np.isin(np.abs(target), [0.0, 0.9]).mean() < 0.8  # fractional
    expected = peer_fractional_equity(frame, target, fees_bps=5.0, slippage_bps=3.0)
    result = backtest(orcl["open"].to_numpy(), close, target, fees_bps=5.0, slippage_bps=3.0)
    assert result.trades == np.count_nonzero(np.diff(target[:-1]))  # the last is never filled
    np.testing.assert_allclose(result.equity, expected, rtol=0, atol=1e-6)
    # slippage is real money: without it the curves part
    free = backtest(orcl["open"].to_numpy(), close, target, fees_bps=5.0)
    assert free.equity[-1] - result.equity[-1] > 0.05


def test_buy_and_hold_by_hand(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    result = backtest(o, c, np.ones(c.size), fees_bps=10.0, slippage_bps=5.0)
    cost = 15e-4
    assert result.equity[0] == 1.0 and result.position[0] == 0.0
    # bought at the open of bar 1 with the whole post-cost equity: E' = 1 / (1 + cost)
    np.testing.assert_allclose(result.equity[1:], c[1:] / o[1] / (1 + cost), rtol=1e-12)
    assert result.trades == 1
    np.testing.assert_allclose(np.cumprod(1 + result.returns), result.equity, rtol=1e-10)
    assert result.drawdown.max() <= 0 and result.drawdown.min() < -0.5  # the 2000-02 crash


def test_round_trip_costs_by_hand():
    o = np.array([10.0, 10.0, 12.0, 11.0, 11.0])
    c = np.array([10.0, 11.0, 12.0, 11.0, 11.0])
    target = np.array([0.5, 0.5, 0.0, 0.0, 0.0])  # half long from bar 1's open, out at bar 3's
    result = backtest(o, c, target, fees_bps=100.0)
    e1 = 1 / (1 + 0.01 * 0.5)  # buy half: E' (1 + c w) = E0
    q = 0.5 * e1 / 10.0  # shares
    cash = e1 - q * 10.0
    np.testing.assert_allclose(result.equity[1], cash + q * 11.0)
    np.testing.assert_allclose(result.equity[2], cash + q * 12.0)
    sold = cash + q * 11.0 - 0.01 * q * 11.0  # sell at bar 3's open, pay 1 %
    np.testing.assert_allclose(result.equity[3:], sold)
    assert result.trades == 2
    np.testing.assert_array_equal(result.position, [0.0, 0.5, 0.5, 0.0, 0.0])


def test_no_look_ahead_in_fills(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    target = sma_targets(c, long_only=False)
    base = backtest(o, c, target, fees_bps=5).equity
    cut = 3000
    # a different decision at bar `cut` is only filled at bar cut + 1's open
    changed = target.copy()
    changed[cut] = -changed[cut]
    np.testing.assert_array_equal(
        backtest(o, c, changed, fees_bps=5).equity[: cut + 1], base[: cut + 1]
    )
    # later prices change nothing before them
    o2, c2 = o.copy(), c.copy()
    o2[cut + 1 :] *= 1.3
    c2[cut + 1 :] *= 0.7
    np.testing.assert_array_equal(
        backtest(o2, c2, target, fees_bps=5).equity[: cut + 1], base[: cut + 1]
    )


def test_split_cliff_is_neutralized(orcl):
    o, c = orcl["open"].to_numpy(), orcl["close"].to_numpy()
    split = 2500
    o_raw, c_raw = o.copy(), c.copy()
    o_raw[:split] *= 4.0  # unadjusted prices before a 4:1 split
    c_raw[:split] *= 4.0
    naive = backtest(o_raw, c_raw, np.ones(c.size)).equity
    assert naive[split] / naive[split - 1] < 0.3  # the absurd -75 % "return"
    o_adj, c_adj, cliffs = cliff_adjusted(o_raw, c_raw)
    assert cliffs.tolist() == [split]
    # every return is the real one, except that the split bar keeps only its own
    # open-to-close move (its overnight gap is taken to be the split)
    real, adj = c[1:] / c[:-1], c_adj[1:] / c_adj[:-1]
    keep = np.arange(1, c.size) != split
    np.testing.assert_allclose(adj[keep], real[keep], rtol=1e-12)
    np.testing.assert_allclose(adj[split - 1], c[split] / o[split], rtol=1e-12)
    np.testing.assert_allclose(o_adj[split:], o[split:], rtol=0)
    held = backtest(o_adj, c_adj, np.ones(c.size)).equity
    assert 0.8 < held[split] / held[split - 1] < 1.2
    # no cliff in real adjusted data: nothing changes
    assert cliff_adjusted(o, c)[2].size == 0


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="differ"):
        backtest(np.ones(3), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="prices must be > 0"):
        backtest(np.array([1.0, 0.0]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="costs"):
        backtest(np.ones(2), np.ones(2), np.ones(2), fees_bps=-1)
    assert backtest(np.ones(0), np.ones(0), np.ones(0)).equity.size == 0
