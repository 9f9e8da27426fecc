"""Vectorized backtest of target positions on OHLC bars.

Timing and fills: the target position of bar ``t`` is decided at its close and filled at the
OPEN of bar ``t + 1``; equity is marked at each bar's close. ``held[i] = target[i - 1]`` is the
target in force over bar ``i`` (``held[0] = 0``: nothing is decided before the first bar).

Positions are signed fractions of equity. When the target changes, the engine trades at the
open from the drifted weight ``d`` of the current holding to the new weight ``w`` of the
post-trade equity, paying ``cost = (fees_bps + slippage_bps) / 1e4`` of the traded value
(slippage is modelled as a proportional cost, i.e. a fill ``slippage_bps`` worse than the
open). While the target stays the same the holding (shares) is kept, not rebalanced, so a
long/flat/short strategy trades only on changes, as a broker account would. Solving
``E' = E0 - cost * |w E' - d E0|`` gives ``E' = E0 (1 + cost d) / (1 + cost w)`` for a buy
(``w >= d``) and ``E0 (1 - cost d) / (1 - cost w)`` for a sell. Between trades
``E = E' * (1 + w (price / fill_price - 1))``. All of it is cumulative products over the
segments of constant target, so it runs in numpy without a Python loop over bars.

Split cliffs: a close-to-close move by a factor of ``cliff`` or more (the same rule as the
``outlier_jumps`` check of ``staging.bars``, :func:`trading_assets.bars.quality.outlier_jumps`)
is taken to be an unadjusted split or a bad print, not a return: :func:`cliff_adjusted` scales
every earlier price by the overnight gap ratio, so the return across the cliff is only the
bar's own open-to-close move. The bars adjusted are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: a one-bar close-to-close factor at least this large is a split-like cliff
CLIFF_FACTOR = 3.0


@dataclass(frozen=True)
class BacktestResult:
    """Per-bar result of :func:`backtest` (float64 arrays of the bars' length).

    Attributes:
        position: target position held over the bar (filled at its open).
        returns: simple return of equity over the bar (close to close; the first bar from 1.0).
        equity: equity at the bar's close, starting from 1.0.
        drawdown: ``equity / running peak - 1`` (<= 0).
        asset_returns: the instrument's close-to-close simple return (0 on the first bar).
        trades: number of bars whose open had a trade.
    """

    position: np.ndarray
    returns: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    asset_returns: np.ndarray
    trades: int


def cliff_adjusted(
    open_: np.ndarray, close: np.ndarray, cliff: float = CLIFF_FACTOR
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prices with split-like cliffs removed (see the module docstring).

    Args:
        open_, close: prices in bar order (float64, > 0, quote currency).
        cliff: factor (> 1) at which a one-bar close-to-close move counts as a cliff.

    Returns:
        ``(open, close, cliff_bars)``: adjusted copies and the int indices of the bars
        that start after a cliff.
    """
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    if close.size < 2:
        return open_.copy(), close.copy(), np.array([], dtype=np.int64)
    jump = np.abs(np.diff(np.log(close))) >= np.log(cliff)
    bars = np.flatnonzero(jump) + 1
    if bars.size == 0:
        return open_.copy(), close.copy(), bars
    ratio = np.ones(close.size)
    ratio[bars] = open_[bars] / close[bars - 1]
    # factor of bar i = product of the ratios of all cliffs after it
    factor = np.cumprod(ratio[::-1])[::-1]
    factor = np.concatenate([factor[1:], [1.0]])
    return open_ * factor, close * factor, bars


def backtest(
    open_: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    fees_bps: float = 0.0,
    slippage_bps: float = 0.0,
) -> BacktestResult:
    """Backtest target positions (see the module docstring for fills and costs).

    Args:
        open_, close: prices of one instrument in bar order (float64, > 0, quote currency).
        target: position decided at each bar's close (signed fraction of equity; NaN = 0).
        fees_bps, slippage_bps: costs per unit of traded value in basis points (>= 0).

    Returns:
        :class:`BacktestResult`.

    Raises:
        ValueError: arrays of different lengths, non-positive prices, negative costs.
    """
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    target = np.nan_to_num(np.asarray(target, dtype=np.float64), nan=0.0)
    n = close.size
    if open_.size != n or target.size != n:
        raise ValueError(f"open ({open_.size}), close ({n}) and target ({target.size}) differ")
    if fees_bps < 0 or slippage_bps < 0:
        raise ValueError(f"costs must be >= 0 bps, got {fees_bps=} {slippage_bps=}")
    if n and not (np.all(open_ > 0) and np.all(close > 0)):
        raise ValueError("prices must be > 0 (bar with open or close <= 0 or NaN)")
    empty = np.zeros(0)
    if n == 0:
        return BacktestResult(empty, empty, empty, empty, empty, 0)
    cost = (fees_bps + slippage_bps) / 1e4
    held = np.concatenate([[0.0], target[:-1]])
    change = np.concatenate([[True], held[1:] != held[:-1]])
    starts = np.flatnonzero(change)  # segment k covers bars starts[k] .. starts[k+1]-1
    seg = np.cumsum(change) - 1
    w = held[starts]
    fill = open_[starts]
    # growth of a segment from its fill to the next segment's fill, and the drifted weight there
    nxt = np.concatenate([fill[1:], [np.nan]])
    growth = 1.0 + w * (nxt / fill - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        drift = np.where(growth != 0, w * (nxt / fill) / growth, 0.0)
    d = np.concatenate([[0.0], drift[:-1]])  # weight held just before each segment's trade
    buy = w >= d
    trade_factor = np.where(buy, (1 + cost * d) / (1 + cost * w), (1 - cost * d) / (1 - cost * w))
    growth_before = np.concatenate([[1.0], growth[:-1]])
    after_trade = np.cumprod(growth_before * trade_factor)  # equity just after each fill
    equity = after_trade[seg] * (1.0 + held * (close / fill[seg] - 1.0))
    prev = np.concatenate([[1.0], equity[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.where(prev != 0, equity / prev - 1.0, 0.0)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    drawdown = equity / peak - 1.0
    asset = np.concatenate([[0.0], close[1:] / close[:-1] - 1.0])
    trades = int(np.count_nonzero(w != d))
    return BacktestResult(held, returns, equity, drawdown, asset, trades)
