"""Classic technical indicators over one bar series, and GARCH(1,1) volatility on daily bars.

Columns (Float64; prices in the quote currency of the symbol; NULL where missing):

================  ============================================================================
logret_1          log(close / previous close). NULL on the first bar.
sma_20, sma_50    simple moving average of close over 20/50 bars. NULL until the window is full.
ema_12, ema_26    exponential moving average of close, alpha = 2/(span+1), recursive
                  (``adjust=False``), seeded with the first close: defined from the first bar.
trend_50          close / sma_50 - 1. NULL until 50 bars.
rsi_14            Wilder's RSI: 100 * G / (G + L) with G, L the Wilder averages (alpha 1/14,
                  seeded with the first change) of gains and losses. NULL on the first bar, and
                  while prices have not moved since the start (0/0).
rsi_gain_14       G, the Wilder-smoothed gain per bar (quote currency). NULL on the first bar.
rsi_loss_14       L, the Wilder-smoothed loss per bar (quote currency). NULL on the first bar.
macd              ema_12 - ema_26.
macd_signal       EMA (span 9, seeded with the first macd) of macd.
macd_hist         macd - macd_signal.
bb_pctb_20        Bollinger %B: (close - lower) / (upper - lower), bands sma_20 -/+ 2 population
                  std (ddof=0) over 20 bars. NULL until 20 bars and on flat windows (std = 0).
atr_14            Wilder's average true range (alpha 1/14), true range = max(high - low,
                  |high - prev close|, |low - prev close|), high - low on the first bar.
natr_14           100 * atr_14 / close (percent).
rvol_20, rvol_60  realized volatility: sqrt of the sum of squared 1-bar log returns over the last
                  20/60 bars (not annualised). NULL until that many returns exist.
vol_ratio_20      volume / mean volume over 20 bars. NULL until 20 bars, and when the mean is 0.
vol_z_20          (volume - mean) / std (ddof=1) over 20 bars. NULL until 20 bars and when the
                  std is 0 (constant or zero volume).
garch_vol         daily bars only (NULL on other timeframes): one-bar-ahead conditional std of
                  the daily log return from a GARCH(1,1) with constant mean and normal errors
                  (``arch``), in log-return units. Parameters are refitted every
                  ``refit_every`` bars (252, a year of sessions; a fit takes ~30 ms) on
                  an expanding window of the returns strictly before the
                  segment they serve (first fit after ``min_obs`` bars); the variance recursion
                  runs over returns up to the bar. NULL until the first fit.
================  ============================================================================

Windows count bars, not clock time. Recursive indicators (EMA, RSI, ATR, MACD) carry their state
in the stored columns (``ema_*``, ``rsi_gain_14``, ``rsi_loss_14``, ``macd_signal``,
``atr_14``): an incremental update continues the recursion from the previous bar's row, which
gives bitwise the values of a full recompute (see :func:`classic_tail`). Windowed indicators are
window-local (:mod:`trading_assets.features._windows`).

Input: bars of ONE symbol and ONE timeframe (``ts, open, high, low, close, volume``), prices > 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from trading_assets.features._windows import Workspace, moments, run_chunked, sums
from trading_assets.schemas import UTC_TS

KEY = ("symbol", "timeframe", "ts")

NAMES: tuple[str, ...] = (
    "logret_1",
    "sma_20",
    "sma_50",
    "ema_12",
    "ema_26",
    "trend_50",
    "rsi_14",
    "rsi_gain_14",
    "rsi_loss_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_pctb_20",
    "atr_14",
    "natr_14",
    "rvol_20",
    "rvol_60",
    "vol_ratio_20",
    "vol_z_20",
    "garch_vol",
)

#: columns that hold the state of a recursion (an incremental update continues from them)
STATE: tuple[str, ...] = ("ema_12", "ema_26", "rsi_gain_14", "rsi_loss_14", "macd_signal", "atr_14")

#: bars of history a windowed value needs besides the current one (rvol_60: 60 returns)
LOOKBACK: int = 60

_ALPHA_EMA12, _ALPHA_EMA26, _ALPHA_SIGNAL = 2 / 13, 2 / 27, 2 / 10
_ALPHA_WILDER = 1 / 14


@dataclass(frozen=True)
class GarchConfig:
    """When and how often the daily GARCH(1,1) is fitted.

    Attributes:
        min_obs: bars before the first fit (the first fit uses the ``min_obs - 1`` returns
            before bar ``min_obs``).
        refit_every: bars between refits (parameters are fixed in between).
        timeframes: timeframes that get ``garch_vol``.
    """

    min_obs: int = 252
    refit_every: int = 252
    timeframes: tuple[str, ...] = ("1d",)


#: the default GARCH settings
DEFAULT_GARCH = GarchConfig()


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`classic` results (and of ``features.classic``)."""
    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        **{name: pl.Float64() for name in NAMES},
    }


def _prepare(bars: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    if isinstance(bars, pl.LazyFrame):
        bars = bars.collect()
    need = ("ts", "open", "high", "low", "close", "volume")
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise KeyError(f"classic indicators need bar columns {list(need)}; missing {missing}")
    frame = bars if bars["ts"].is_sorted() else bars.sort("ts")
    for name in ("symbol", "timeframe"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    if any(frame[c].null_count() for c in need[1:]):
        raise ValueError("classic indicators: bars with null prices or volume")
    return frame


def _windowed(frame: pl.DataFrame, first: int) -> dict[str, np.ndarray]:
    """Windowed indicators for rows ``first..`` (window-local: computed from the
    :data:`LOOKBACK` rows before ``first``, they equal a full computation bitwise)."""
    c_all = frame["close"].to_numpy().astype(np.float64, copy=False)
    start = max(0, first - LOOKBACK)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_all = np.log(c_all / np.concatenate([[np.nan], c_all[:-1]]))
    c = c_all[start:]
    v = frame["volume"].to_numpy().astype(np.float64, copy=False)[start:]
    r2 = r_all[start:] ** 2
    length = c.shape[0]
    names = ("sma_20", "sma_50", "bb_pctb_20", "rvol_20", "rvol_60", "vol_ratio_20", "vol_z_20")
    out = {name: np.full(length, np.nan) for name in names}

    def run(lo: int, keep_from: int, hi: int, ws: Workspace) -> None:
        keep = slice(keep_from - lo, hi - lo)
        cc, vv = c[lo:hi], v[lo:hi]
        stats = moments(np.stack([cc, vv]), (20, 50), [(0, 0), (1, 1)], ws, tag="classic")
        squares = sums(r2[None, lo:hi], (20, 60), ws)
        values: dict[str, np.ndarray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for n in (20, 50):
                m = stats[n]
                values[f"sma_{n}"] = np.where(m.n == n, m.mean[0], np.nan)
            m = stats[20]
            std0 = np.sqrt(np.maximum(m.co[0], 0.0) / m.n)
            pctb = (cc - (m.mean[0] - 2.0 * std0)) / (4.0 * std0)
            values["bb_pctb_20"] = np.where((m.n == 20) & (std0 > 0), pctb, np.nan)
            full, mean = m.n == 20, m.mean[1]
            std1 = np.sqrt(np.maximum(m.co[1], 0.0) / (m.n - 1.0))
            values["vol_ratio_20"] = np.where(full & (mean > 0), vv / mean, np.nan)
            values["vol_z_20"] = np.where(full & (std1 > 0), (vv - mean) / std1, np.nan)
            for n in (20, 60):
                total, count = squares[n]
                values[f"rvol_{n}"] = np.where(count[0] == n, np.sqrt(total[0]), np.nan)
        for name, arr in values.items():
            out[name][keep_from:hi] = arr[keep]

    run_chunked(length, LOOKBACK, run, threads=1)
    return {name: arr[first - start :] for name, arr in out.items()}


def _ema(x: np.ndarray, alpha: float, seed: float | None) -> np.ndarray:
    """Recursive EMA ``y_t = alpha * x_t + (1 - alpha) * y_{t-1}`` by a linear filter.

    With ``seed`` (the value before ``x[0]``) the recursion continues from it; without, it
    starts at the first finite ``x`` (NaN before). Both paths run the same filter arithmetic,
    so continuing from a stored value is bitwise equal to one pass over the whole series.
    A short tail (the newest bars) runs as a plain loop of the same arithmetic, bit for bit,
    without importing ``scipy.signal`` (about a second, once per process).
    """
    out = np.full(x.shape[0], np.nan)
    if seed is None or not np.isfinite(seed):
        finite = np.flatnonzero(np.isfinite(x))
        if finite.size == 0:
            return out
        start = int(finite[0])
        out[start] = x[start]
        seed, start = float(x[start]), start + 1
    else:
        start = 0
    if start < x.shape[0]:
        decay = 1.0 - alpha
        if x.shape[0] - start <= _LOOP_MAX:
            y = seed
            for i in range(start, x.shape[0]):
                y = alpha * x[i] + decay * y
                out[i] = y
        else:
            from scipy.signal import lfilter

            out[start:] = lfilter([alpha], [1.0, -decay], x[start:], zi=[decay * seed])[0]
    return out


#: EMA tails up to this many values run as a loop instead of ``scipy.signal.lfilter``
_LOOP_MAX = 256


def _compute(
    frame: pl.DataFrame,
    first: int,
    seeds: dict[str, float | None] | None,
    garch: GarchConfig | None,
) -> pl.DataFrame:
    """Indicators for rows ``first..`` of ``frame``; ``seeds`` (state columns of row
    ``first - 1``) continue the recursions, else they start at row ``first`` (must be 0)."""
    if seeds is None and first != 0:
        raise ValueError("a partial computation needs the previous row's state")
    seeds = seeds or {}
    windowed = _windowed(frame, first)
    c_all = frame["close"].to_numpy().astype(np.float64, copy=False)
    h = frame["high"].to_numpy().astype(np.float64, copy=False)[first:]
    lo = frame["low"].to_numpy().astype(np.float64, copy=False)[first:]
    c = c_all[first:]
    prev = c_all[first - 1 : -1] if first > 0 else np.concatenate([[np.nan], c_all[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        change = c - prev
        gain = np.where(np.isfinite(change), np.maximum(change, 0.0), np.nan)
        loss = np.where(np.isfinite(change), np.maximum(-change, 0.0), np.nan)
        true_range = np.fmax(h - lo, np.fmax(np.abs(h - prev), np.abs(lo - prev)))
        ema_12 = _ema(c, _ALPHA_EMA12, seeds.get("ema_12"))
        ema_26 = _ema(c, _ALPHA_EMA26, seeds.get("ema_26"))
        macd = ema_12 - ema_26
        signal = _ema(macd, _ALPHA_SIGNAL, seeds.get("macd_signal"))
        avg_gain = _ema(gain, _ALPHA_WILDER, seeds.get("rsi_gain_14"))
        avg_loss = _ema(loss, _ALPHA_WILDER, seeds.get("rsi_loss_14"))
        atr = _ema(true_range, _ALPHA_WILDER, seeds.get("atr_14"))
        moved = avg_gain + avg_loss
        rsi = np.where(moved > 0, 100.0 * avg_gain / moved, np.nan)
        sma_50 = windowed["sma_50"]
        columns = {
            "logret_1": np.log(c / prev),
            "sma_20": windowed["sma_20"],
            "sma_50": sma_50,
            "ema_12": ema_12,
            "ema_26": ema_26,
            "trend_50": c / sma_50 - 1.0,
            "rsi_14": rsi,
            "rsi_gain_14": avg_gain,
            "rsi_loss_14": avg_loss,
            "macd": macd,
            "macd_signal": signal,
            "macd_hist": macd - signal,
            "bb_pctb_20": windowed["bb_pctb_20"],
            "atr_14": atr,
            "natr_14": 100.0 * atr / c,
            "rvol_20": windowed["rvol_20"],
            "rvol_60": windowed["rvol_60"],
            "vol_ratio_20": windowed["vol_ratio_20"],
            "vol_z_20": windowed["vol_z_20"],
        }
    timeframe = frame["timeframe"][0] if frame.height else None
    if garch is not None and timeframe in garch.timeframes:
        columns["garch_vol"] = garch_volatility(
            c_all, start=first, min_obs=garch.min_obs, every=garch.refit_every
        )[first:]
    else:
        columns["garch_vol"] = np.full(c.shape[0], np.nan)
    keys = pl.DataFrame([frame[k].slice(first) for k in KEY])
    values = pl.DataFrame({name: columns[name] for name in NAMES}, nan_to_null=True)
    return pl.concat([keys, values], how="horizontal")


def classic(
    bars: pl.DataFrame | pl.LazyFrame, *, garch: GarchConfig | None = DEFAULT_GARCH
) -> pl.DataFrame:
    """Classic indicators of one bar series (see the module docstring).

    Args:
        bars: bars of ONE symbol and ONE timeframe, any order.
        garch: GARCH settings; None disables ``garch_vol`` (left NULL).

    Returns:
        ``symbol, timeframe, ts`` + :data:`NAMES`, one row per bar in ts order.

    Raises:
        KeyError: a required column is missing.
        ValueError: null prices or volume.
    """
    frame = _prepare(bars)
    if frame.height == 0:
        return pl.DataFrame(schema=output_schema())
    return _compute(frame, 0, None, garch)


def classic_tail(
    bars: pl.DataFrame,
    first_new: int,
    previous: dict[str, float | None],
    *,
    garch: GarchConfig | None = DEFAULT_GARCH,
) -> pl.DataFrame:
    """Indicators for the bars from row ``first_new`` on, continuing from the stored row before.

    Args:
        bars: the series (ts order) with at least :data:`LOOKBACK` rows before ``first_new``
            (or all of them), plus the new bars. For ``garch_vol`` the whole daily history.
        first_new: index of the first bar to compute.
        previous: the stored indicator row of bar ``first_new - 1`` (its :data:`STATE` values).

    Returns:
        Rows for bars ``first_new..``, bitwise equal to what :func:`classic` gives for them on
        the whole series.
    """
    frame = _prepare(bars)
    return _compute(frame, first_new, {k: previous.get(k) for k in STATE}, garch)


def garch_volatility(
    close: np.ndarray, *, start: int = 0, min_obs: int = 252, every: int = 252
) -> np.ndarray:
    """One-bar-ahead GARCH(1,1) conditional std of log returns, fitted only on past returns.

    Bars ``R_m = min_obs + m * every`` start segments; the parameters used for the bars of
    segment ``m`` are fitted (``arch``, constant mean, normal errors, returns in percent) on the
    returns of bars ``1 .. R_m - 1``. With fixed parameters the variance recursion
    ``s_t = omega + alpha * e_{t-1}**2 + beta * s_{t-1}`` runs over the returns up to each bar
    (started from arch's backcast of the first 75 residuals), and the value at bar ``t`` is
    ``sqrt(omega + alpha * e_t**2 + beta * s_t) / 100``: known at the bar's close. A fit that
    fails or does not converge reuses the previous segment's parameters (NaN if none).

    Args:
        close: closes in ts order (> 0).
        start: compute bars ``start..`` only (earlier entries are NaN); the values do not
            depend on ``start``.

    Returns:
        float64 array like ``close``: NaN before bar ``min_obs`` and before ``start``.
    """
    from scipy.signal import lfilter

    length = close.shape[0]
    out = np.full(length, np.nan)
    if length <= min_obs or min_obs < 3:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = 100.0 * np.diff(np.log(close))  # returns[j] is bar j+1's return
    segments = list(range(min_obs, length, every))
    params = None
    first_needed = max((i for i, s in enumerate(segments) if s <= max(start, min_obs)), default=0)
    if first_needed > 0:  # the fallback parameters of a failed fit come from the segment before
        params = _fit_garch(returns[: segments[first_needed - 1] - 1])
    for i in range(first_needed, len(segments)):
        seg_start = segments[i]
        seg_end = segments[i + 1] if i + 1 < len(segments) else length
        if seg_end <= start:
            continue
        fitted = _fit_garch(returns[: seg_start - 1])
        params = fitted if fitted is not None else params
        if params is None:
            continue
        mu, omega, alpha, beta = params
        resid = returns[: seg_end - 1] - mu
        tau = min(75, resid.shape[0])
        weights = 0.94 ** np.arange(tau)
        backcast = float(np.sum((resid[:tau] ** 2) * (weights / weights.sum())))
        drive = np.empty(resid.shape[0])
        drive[0] = backcast
        drive[1:] = omega + alpha * resid[:-1] ** 2
        variance = lfilter([1.0], [1.0, -beta], drive)  # s_j for return j
        forecast = omega + alpha * resid**2 + beta * variance
        bars = np.arange(seg_start, seg_end)
        out[bars] = np.sqrt(forecast[bars - 1]) / 100.0
    out[:start] = np.nan
    return out


def _fit_garch(returns: np.ndarray) -> tuple[float, float, float, float] | None:
    """(mu, omega, alpha, beta) of a GARCH(1,1) on percent returns, or None if it fails."""
    from arch import arch_model

    returns = returns[np.isfinite(returns)]
    if returns.shape[0] < 30 or np.std(returns) == 0:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = arch_model(
                returns, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=False
            ).fit(disp="off", show_warning=False)
    except (ValueError, np.linalg.LinAlgError, RuntimeError):
        return None
    if res.convergence_flag != 0:
        return None
    p = res.params
    values = (float(p["mu"]), float(p["omega"]), float(p["alpha[1]"]), float(p["beta[1]"]))
    return values if all(np.isfinite(values)) else None
