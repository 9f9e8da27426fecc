"""Position sizing: fractional Kelly on the calibrated edge of the signal, within caps.

Kelly: for a bet whose per-bar log return has expected value ``mu`` and variance ``var``, the
fraction of equity that maximizes the expected log growth is ``mu / var`` (the
continuous-time Kelly criterion). Full Kelly is far too aggressive with estimated edges, so
the position is ``fraction * mu / var`` clipped to ``[-max_short, max_long]`` (``max_short =
0`` is long-only).

The edge ``mu`` is never the raw model forecast (forecasts of log returns are not calibrated:
an IC of 0.05 with forecasts of the return's size would put every bar at the cap). It is the
expected return *given the signal*, estimated walk-forward from realized (signal, return)
pairs (:func:`calibrated_positions`):

- the return of a signal decided at bar ``t``'s close is what the backtest engine earns on it:
  filled at the open of ``t + 1``, held to the next fill, the open of ``t + 2``
  (:func:`engine_returns`, ``log(open[t+2] / open[t+1])``); it is realized at that open, so
  the decision at bar ``T`` uses only pairs of bars ``t <= T - 2``;
- over the last ``lookback`` realized pairs, the OLS slope ``b`` of return on signal, its
  t-statistic ``t`` (that of their correlation, ``r sqrt((k - 2) / (1 - r^2))``), and the
  empirical-Bayes shrinkage ``max(0, 1 - 1 / t^2)`` (the slope's sampling variance against
  its own size): a weak or unstable edge (|t| near or below 1) is shrunk to nothing, a
  clear one is kept; a slope that is not positive (the signal has pointed the wrong way) is
  no edge;
- ``mu = shrunk slope * signal``: what the signal adds; the window's mean return (the
  unconditional drift) is left out on purpose, buy-and-hold is its own strategy;
- fewer than ``min_pairs`` realized pairs: flat (``too_little_history``); a Kelly position
  smaller than ``no_trade_band`` (fraction of equity): flat (``in_band``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: why a calibrated position is what it is (one per bar, see :func:`calibrated_positions`)
SIZED = "sized"
NO_SIGNAL = "no_signal"
TOO_LITTLE_HISTORY = "too_little_history"
NO_EDGE = "no_edge"
IN_BAND = "in_band"
NO_VARIANCE = "no_variance"
#: bars from a signal's decision until the return it earns in the engine is realized
REALIZED_AFTER = 2


@dataclass(frozen=True)
class KellySizing:
    """Parameters of :func:`kelly_positions`.

    Attributes:
        fraction: share of the full Kelly fraction taken (0 < fraction <= 1; 0.25 = quarter Kelly).
        max_long: largest long position as a fraction of equity (>= 0; 1.0 = fully invested).
        max_short: largest short position as a positive fraction of equity (>= 0).
        long_only: never short (same as ``max_short = 0``).
    """

    fraction: float = 0.25
    max_long: float = 1.0
    max_short: float = 1.0
    long_only: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"Kelly fraction must be in (0, 1], got {self.fraction}")
        if self.max_long < 0 or self.max_short < 0:
            raise ValueError(
                f"position caps must be >= 0, got max_long={self.max_long}, "
                f"max_short={self.max_short}"
            )

    @property
    def lower(self) -> float:
        """Smallest allowed position (<= 0)."""
        return 0.0 if self.long_only else -self.max_short

    @property
    def upper(self) -> float:
        """Largest allowed position (>= 0)."""
        return self.max_long


def kelly_positions(
    mu: np.ndarray, var: np.ndarray, sizing: KellySizing = KellySizing()
) -> np.ndarray:
    """Fractional Kelly positions, clipped to the caps.

    Args:
        mu: expected log return per bar (float64, any shape).
        var: variance of the per-bar log return (float64, same shape, > 0).

    Returns:
        Signed positions as fractions of equity (float64, same shape), in
        ``[sizing.lower, sizing.upper]``; 0 where ``mu`` or ``var`` is NaN or ``var <= 0``.
    """
    mu = np.asarray(mu, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    ok = np.isfinite(mu) & np.isfinite(var) & (var > 0)
    raw = np.zeros(np.broadcast(mu, var).shape)
    np.divide(sizing.fraction * mu, var, out=raw, where=ok)
    return np.clip(raw, sizing.lower, sizing.upper)


def trailing_variance(close: np.ndarray, window: int) -> np.ndarray:
    """Variance (ddof=1) of the last ``window`` one-bar log returns up to and including each
    bar, so the value at bar t uses closes up to t only (known at t's close).

    Args:
        close: closes in bar order (float64, > 0).
        window: returns per estimate (>= 2).

    Returns:
        float64 array like ``close``; NaN until ``window`` returns exist.
    """
    if window < 2:
        raise ValueError(f"variance window must be >= 2, got {window}")
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    if close.size <= window:
        return out
    r = np.diff(np.log(close))
    c1 = np.concatenate([[0.0], np.cumsum(r)])
    c2 = np.concatenate([[0.0], np.cumsum(r * r)])
    s1 = c1[window:] - c1[:-window]
    s2 = c2[window:] - c2[:-window]
    var = (s2 - s1 * s1 / window) / (window - 1)
    out[window:] = np.maximum(var, 0.0)
    return out


@dataclass(frozen=True)
class EdgeSizing:
    """How the edge behind a position is calibrated (see the module docstring).

    Attributes:
        lookback: most recent realized (signal, return) pairs behind the slope (>= 3).
        min_pairs: fewest realized pairs for a calibration; with fewer the position is flat
            (3 <= min_pairs <= lookback).
        no_trade_band: Kelly positions smaller than this (fraction of equity, 0 <= band < 1)
            are not taken: flat.
    """

    lookback: int = 500
    min_pairs: int = 100
    no_trade_band: float = 0.05

    def __post_init__(self) -> None:
        if not 3 <= self.min_pairs <= self.lookback:
            raise ValueError(
                "need 3 <= min_pairs <= lookback, got "
                f"min_pairs={self.min_pairs}, lookback={self.lookback}"
            )
        if not 0 <= self.no_trade_band < 1:
            raise ValueError(f"no_trade_band must be in [0, 1), got {self.no_trade_band}")


@dataclass(frozen=True)
class WindowMoments:
    """Moments of the last ``lookback`` realized pairs (x, y) usable at each bar (float64
    arrays, one per bar; NaN where fewer than 3 pairs): ``pairs`` (int64), the means, the
    variances and the covariance (ddof 0)."""

    pairs: np.ndarray
    mean_x: np.ndarray
    mean_y: np.ndarray
    var_x: np.ndarray
    var_y: np.ndarray
    cov: np.ndarray

    @property
    def correlation(self) -> np.ndarray:
        """Pearson correlation per bar (NaN with < 3 pairs or a constant side), in [-1, 1]."""
        scale = 1e-24  # below any real variance of returns or forecasts
        ok = (self.pairs >= 3) & (self.var_x > scale) & (self.var_y > scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.cov / np.sqrt(self.var_x * self.var_y)
        return np.where(ok & np.isfinite(r), np.clip(r, -1.0, 1.0), np.nan)


def window_moments(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, lag: int, lookback: int
) -> WindowMoments:
    """Moments, at each bar ``t``, of the last ``lookback`` pairs of bars ``s <= t - lag``
    where both ``x`` and ``y`` are finite and whose group equals bar t's group.

    Args:
        x, y: values per bar (float64, NaN where none).
        groups: int group code per bar (all equal for one group).
        lag: bars until a pair is realized (>= 1).
        lookback: most recent realized pairs used (>= 1).
    """
    n = x.shape[0]
    out = {k: np.full(n, np.nan) for k in ("mean_x", "mean_y", "var_x", "var_y", "cov")}
    pairs = np.zeros(n, dtype=np.int64)
    valid = np.isfinite(x) & np.isfinite(y)
    realized_until = np.arange(n) - lag  # last bar whose pair is known at bar t
    for g in np.unique(groups):
        idx = np.flatnonzero(valid & (groups == g))
        at = np.flatnonzero(groups == g)
        if idx.size == 0 or at.size == 0:
            continue
        # shift by the first pair: the same moments, better-conditioned sums
        x0, y0 = x[idx[0]], y[idx[0]]
        xs, ys = x[idx] - x0, y[idx] - y0
        sums = [np.concatenate([[0.0], np.cumsum(v)]) for v in (xs, ys, xs * xs, ys * ys, xs * ys)]
        hi = np.searchsorted(idx, realized_until[at], side="right")
        lo = np.maximum(hi - lookback, 0)
        k = (hi - lo).astype(np.float64)
        sx, sy, sxx, syy, sxy = (s[hi] - s[lo] for s in sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx, my = sx / k, sy / k
            moments = (mx + x0, my + y0, sxx / k - mx * mx, syy / k - my * my, sxy / k - mx * my)
        for name, value in zip(out, moments, strict=True):
            out[name][at] = np.where(k >= 3, value, np.nan)
        pairs[at] = hi - lo
    return WindowMoments(pairs, **out)


def engine_returns(open_: np.ndarray) -> np.ndarray:
    """The log return the backtest engine earns on a position decided at each bar's close:
    from the fill at the next bar's open to the following open, ``log(open[t+2] /
    open[t+1])`` (float64 like ``open_``; NaN for the last two bars and non-positive opens).
    """
    open_ = np.asarray(open_, dtype=np.float64)
    out = np.full(open_.shape, np.nan)
    if open_.size > REALIZED_AFTER:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:-REALIZED_AFTER] = np.log(open_[REALIZED_AFTER:] / open_[1:-1])
    return np.where(np.isfinite(out), out, np.nan)


def banded_kelly(
    expected: np.ndarray, var: np.ndarray, kelly: KellySizing, band: float
) -> np.ndarray:
    """:func:`kelly_positions` of ``expected`` (calibrated edge, log return per bar) and
    ``var``, with positions smaller than ``band`` (fraction of equity) set to 0 (float64,
    the shape of ``expected``, no negative zero)."""
    position = kelly_positions(expected, var, kelly)
    return np.where(np.abs(position) < band, 0.0, position) + 0.0


@dataclass(frozen=True)
class CalibratedPositions:
    """Per-bar result of :func:`calibrated_positions` (arrays of the bars' length).

    Attributes:
        position: signed target position, fraction of equity (float64, 0 when flat).
        expected: calibrated expected log return per bar of the signal (float64, 0 where
            there is no calibrated edge).
        slope: OLS slope of realized return on signal over the window (NaN: no calibration).
        t_stat: its t-statistic (NaN: no calibration).
        shrink: the factor the slope was shrunk by, in [0, 1] (0: no edge).
        pairs: realized pairs behind the calibration (int64).
        reason: why, per bar (object array of :data:`SIZED`, :data:`NO_SIGNAL`,
            :data:`TOO_LITTLE_HISTORY`, :data:`NO_EDGE`, :data:`IN_BAND`, :data:`NO_VARIANCE`).
    """

    position: np.ndarray
    expected: np.ndarray
    slope: np.ndarray
    t_stat: np.ndarray
    shrink: np.ndarray
    pairs: np.ndarray
    reason: np.ndarray


def calibrated_positions(
    signal: np.ndarray,
    realized: np.ndarray,
    var: np.ndarray,
    kelly: KellySizing = KellySizing(),
    edge: EdgeSizing = EdgeSizing(),
) -> CalibratedPositions:
    """Fractional Kelly positions on the walk-forward calibrated edge of ``signal`` (see the
    module docstring). No look-ahead: the position of bar ``T`` uses ``signal[T]``,
    ``var[T]`` and the pairs ``(signal[t], realized[t])`` of bars ``t <= T - 2`` only.

    Args:
        signal: the signal per bar in bar order (float64; NaN where there is none, e.g. no
            model carries weight), in units of a per-bar log return.
        realized: the return earned on each bar's signal (:func:`engine_returns`; float64,
            NaN where not realized).
        var: variance of the per-bar log return known at each bar (float64,
            e.g. :func:`trailing_variance`).
        kelly: Kelly fraction and position caps.
        edge: lookback, fewest pairs and no-trade band.

    Returns:
        :class:`CalibratedPositions`.

    Raises:
        ValueError: arrays of different lengths.
    """
    signal = np.asarray(signal, dtype=np.float64)
    realized = np.asarray(realized, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    if not signal.shape == realized.shape == var.shape:
        raise ValueError(
            f"signal {signal.shape}, realized {realized.shape} and var {var.shape} differ"
        )
    m = window_moments(signal, realized, np.zeros(signal.size, np.int64), REALIZED_AFTER,
                       edge.lookback)  # fmt: skip
    r = m.correlation
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(np.isfinite(r), m.cov / m.var_x, np.nan)
        t_stat = r * np.sqrt((m.pairs - 2) / np.maximum(1.0 - r * r, 1e-12))
        shrink = np.where(t_stat > 1.0, 1.0 - 1.0 / (t_stat * t_stat), 0.0)
    shrink = np.nan_to_num(shrink)
    has_signal = np.isfinite(signal)
    calibrated = (m.pairs >= edge.min_pairs) & np.isfinite(slope)
    expected = np.where(calibrated & has_signal, np.nan_to_num(slope) * shrink, 0.0) * np.where(
        has_signal, signal, 0.0
    )
    position = banded_kelly(expected, var, kelly, edge.no_trade_band)
    in_band = (position == 0) & (expected != 0)
    has_var = np.isfinite(var) & (var > 0)
    reason = np.select(
        [~has_signal, m.pairs < edge.min_pairs, ~calibrated | (shrink <= 0), ~has_var, in_band],
        [NO_SIGNAL, TOO_LITTLE_HISTORY, NO_EDGE, NO_VARIANCE, IN_BAND],
        default=SIZED,
    ).astype(object)
    return CalibratedPositions(position, expected, slope, t_stat, shrink, m.pairs, reason)
