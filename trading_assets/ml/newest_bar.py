"""Features of the newest bar only: the inference fast path.

Computing Alpha158 for a whole tail of bars costs milliseconds; a prediction for the newest
bar needs one row. :func:`newest_features` computes the Alpha158 features of
:data:`FAST_FEATURES` for the LAST bar of a series from NumPy arrays of its last
``LOOKBACK + 1`` bars, with the same definitions as :mod:`trading_assets.features.alpha158`
(Qlib's; std with ddof=1), equal to the full computation to ~1e-12 relative (tested).

:data:`FAST_FEATURES` is also the default feature set of the model families, so the champion's
newest-bar prediction never goes through the full feature pipeline. Models trained on other
columns fall back to :func:`trading_assets.features.alpha158.alpha158` over the tail
(:meth:`trading_assets.ml.predictor.Predictor.predict_newest_bar`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import polars as pl

from trading_assets.features.alpha158 import EPS, KBAR, LOOKBACK, WINDOWS

#: windowed Alpha158 operators this module computes for the newest bar
FAST_OPERATORS: tuple[str, ...] = (
    "ROC", "MA", "STD", "MAX", "MIN", "RSV", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD",
    "VMA", "VSTD",
)  # fmt: skip

#: the features of the fast path (Alpha158 names), in a fixed order
FAST_FEATURES: tuple[str, ...] = (
    *KBAR,
    "OPEN0",
    "HIGH0",
    "LOW0",
    *(f"{op}{n}" for op in FAST_OPERATORS for n in WINDOWS),
)

#: bars the fast path needs (the newest one and LOOKBACK before it)
BARS_NEEDED: int = LOOKBACK + 1


_W = np.asarray(WINDOWS)
_LAST = _W - 1  # index of the last-n sums in a reversed cumulative sum
_NMAX = int(_W.max())
_MASK = (np.arange(_NMAX)[None, :] < _W[:, None]).astype(np.float64)  # window k holds bar j


def _vector(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray):
    """Every feature of :data:`FAST_FEATURES`, in that order, for the last bar (reversed
    cumulative sums and extrema: one NumPy call per quantity for all five windows)."""
    last_o, last_h, last_l, last_c, last_v = o[-1], h[-1], lo[-1], c[-1], v[-1]
    rng = last_h - last_l + EPS
    top, bottom = max(last_o, last_c), min(last_o, last_c)
    head = [
        (last_c - last_o) / last_o, (last_h - last_l) / last_o, (last_c - last_o) / rng,
        (last_h - top) / last_o, (last_h - top) / rng, (bottom - last_l) / last_o,
        (bottom - last_l) / rng, (2 * last_c - last_h - last_l) / last_o,
        (2 * last_c - last_h - last_l) / rng, last_o / last_c, last_h / last_c,
        last_l / last_c,
    ]  # fmt: skip
    rc, rv = c[::-1], v[::-1]
    s1 = np.cumsum(rc)[_LAST]
    mean = s1 / _W
    vmean = np.cumsum(rv)[_LAST] / _W
    # two-pass (centred) std of every window at once: no cancellation on price levels
    std = np.sqrt(np.sum(((rc[:_NMAX] - mean[:, None]) ** 2) * _MASK, axis=1) / (_W - 1))
    vstd = np.sqrt(np.sum(((rv[:_NMAX] - vmean[:, None]) ** 2) * _MASK, axis=1) / (_W - 1))
    hi = np.maximum.accumulate(h[::-1])[_LAST]
    mn = np.minimum.accumulate(lo[::-1])[_LAST]
    d = -np.diff(rc)  # d[k] = c[-1-k] - c[-2-k], newest first
    su = np.cumsum(np.maximum(d, 0.0))[_LAST]
    sd = np.cumsum(np.maximum(-d, 0.0))[_LAST]
    sa = np.cumsum(np.abs(d))[_LAST] + EPS
    cntp = np.cumsum(d > 0)[_LAST] / _W
    cntn = np.cumsum(d < 0)[_LAST] / _W
    return np.concatenate(
        [
            head,
            rc[_W] / last_c, mean / last_c, std / last_c, hi / last_c, mn / last_c,
            (last_c - mn) / (hi - mn + EPS), cntp, cntn, cntp - cntn, su / sa, sd / sa,
            (su - sd) / sa, vmean / (last_v + EPS), vstd / (last_v + EPS),
        ]
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _positions(names: tuple[str, ...]) -> np.ndarray:
    index = {n: i for i, n in enumerate(FAST_FEATURES)}
    try:
        return np.array([index[n] for n in names], dtype=np.intp)
    except KeyError as exc:
        raise ValueError(f"feature {exc.args[0]!r} is not in the newest-bar fast set") from None


def newest_features(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    names: Sequence[str] = FAST_FEATURES,
) -> np.ndarray:
    """The features ``names`` of the last bar, as a float64 array of shape ``(1, len(names))``.

    Args:
        open_, high, low, close, volume: float64 arrays of the last bars of ONE series in ts
            order (prices in the quote currency), at least :data:`BARS_NEEDED` long.
        names: features to return, each in :data:`FAST_FEATURES`.

    Raises:
        ValueError: fewer than :data:`BARS_NEEDED` bars, or a name outside the fast set.
    """
    if close.shape[0] < BARS_NEEDED:
        raise ValueError(f"the newest-bar features need {BARS_NEEDED} bars, got {close.shape[0]}")
    n = BARS_NEEDED
    values = _vector(open_[-n:], high[-n:], low[-n:], close[-n:], volume[-n:])
    return values[_positions(tuple(names))].reshape(1, -1)


def arrays(bars: pl.DataFrame, n: int = BARS_NEEDED) -> tuple[np.ndarray, ...]:
    """``(open, high, low, close, volume)`` float64 arrays of the last ``n`` (default
    :data:`BARS_NEEDED`) bars of ``bars`` (one series, sorted by ts)."""
    tail = bars.tail(n)
    return tuple(
        tail[c].cast(pl.Float64).to_numpy() for c in ("open", "high", "low", "close", "volume")
    )


def is_fast(names: Sequence[str]) -> bool:
    """Whether every feature of ``names`` is on the fast path."""
    return set(names) <= set(FAST_FEATURES)


__all__ = ["BARS_NEEDED", "FAST_FEATURES", "arrays", "is_fast", "newest_features"]
