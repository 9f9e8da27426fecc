"""Qlib's Alpha158 feature set, named and computed as Qlib 0.9.7 does, over one bar series.

158 features = 9 candle shapes + 4 price ratios + 29 rolling operators x 5 windows
(5, 10, 20, 30, 60 bars). Definitions, in Qlib's expression language (``$close`` the bar's close,
``Ref(x, n)`` the value ``n`` bars back, rolling operators over the last ``n`` bars including the
current one):

=========  ===========================================================================
KMID       ($close-$open)/$open
KLEN       ($high-$low)/$open
KMID2      ($close-$open)/($high-$low+1e-12)
KUP        ($high-Greater($open,$close))/$open
KUP2       ($high-Greater($open,$close))/($high-$low+1e-12)
KLOW       (Less($open,$close)-$low)/$open
KLOW2      (Less($open,$close)-$low)/($high-$low+1e-12)
KSFT       (2*$close-$high-$low)/$open
KSFT2      (2*$close-$high-$low)/($high-$low+1e-12)
OPEN0      $open/$close   (likewise HIGH0, LOW0, VWAP0)
ROCn       Ref($close,n)/$close
MAn        Mean($close,n)/$close
STDn       Std($close,n)/$close                                   (ddof=1)
BETAn      Slope($close,n)/$close                (OLS slope of close on bar index)
RSQRn      Rsquare($close,n)                     (R-squared of that regression)
RESIn      Resi($close,n)/$close                 (its residual at the current bar)
MAXn       Max($high,n)/$close
MINn       Min($low,n)/$close
QTLUn      Quantile($close,n,0.8)/$close         (linear interpolation)
QTLDn      Quantile($close,n,0.2)/$close
RANKn      Rank($close,n)                        (percentile of the current close, ties averaged)
RSVn       ($close-Min($low,n))/(Max($high,n)-Min($low,n)+1e-12)
IMAXn      IdxMax($high,n)/n                     (1-based from the oldest bar, first occurrence)
IMINn      IdxMin($low,n)/n
IMXDn      (IdxMax($high,n)-IdxMin($low,n))/n
CORRn      Corr($close,Log($volume+1),n)
CORDn      Corr($close/Ref($close,1),Log($volume/Ref($volume,1)+1),n)
CNTPn      Mean($close>Ref($close,1),n)
CNTNn      Mean($close<Ref($close,1),n)
CNTDn      CNTPn-CNTNn
SUMPn      Sum(Greater($close-Ref($close,1),0),n)/(Sum(Abs($close-Ref($close,1)),n)+1e-12)
SUMNn      Sum(Greater(Ref($close,1)-$close,0),n)/(Sum(Abs($close-Ref($close,1)),n)+1e-12)
SUMDn      SUMPn-SUMNn (computed as one fraction)
VMAn       Mean($volume,n)/($volume+1e-12)
VSTDn      Std($volume,n)/($volume+1e-12)
WVMAn      Std(W,n)/(Mean(W,n)+1e-12), W = Abs($close/Ref($close,1)-1)*$volume
VSUMPn     like SUMPn on $volume (likewise VSUMNn, VSUMDn)
=========  ===========================================================================

Semantics shared with Qlib: windows count bars, not clock time (a gap in the data is skipped
over); partial windows at the start of a series use the bars that exist (``min_periods=1``);
``Ref`` before the first bar is missing; a comparison with a missing value is false
(``CNTPn`` counts the first bar as "not up"); RSQR and CORR/CORD are missing where the rolling
std (ddof=1) of an input is at most 2e-5 (Qlib's ``np.isclose(std, 0, atol=2e-5)``).

Where this implementation differs from Qlib, on purpose:

- float64 throughout (Qlib stores float32): after the 60-bar warm-up values agree with Qlib's
  to ~1e-6 relative (CORR/CORD/WVMA ~1e-3, from Qlib's float32 logs).
- VWAP0 uses the bar's ``vwap``; where a source gives none (freqtrade candles, Yahoo), the
  typical price ``(high+low+close)/3`` stands in for it.
- CORDn: a volume ratio that is not finite (previous bar's volume is 0) is treated as missing
  for that bar, and the correlation uses the remaining complete pairs of the window (Qlib
  would return NaN for the whole window); the 2e-5 std rule uses the same complete pairs.

Missing values (stored as SQL NULL; never NaN or inf):

- ROCn: the first ``n`` bars of a series (no bar ``n`` back).
- STDn, VSTDn, BETAn, RESIn, RSQRn, CORRn: the first bar (one value: no spread, no slope).
- RSQRn, CORRn, CORDn: flat windows (std <= 2e-5, e.g. constant prices or constant volume);
  CORDn also needs two complete (return, volume ratio) pairs, so it is missing on the first
  two bars and where volume stays at 0.
- SUMPn/SUMNn/SUMDn, VSUM*n, CORDn, WVMAn: the first bar (no previous bar to difference).
- WVMAn additionally on the second bar (std of one value).
- Everything else is defined from the first bar on. Zero volume is not an error: VMA/VSTD
  become large (the 1e-12 in the denominator), as in Qlib.

Input: one series of bars (one symbol and timeframe; columns ``ts, open, high, low, close,
volume`` and optionally ``vwap``), prices in the quote currency, ts UTC. Output: one row per
input bar in ts order, ``symbol, timeframe, ts`` + the 158 columns (Float64).

Implementation: the candle, price and ``Ref`` features and the quantiles are Polars
expressions (Polars' rolling quantile is an exact order statistic); means, stds, regressions,
correlations, sums, arg-max/min and ranks come from the NumPy kernels of :mod:`._windows`,
whose results are window-local, so recomputing only the tail of a series gives
bitwise-identical values. Polars' own rolling mean/std slide running sums (their last bits
depend on where the series starts) and have no rolling slope or arg-max.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from trading_assets.features._windows import (
    Moments,
    Workspace,
    argmax,
    moments,
    rank_pct,
    run_chunked,
    sums,
)

#: rolling windows, in bars
WINDOWS: tuple[int, ...] = (5, 10, 20, 30, 60)

KBAR: tuple[str, ...] = (
    "KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2",
)  # fmt: skip
PRICE: tuple[str, ...] = ("OPEN0", "HIGH0", "LOW0", "VWAP0")
#: rolling operators in Qlib's order
ROLLING: tuple[str, ...] = (
    "ROC", "MA", "STD", "BETA", "RSQR", "RESI", "MAX", "MIN", "QTLU", "QTLD", "RANK", "RSV",
    "IMAX", "IMIN", "IMXD", "CORR", "CORD", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD",
    "VMA", "VSTD", "WVMA", "VSUMP", "VSUMN", "VSUMD",
)  # fmt: skip

#: the 158 feature names, in Qlib's order
NAMES: tuple[str, ...] = (
    *KBAR,
    *PRICE,
    *(f"{op}{n}" for op in ROLLING for n in WINDOWS),
)

#: bars of history a value needs besides the current one (ROC60 reads the close 60 bars back)
LOOKBACK: int = max(WINDOWS)

#: Qlib's threshold under which a rolling std counts as zero (RSQR, CORR, CORD)
STD_ZERO = 2e-5
EPS = 1e-12

KEY = ("symbol", "timeframe", "ts")
_INPUT = ("ts", "open", "high", "low", "close", "volume")


def _prepare(bars: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in _INPUT if c not in bars.columns]
    if missing:
        raise KeyError(f"alpha158 needs bar columns {list(_INPUT)}; missing {missing}")
    frame = bars.sort("ts")
    nulls = frame.select(pl.col(c).is_null().sum() for c in _INPUT[1:]).row(0)
    if any(nulls):
        bad = [c for c, k in zip(_INPUT[1:], nulls, strict=True) if k]
        raise ValueError(f"alpha158: bars with null {bad}; staging bars never hold nulls here")
    lowest = frame.select(pl.min_horizontal(pl.col("open", "high", "low", "close").min())).item()
    if lowest is not None and not lowest > 0:
        raise ValueError(f"alpha158: prices must be > 0 (lowest is {lowest})")
    if "vwap" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("vwap"))
    for name in ("symbol", "timeframe"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    return frame


def _std(co: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.maximum(co, 0.0) / (n - 1.0))


def _corr(m: Moments, i: int, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation of variables i and j, and both stds (ddof=1)."""
    cii, cjj = m.comoment(i, i), m.comoment(j, j)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = m.comoment(i, j) / np.sqrt(cii * cjj)
    return corr, _std(cii, m.n), _std(cjj, m.n)


def _flat(std: np.ndarray) -> np.ndarray:
    """Qlib's ``np.isclose(std, 0, atol=2e-5)``: NaN std is not flat."""
    return np.abs(std) <= STD_ZERO


def _inputs(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """Per-bar float64 inputs of the rolling features (NaN = missing)."""
    c = frame["close"].to_numpy().astype(np.float64, copy=False)
    h = frame["high"].to_numpy().astype(np.float64, copy=False)
    low = frame["low"].to_numpy().astype(np.float64, copy=False)
    v = frame["volume"].to_numpy().astype(np.float64, copy=False)
    cp = np.concatenate([[np.nan], c[:-1]])
    vp = np.concatenate([[np.nan], v[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        dc, dv = c - cp, v - vp
        return {
            "c": c,
            "v": v,
            "main": np.stack([c, np.log(v + 1.0), v]),
            # Corr is shift invariant: corr(c/cp - 1, y) == corr(c/cp, y), and c/cp - 1 keeps
            # the returns' small spread exact instead of storing it next to 1.0
            "pair": np.stack([c / cp - 1.0, np.log(v / vp + 1.0)]),
            "wv": np.abs(c / cp - 1.0) * v,
            # stacked inputs of the sum and arg-max kernels
            "sums": np.stack(
                [
                    (c > cp).astype(np.float64),  # a comparison with a missing value is false
                    (c < cp).astype(np.float64),
                    np.maximum(dc, 0.0),
                    np.maximum(-dc, 0.0),
                    np.abs(dc),
                    np.maximum(dv, 0.0),
                    np.maximum(-dv, 0.0),
                    np.abs(dv),
                ]
            ),
            "extremes": np.stack([h, -low]),  # first occurrence of the max of -low = IdxMin
        }


def _chunk_features(
    x: dict[str, np.ndarray], lo: int, keep_from: int, hi: int, ws: Workspace, put
) -> None:
    """Kernel features of rows ``[keep_from, hi)``, reading rows from ``lo`` as lookback;
    ``put(name, values)`` stores one feature's values for rows ``[lo, hi)``."""
    c, v = x["c"][lo:hi], x["v"][lo:hi]
    # close (0), log volume (1), volume (2); position (3) for the regression on time
    main = moments(
        x["main"][:, lo:hi],
        WINDOWS,
        [(0, 0), (1, 1), (2, 2), (0, 1), (3, 0), (3, 3)],
        ws,
        positional=True,
        tag="main",
    )
    cord = moments(x["pair"][:, lo:hi], WINDOWS, [(0, 0), (1, 1), (0, 1)], ws, tag="cord")
    wvma = moments(x["wv"][None, lo:hi], WINDOWS, [(0, 0)], ws, tag="wvma")
    window_sums = sums(x["sums"][:, lo:hi], WINDOWS, ws)
    extremes = argmax(x["extremes"][:, lo:hi], WINDOWS, ws)
    ranks = rank_pct(c, WINDOWS, ws)
    inv_c = 1.0 / c
    inv_v = 1.0 / (v + EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        for n in WINDOWS:
            m = main[n]
            k = m.n
            cc, pc, pp = m.comoment(0, 0), m.comoment(3, 0), m.comoment(3, 3)
            std_c = _std(cc, k)
            slope = pc / pp
            corr, _, std_l = _corr(m, 0, 1)
            flat_c = _flat(std_c)
            put(f"MA{n}", m.mean[0] * inv_c)
            put(f"STD{n}", std_c * inv_c)
            put(f"BETA{n}", slope * inv_c)
            put(f"RSQR{n}", np.where(flat_c, np.nan, pc * pc / (pp * cc)))
            # residual at the current bar (position 0): y - (mean_y + slope * (0 - mean_x))
            put(f"RESI{n}", (c - m.mean[0] + slope * m.mean[3]) * inv_c)
            put(f"CORR{n}", np.where(flat_c | _flat(std_l), np.nan, corr))
            put(f"VMA{n}", m.mean[2] * inv_v)
            put(f"VSTD{n}", _std(m.comoment(2, 2), k) * inv_v)

            corr, std_x, std_y = _corr(cord[n], 0, 1)
            put(f"CORD{n}", np.where(_flat(std_x) | _flat(std_y), np.nan, corr))

            w = wvma[n]
            mean_w = np.where(w.n > 0, w.mean[0], np.nan)
            put(f"WVMA{n}", _std(w.co[0], w.n) / (mean_w + EPS))

            total, count = window_sums[n]
            cntp, cntn = total[0] / k, total[1] / k
            put(f"CNTP{n}", cntp)
            put(f"CNTN{n}", cntn)
            put(f"CNTD{n}", cntp - cntn)
            for prefix, row in (("", 2), ("V", 5)):
                pos, neg = total[row], total[row + 1]
                inv_den = np.where(count[row] == 0, np.nan, 1.0 / (total[row + 2] + EPS))
                put(f"{prefix}SUMP{n}", pos * inv_den)
                put(f"{prefix}SUMN{n}", neg * inv_den)
                put(f"{prefix}SUMD{n}", (pos - neg) * inv_den)

            ext, lag = extremes[n]
            mx, mn, lag_h, lag_l = ext[0], -ext[1], lag[0], lag[1]
            put(f"MAX{n}", mx * inv_c)
            put(f"MIN{n}", mn * inv_c)
            put(f"RSV{n}", (c - mn) / (mx - mn + EPS))
            put(f"IMAX{n}", (k - lag_h) / n)
            put(f"IMIN{n}", (k - lag_l) / n)
            put(f"IMXD{n}", (lag_l - lag_h) / n)
            put(f"RANK{n}", ranks[n])


#: features computed by the NumPy window kernels (the rest are Polars expressions)
_KERNEL_OPS = tuple(op for op in ROLLING if op not in ("ROC", "QTLU", "QTLD"))
KERNEL_NAMES: tuple[str, ...] = tuple(f"{op}{n}" for op in _KERNEL_OPS for n in WINDOWS)


def _kernel_features(frame: pl.DataFrame, *, threads: int = 2) -> np.ndarray:
    """The kernel features as a (rows, len(KERNEL_NAMES)) Fortran-ordered float64 matrix,
    NaN where missing (no value can be infinite: every denominator is positive or guarded).

    Rows are processed in chunks (each reading ``LOOKBACK`` rows before it); because every
    value is window-local, chunking changes nothing, so chunks run on ``threads`` threads.
    """
    x = _inputs(frame)
    result = np.empty((frame.height, len(KERNEL_NAMES)), dtype=np.float64, order="F")
    column = {name: i for i, name in enumerate(KERNEL_NAMES)}

    def run(lo: int, keep_from: int, hi: int, ws: Workspace) -> None:
        def put(name: str, values: np.ndarray) -> None:
            result[keep_from:hi, column[name]] = values[keep_from - lo :]

        _chunk_features(x, lo, keep_from, hi, ws, put)

    run_chunked(frame.height, LOOKBACK, run, threads=threads)
    return result


def alpha158(bars: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The 158 Alpha158 features of one bar series (see the module docstring).

    Args:
        bars: bars of ONE symbol and ONE timeframe (``ts, open, high, low, close, volume``,
            optional ``vwap``, ``symbol``, ``timeframe``), any order; prices > 0 in the quote
            currency, volume >= 0.

    Returns:
        ``symbol, timeframe, ts`` + :data:`NAMES` (Float64, NULL where missing as documented),
        one row per bar, sorted by ts.

    Raises:
        KeyError: a required column is missing.
        ValueError: a price or volume is null, or a price is not > 0.
    """
    if isinstance(bars, pl.LazyFrame):
        bars = bars.collect()
    frame = _prepare(bars)
    if frame.height == 0:
        return pl.DataFrame(schema=output_schema())
    kernel = _kernel_features(frame)
    o, h, lo, c = (pl.col(x) for x in ("open", "high", "low", "close"))
    rng = h - lo + EPS
    vwap = pl.coalesce(pl.col("vwap"), (h + lo + c) / 3.0)
    polars_part = frame.select(
        *KEY,
        ((c - o) / o).alias("KMID"),
        ((h - lo) / o).alias("KLEN"),
        ((c - o) / rng).alias("KMID2"),
        ((h - pl.max_horizontal(o, c)) / o).alias("KUP"),
        ((h - pl.max_horizontal(o, c)) / rng).alias("KUP2"),
        ((pl.min_horizontal(o, c) - lo) / o).alias("KLOW"),
        ((pl.min_horizontal(o, c) - lo) / rng).alias("KLOW2"),
        ((2 * c - h - lo) / o).alias("KSFT"),
        ((2 * c - h - lo) / rng).alias("KSFT2"),
        (o / c).alias("OPEN0"),
        (h / c).alias("HIGH0"),
        (lo / c).alias("LOW0"),
        (vwap / c).alias("VWAP0"),
        *[(c.shift(n) / c).alias(f"ROC{n}") for n in WINDOWS],
        *[
            (c.rolling_quantile(q, "linear", n, min_samples=1) / c).alias(f"{name}{n}")
            for name, q in (("QTLU", 0.8), ("QTLD", 0.2))
            for n in WINDOWS
        ],
    )
    numpy_part = pl.DataFrame(
        [pl.Series(name, kernel[:, i], nan_to_null=True) for i, name in enumerate(KERNEL_NAMES)]
    )
    combined = pl.concat([polars_part, numpy_part], how="horizontal")
    return combined.select(*KEY, *NAMES)


def output_schema() -> dict[str, pl.DataType]:
    """Schema of :func:`alpha158`'s result (and of the ``features.alpha158`` table)."""
    from trading_assets.schemas import UTC_TS

    return {
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": UTC_TS,
        **{name: pl.Float64() for name in NAMES},
    }
