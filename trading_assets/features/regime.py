"""Market regime per bar, using only data up to the bar and parameters fitted before it.

Rule regime (every timeframe, always on):

- ``vol``: realized volatility of the bar, sqrt(mean of squared 1-bar log returns over the
  last ``vol_window`` bars);
- the fitted quantity is the volatility threshold: the median of ``vol`` over the ``history``
  bars strictly BEFORE the bar (at least ``min_history`` of them); ``vol_state`` is 1 (volatile)
  when ``vol`` is above it, else 0 (calm), and ``vol_ratio = vol / threshold``;
- ``trend`` is +1 when the ``trend_fast``-bar mean close is above the ``trend_slow``-bar mean,
  else -1;
- ``regime_id = 2 * (trend == -1) + vol_state`` and ``regime`` its name: ``up_calm`` (0),
  ``up_volatile`` (1), ``down_calm`` (2), ``down_volatile`` (3).

Markov regime (optional, daily bars; ``RegimeConfig.markov``): a 2-state Markov switching model
(statsmodels ``MarkovRegression``, switching mean and variance) of percent log returns, refitted
every ``markov_refit_every`` bars on the ``markov_max_obs`` returns strictly before the refit
bar (first fit after ``markov_min_obs`` bars). With fixed parameters the Hamilton *filter* (not
the smoother, which would use later data) runs from the start of that fit window up to each
bar; ``markov_p_high`` is the filtered probability of the higher-variance state at the bar.
Off by default: a fit takes 0.3-0.5 s, too slow for every daily symbol on every run.

Missing values (NULL): ``vol`` until ``vol_window`` returns exist; ``vol_state``, ``vol_ratio``
until ``min_history`` earlier vols exist (and ``vol_ratio`` when the threshold is 0, e.g.
constant prices); ``trend`` until ``trend_slow`` bars; ``regime``/``regime_id`` whenever
``trend`` or ``vol_state`` is; ``markov_p_high`` off-daily, when disabled, or before the first
fit. Every value at bar ``t`` depends only on bars ``<= t``: the look-ahead test cuts the input
at random times and checks nothing before the cut changes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from trading_assets.features._windows import moments, run_chunked, sums
from trading_assets.schemas import UTC_TS

KEY = ("symbol", "timeframe", "ts")
NAMES: tuple[str, ...] = (
    "regime",
    "regime_id",
    "trend",
    "vol_state",
    "vol",
    "vol_ratio",
    "markov_p_high",
)
LABELS: tuple[str, ...] = ("up_calm", "up_volatile", "down_calm", "down_volatile")


@dataclass(frozen=True)
class RegimeConfig:
    """Parameters of the regime rules (see the module docstring)."""

    vol_window: int = 20
    history: int = 250
    min_history: int = 60
    trend_fast: int = 20
    trend_slow: int = 100
    markov: bool = False
    markov_timeframes: tuple[str, ...] = ("1d",)
    markov_min_obs: int = 500
    markov_refit_every: int = 252
    markov_max_obs: int = 1000

    @property
    def lookback(self) -> int:
        """Bars of history the rule regime of one bar reads (returns need one more close)."""
        return max(self.trend_slow - 1, self.history + self.vol_window)


#: the default regime parameters
DEFAULT_REGIME = RegimeConfig()


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`regime` results (and of ``features.regime``)."""
    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        "regime": pl.String(),
        "regime_id": pl.Int32(),
        "trend": pl.Int32(),
        "vol_state": pl.Int32(),
        "vol": pl.Float64(),
        "vol_ratio": pl.Float64(),
        "markov_p_high": pl.Float64(),
    }


def _rule_inputs(close: np.ndarray, config: RegimeConfig) -> dict[str, np.ndarray]:
    """vol and the fast/slow means per row (window-local), NaN where not enough bars."""
    length = close.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.log(close / np.concatenate([[np.nan], close[:-1]])) ** 2
    out = {k: np.full(length, np.nan) for k in ("vol", "fast", "slow")}
    fast, slow, vw = config.trend_fast, config.trend_slow, config.vol_window

    def run(lo: int, keep_from: int, hi: int, ws) -> None:
        keep = slice(keep_from - lo, hi - lo)
        means = moments(close[None, lo:hi], (fast, slow), [], ws, tag="trend")
        squares = sums(r2[None, lo:hi], (vw,), ws)
        total, count = squares[vw]
        with np.errstate(invalid="ignore"):
            vol = np.where(count[0] == vw, np.sqrt(total[0] / vw), np.nan)
        out["vol"][keep_from:hi] = vol[keep]
        for name, n in (("fast", fast), ("slow", slow)):
            m = means[n]
            out[name][keep_from:hi] = np.where(m.n == n, m.mean[0], np.nan)[keep]

    run_chunked(length, max(fast, slow, vw + 1), run, threads=1)
    return out


def regime(
    bars: pl.DataFrame | pl.LazyFrame, config: RegimeConfig = DEFAULT_REGIME
) -> pl.DataFrame:
    """Regime of every bar of one series (see the module docstring).

    Args:
        bars: bars of ONE symbol and ONE timeframe (``symbol, timeframe, ts, close``), any
            order, closes > 0.
        config: rule parameters.

    Returns:
        ``symbol, timeframe, ts`` + :data:`NAMES`, one row per bar in ts order.
    """
    frame = bars.collect() if isinstance(bars, pl.LazyFrame) else bars
    frame = frame.sort("ts")
    for name in ("symbol", "timeframe"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    if frame.height == 0:
        return pl.DataFrame(schema=output_schema())
    close = frame["close"].to_numpy().astype(np.float64, copy=False)
    rule = _rule_inputs(close, config)
    markov = np.full(frame.height, np.nan)
    timeframe = frame["timeframe"][0]
    if config.markov and timeframe in config.markov_timeframes:
        markov = markov_high_vol_probability(
            close,
            min_obs=config.markov_min_obs,
            every=config.markov_refit_every,
            max_obs=config.markov_max_obs,
        )
    base = frame.select(KEY).with_columns(
        pl.Series("vol", rule["vol"], nan_to_null=True),
        pl.Series("fast", rule["fast"], nan_to_null=True),
        pl.Series("slow", rule["slow"], nan_to_null=True),
        pl.Series("markov_p_high", markov, nan_to_null=True),
    )
    threshold = (
        pl.col("vol")
        .shift(1)
        .rolling_median(window_size=config.history, min_samples=config.min_history)
    )
    trend = pl.when(pl.col("fast") > pl.col("slow")).then(1).otherwise(-1)
    trend = pl.when(pl.col("slow").is_null()).then(None).otherwise(trend).cast(pl.Int32)
    out = base.with_columns(threshold.alias("threshold"), trend.alias("trend")).with_columns(
        (pl.col("vol") > pl.col("threshold")).cast(pl.Int32).alias("vol_state"),
        pl.when(pl.col("threshold") > 0)
        .then(pl.col("vol") / pl.col("threshold"))
        .otherwise(None)
        .alias("vol_ratio"),
    )
    regime_id = (pl.when(pl.col("trend") == -1).then(2).otherwise(0) + pl.col("vol_state")).cast(
        pl.Int32
    )
    regime_id = pl.when(pl.col("trend").is_null()).then(None).otherwise(regime_id)
    out = out.with_columns(regime_id.alias("regime_id")).with_columns(
        pl.col("regime_id")
        .replace_strict(dict(enumerate(LABELS)), default=None, return_dtype=pl.String)
        .alias("regime")
    )
    return out.select(list(output_schema()))


def regime_tail(
    bars: pl.DataFrame, first_new: int, config: RegimeConfig = DEFAULT_REGIME
) -> pl.DataFrame:
    """Regime of the bars from row ``first_new`` on.

    ``bars`` needs :attr:`RegimeConfig.lookback` rows before ``first_new`` (or all of them; the
    whole daily history when the Markov regime is on); every value is a window-local function
    of those rows, so the result equals :func:`regime` on the whole series for these bars.
    """
    frame = bars.sort("ts")
    if config.markov and frame.height and frame["timeframe"][0] in config.markov_timeframes:
        start = 0
    else:
        start = max(0, first_new - config.lookback - 1)
    return regime(frame.slice(start), config).slice(first_new - start)


def markov_high_vol_probability(
    close: np.ndarray, *, min_obs: int = 500, every: int = 252, max_obs: int = 1000
) -> np.ndarray:
    """Filtered probability of the high-variance state of a 2-state Markov switching model.

    Segments start at bars ``R_m = min_obs + m * every``; the model for segment ``m`` is fitted
    on the (at most ``max_obs``) percent log returns before bar ``R_m`` and filtered, with those
    parameters, from the first return of that window up to each bar of the segment.

    Returns:
        float64 array like ``close``, NaN before ``min_obs`` and where a fit failed.
    """
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    length = close.shape[0]
    out = np.full(length, np.nan)
    if length <= min_obs:
        return out
    returns = 100.0 * np.diff(np.log(close))  # returns[j] belongs to bar j + 1
    starts = list(range(min_obs, length, every))
    for i, seg_start in enumerate(starts):
        seg_end = starts[i + 1] if i + 1 < len(starts) else length
        window_from = max(0, seg_start - 1 - max_obs)
        fit_on = returns[window_from : seg_start - 1]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = MarkovRegression(fit_on, k_regimes=2, trend="c", switching_variance=True)
                params = model.fit(disp=False).params
                filtered = (
                    MarkovRegression(
                        returns[window_from : seg_end - 1],
                        k_regimes=2,
                        trend="c",
                        switching_variance=True,
                    )
                    .filter(params)
                    .filtered_marginal_probabilities
                )
        except (ValueError, np.linalg.LinAlgError):
            continue
        names = list(model.param_names)
        sigma = [params[names.index(f"sigma2[{k}]")] for k in (0, 1)]
        high = int(np.argmax(sigma))
        probs = np.asarray(filtered)[:, high]
        bars = np.arange(seg_start, seg_end)
        out[bars] = probs[bars - 1 - window_from]
    return out
