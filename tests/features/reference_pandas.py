"""Plain pandas reference implementations of the feature sets, written from the definitions.

Used by the tests (values must match ``trading_assets.features`` to 1e-9 relative) and by
``benchmarks/bench_features.py`` (the baseline the Polars implementation is timed against).

``exact=True`` computes every std, correlation and regression window by window with NumPy
(two-pass, accurate to ~1e-15): pandas' own rolling ``std``/``corr`` slide running sums and are
only accurate to ~1e-9 relative on BTC prices (measured), not enough for a 1e-9 comparison.
It is slow (a Python call per window and feature) and is what the tests compare against.

``exact=False`` is the fast pandas a user would write: native rolling ``mean/std/sum/max/min/
quantile/rank/corr``, the regression from rolling ``cov``/``var``/``corr`` with the bar index,
and ``rolling(...).apply(np.argmax)`` for IdxMax/IdxMin, which pandas lacks. The benchmark
times it as the baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS = (5, 10, 20, 30, 60)
EPS = 1e-12


def _slope_stats(y: np.ndarray) -> tuple[float, float, float]:
    """(slope, r-squared, residual of the last point) of y on 0..k-1, two-pass."""
    k = y.shape[0]
    if k < 2:
        return np.nan, np.nan, np.nan
    x = np.arange(k, dtype=float)
    xm, ym = x - x.mean(), y - y.mean()
    sxx, sxy, syy = xm @ xm, xm @ ym, ym @ ym
    slope = sxy / sxx
    rsq = sxy * sxy / (sxx * syy) if syy > 0 else np.nan
    resid = y[-1] - (y.mean() + slope * (x[-1] - x.mean()))
    return slope, rsq, resid


def _std_exact(s: pd.Series, n: int) -> pd.Series:
    return s.rolling(n, min_periods=1).apply(
        lambda w: np.std(w[np.isfinite(w)], ddof=1) if np.isfinite(w).sum() > 1 else np.nan,
        raw=True,
    )


def _corr_exact(x: pd.Series, y: pd.Series, n: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Pairwise-complete rolling correlation and the two stds over the same pairs."""
    xv, yv = x.to_numpy(float), y.to_numpy(float)
    out = np.full((3, xv.shape[0]), np.nan)
    for i in range(xv.shape[0]):
        lo = max(0, i - n + 1)
        a, b = xv[lo : i + 1], yv[lo : i + 1]
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        if a.shape[0] < 2:
            continue
        am, bm = a - a.mean(), b - b.mean()
        saa, sbb = am @ am, bm @ bm
        out[1, i] = np.sqrt(saa / (a.shape[0] - 1))
        out[2, i] = np.sqrt(sbb / (a.shape[0] - 1))
        out[0, i] = (am @ bm) / np.sqrt(saa * sbb) if saa > 0 and sbb > 0 else np.nan
    return tuple(pd.Series(row, index=x.index) for row in out)


def alpha158_pandas(bars: pd.DataFrame, *, exact: bool = True) -> pd.DataFrame:
    """Alpha158 over one series of bars (columns open, high, low, close, volume, [vwap]),
    in ts order; returns the 158 columns in Qlib's order (NaN where missing)."""
    o, h, lo, c, v = (bars[k].astype(float) for k in ("open", "high", "low", "close", "volume"))
    vwap = bars["vwap"] if "vwap" in bars else pd.Series(np.nan, index=bars.index)
    vwap = vwap.astype(float).fillna((h + lo + c) / 3)
    f: dict[str, pd.Series] = {}
    rng = h - lo + EPS
    f["KMID"] = (c - o) / o
    f["KLEN"] = (h - lo) / o
    f["KMID2"] = (c - o) / rng
    f["KUP"] = (h - np.maximum(o, c)) / o
    f["KUP2"] = (h - np.maximum(o, c)) / rng
    f["KLOW"] = (np.minimum(o, c) - lo) / o
    f["KLOW2"] = (np.minimum(o, c) - lo) / rng
    f["KSFT"] = (2 * c - h - lo) / o
    f["KSFT2"] = (2 * c - h - lo) / rng
    f["OPEN0"], f["HIGH0"], f["LOW0"], f["VWAP0"] = o / c, h / c, lo / c, vwap / c

    lv = np.log(v + 1)
    cp, vp = c.shift(1), v.shift(1)
    ratio = c / cp
    lvr = np.log(v / vp + 1).replace([np.inf, -np.inf], np.nan)
    wv = (ratio - 1).abs() * v
    dc, dv = c - cp, v - vp

    def roll(s: pd.Series, n: int):
        return s.rolling(n, min_periods=1)

    per: dict[str, dict[int, pd.Series]] = {}

    def put(name: str, n: int, s: pd.Series) -> None:
        per.setdefault(name, {})[n] = s

    for n in WINDOWS:
        put("ROC", n, c.shift(n) / c)
        put("MA", n, roll(c, n).mean() / c)
        std_c = _std_exact(c, n) if exact else roll(c, n).std()
        put("STD", n, std_c / c)
        if exact:
            slope = roll(c, n).apply(lambda w: _slope_stats(w)[0], raw=True)
            rsq = roll(c, n).apply(lambda w: _slope_stats(w)[1], raw=True)
            resi = roll(c, n).apply(lambda w: _slope_stats(w)[2], raw=True)
        else:
            idx = pd.Series(np.arange(len(c), dtype=float), index=c.index)
            slope = roll(c, n).cov(idx) / roll(idx, n).var()
            rsq = roll(c, n).corr(idx) ** 2
            resi = c - (roll(c, n).mean() + slope * (idx - roll(idx, n).mean()))
        put("BETA", n, slope / c)
        put("RSQR", n, rsq.where(~np.isclose(std_c, 0, atol=2e-5)))
        put("RESI", n, resi / c)
        mx, mn = roll(h, n).max(), roll(lo, n).min()
        put("MAX", n, mx / c)
        put("MIN", n, mn / c)
        put("QTLU", n, roll(c, n).quantile(0.8) / c)
        put("QTLD", n, roll(c, n).quantile(0.2) / c)
        put("RANK", n, roll(c, n).rank(pct=True))
        put("RSV", n, (c - mn) / (mx - mn + EPS))
        imax = roll(h, n).apply(lambda w: np.argmax(w) + 1, raw=True)
        imin = roll(lo, n).apply(lambda w: np.argmin(w) + 1, raw=True)
        put("IMAX", n, imax / n)
        put("IMIN", n, imin / n)
        put("IMXD", n, (imax - imin) / n)
        if exact:
            corr, sx, sy = _corr_exact(c, lv, n)
            cord, rx, ry = _corr_exact(ratio, lvr, n)
        else:
            corr, sx, sy = roll(c, n).corr(lv), std_c, roll(lv, n).std()
            cord = roll(ratio, n).corr(lvr)
            rx, ry = roll(ratio, n).std(), roll(lvr, n).std()
        flat = lambda s: np.isclose(s, 0, atol=2e-5)  # noqa: E731
        put("CORR", n, corr.where(~(flat(sx) | flat(sy))))
        put("CORD", n, cord.where(~(flat(rx) | flat(ry))))
        up = (c > cp).astype(float)
        down = (c < cp).astype(float)
        put("CNTP", n, roll(up, n).mean())
        put("CNTN", n, roll(down, n).mean())
        put("CNTD", n, roll(up, n).mean() - roll(down, n).mean())
        for prefix, d in (("", dc), ("V", dv)):
            pos = roll(np.maximum(d, 0), n).sum()
            neg = roll(np.maximum(-d, 0), n).sum()
            den = roll(d.abs(), n).sum() + EPS
            put(f"{prefix}SUMP", n, pos / den)
            put(f"{prefix}SUMN", n, neg / den)
            put(f"{prefix}SUMD", n, (pos - neg) / den)
        put("VMA", n, roll(v, n).mean() / (v + EPS))
        vstd = _std_exact(v, n) if exact else roll(v, n).std()
        put("VSTD", n, vstd / (v + EPS))
        wstd = _std_exact(wv, n) if exact else roll(wv, n).std()
        put("WVMA", n, wstd / (roll(wv, n).mean() + EPS))

    order = (
        ("ROC", "MA", "STD", "BETA", "RSQR", "RESI", "MAX", "MIN", "QTLU", "QTLD", "RANK"),
        ("RSV", "IMAX", "IMIN", "IMXD", "CORR", "CORD", "CNTP", "CNTN", "CNTD", "SUMP"),
        ("SUMN", "SUMD", "VMA", "VSTD", "WVMA", "VSUMP", "VSUMN", "VSUMD"),
    )
    order = [name for group in order for name in group]
    for name in order:
        for n in WINDOWS:
            f[f"{name}{n}"] = per[name][n]
    return pd.DataFrame(f, index=bars.index).replace([np.inf, -np.inf], np.nan)


def _window_std(s: pd.Series, n: int, ddof: int) -> pd.Series:
    """Exact rolling std over full windows only (NaN before)."""
    return s.rolling(n).apply(lambda w: np.std(w, ddof=ddof), raw=True)


def classic_pandas(bars: pd.DataFrame, *, exact: bool = True) -> pd.DataFrame:
    """The classic indicators of ``trading_assets.features.classic`` (without GARCH), written
    with pandas from their textbook definitions. ``exact`` uses window-by-window stds (see the
    module docstring); otherwise pandas' native rolling std."""
    c, h, lo, v = (bars[k].astype(float) for k in ("close", "high", "low", "volume"))
    cp = c.shift(1)
    out: dict[str, pd.Series] = {}
    out["logret_1"] = np.log(c / cp)
    out["sma_20"] = c.rolling(20).mean()
    out["sma_50"] = c.rolling(50).mean()
    out["ema_12"] = c.ewm(span=12, adjust=False).mean()
    out["ema_26"] = c.ewm(span=26, adjust=False).mean()
    out["trend_50"] = c / out["sma_50"] - 1
    change = c - cp
    gain = change.clip(lower=0).where(change.notna())
    loss = (-change).clip(lower=0).where(change.notna())
    avg_gain = gain.ewm(alpha=1 / 14, adjust=False).mean()
    avg_loss = loss.ewm(alpha=1 / 14, adjust=False).mean()
    moved = avg_gain + avg_loss
    out["rsi_14"] = (100 * avg_gain / moved).where(moved > 0)
    out["rsi_gain_14"], out["rsi_loss_14"] = avg_gain, avg_loss
    out["macd"] = out["ema_12"] - out["ema_26"]
    out["macd_signal"] = out["macd"].ewm(span=9, adjust=False).mean()
    out["macd_hist"] = out["macd"] - out["macd_signal"]
    std0 = _window_std(c, 20, 0) if exact else c.rolling(20).std(ddof=0)
    lower = out["sma_20"] - 2 * std0
    out["bb_pctb_20"] = ((c - lower) / (4 * std0)).where(std0 > 0)
    true_range = pd.concat([h - lo, (h - cp).abs(), (lo - cp).abs()], axis=1).max(axis=1)
    out["atr_14"] = true_range.ewm(alpha=1 / 14, adjust=False).mean()
    out["natr_14"] = 100 * out["atr_14"] / c
    r2 = out["logret_1"] ** 2
    out["rvol_20"] = np.sqrt(r2.rolling(20).sum())
    out["rvol_60"] = np.sqrt(r2.rolling(60).sum())
    vmean = v.rolling(20).mean()
    vstd = _window_std(v, 20, 1) if exact else v.rolling(20).std()
    out["vol_ratio_20"] = (v / vmean).where(vmean > 0)
    out["vol_z_20"] = ((v - vmean) / vstd).where(vstd > 0)
    return pd.DataFrame(out, index=bars.index)


def assert_matches(ours, reference, columns, *, rtol: float = 1e-9) -> dict[str, float]:
    """Assert that ``ours`` (Polars, NULL = missing) matches ``reference`` (pandas, NaN =
    missing) column by column: the same missing positions, and
    ``|ours - ref| <= rtol * |ref| + rtol * 1e-2 * median(|ref|)``: relative ``rtol``, with an
    absolute floor a hundred times below that, relative to the feature's typical size, for
    values that are zero up to floating-point rounding (a residual of an exactly linear
    window is 1e-16 in one implementation and -1e-16 in the other).

    Returns the largest relative error per column over values not near zero
    (``|ref| >= 1e-3 * median(|ref|)``)."""
    worst = {}
    for name in columns:
        a = ours[name].cast(float).fill_null(np.nan).to_numpy()
        b = reference[name].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), (
            f"{name}: missing at {np.flatnonzero(np.isnan(a) != np.isnan(b))[:10]}"
        )
        ok = ~np.isnan(b)
        if not ok.any():
            worst[name] = 0.0
            continue
        scale = float(np.median(np.abs(b[ok])))
        floor = rtol * 1e-2 * scale
        diff = np.abs(a[ok] - b[ok])
        bad = diff > rtol * np.abs(b[ok]) + floor
        assert not bad.any(), (
            f"{name}: {bad.sum()} values differ, e.g. ours {a[ok][bad][:3]} vs {b[ok][bad][:3]}"
        )
        big = np.abs(b[ok]) >= 1e-3 * scale  # not zero up to rounding
        worst[name] = float((diff[big] / np.abs(b[ok][big])).max()) if big.any() else 0.0
    return worst
