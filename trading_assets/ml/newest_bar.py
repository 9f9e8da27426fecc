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


def _matrix(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray):
    """Every feature of :data:`FAST_FEATURES`, in that order, for each of the last ``m``
    bars, from arrays of ``BARS_NEEDED + m - 1`` bars: ``(m, len(FAST_FEATURES))``. Row ``i``
    reads bars ``i .. i + BARS_NEEDED - 1`` only (reversed cumulative sums and extrema over
    sliding views: one NumPy call per quantity for all five windows and all rows)."""
    view = np.lib.stride_tricks.sliding_window_view
    ro, rh, rl, rc, rv = (view(a, BARS_NEEDED)[:, ::-1] for a in (o, h, lo, c, v))  # newest first
    last_o, last_h, last_l, last_c, last_v = ro[:, 0], rh[:, 0], rl[:, 0], rc[:, 0], rv[:, 0]
    rng = last_h - last_l + EPS
    top, bottom = np.maximum(last_o, last_c), np.minimum(last_o, last_c)
    head = [
        (last_c - last_o) / last_o, (last_h - last_l) / last_o, (last_c - last_o) / rng,
        (last_h - top) / last_o, (last_h - top) / rng, (bottom - last_l) / last_o,
        (bottom - last_l) / rng, (2 * last_c - last_h - last_l) / last_o,
        (2 * last_c - last_h - last_l) / rng, last_o / last_c, last_h / last_c,
        last_l / last_c,
    ]  # fmt: skip
    mean = np.cumsum(rc, axis=1)[:, _LAST] / _W
    vmean = np.cumsum(rv, axis=1)[:, _LAST] / _W
    # two-pass (centred) std of every window at once: no cancellation on price levels
    dev = (rc[:, None, :_NMAX] - mean[:, :, None]) ** 2
    std = np.sqrt(np.sum(dev * _MASK, axis=2) / (_W - 1))
    vdev = (rv[:, None, :_NMAX] - vmean[:, :, None]) ** 2
    vstd = np.sqrt(np.sum(vdev * _MASK, axis=2) / (_W - 1))
    hi = np.maximum.accumulate(rh, axis=1)[:, _LAST]
    mn = np.minimum.accumulate(rl, axis=1)[:, _LAST]
    d = -np.diff(rc, axis=1)  # d[:, k] = c[-1-k] - c[-2-k], newest first
    su = np.cumsum(np.maximum(d, 0.0), axis=1)[:, _LAST]
    sd = np.cumsum(np.maximum(-d, 0.0), axis=1)[:, _LAST]
    sa = np.cumsum(np.abs(d), axis=1)[:, _LAST] + EPS
    cntp = np.cumsum(d > 0, axis=1)[:, _LAST] / _W
    cntn = np.cumsum(d < 0, axis=1)[:, _LAST] / _W
    c1, v1 = last_c[:, None], last_v[:, None]
    return np.concatenate(
        [
            np.stack(head, axis=1),
            rc[:, _W] / c1, mean / c1, std / c1, hi / c1, mn / c1,
            (c1 - mn) / (hi - mn + EPS), cntp, cntn, cntp - cntn, su / sa, sd / sa,
            (su - sd) / sa, vmean / (v1 + EPS), vstd / (v1 + EPS),
        ],
        axis=1,
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
    *,
    rows: int = 1,
) -> np.ndarray:
    """The features ``names`` of the last bar (of each of the last ``rows`` bars, oldest
    first: what a sequence model's window reads), float64 of shape ``(rows, len(names))``;
    row ``i`` reads the bars up to its own bar only.

    Args:
        open_, high, low, close, volume: float64 arrays of the last bars of ONE series in ts
            order (prices in the quote currency), at least ``BARS_NEEDED + rows - 1`` long.
        names: features to return, each in :data:`FAST_FEATURES`.
        rows: how many of the newest bars (default 1: the newest only).

    Raises:
        ValueError: too few bars, or a name outside the fast set.
    """
    n = BARS_NEEDED + rows - 1
    if close.shape[0] < n:
        raise ValueError(f"the newest-bar features need {n} bars, got {close.shape[0]}")
    values = _matrix(open_[-n:], high[-n:], low[-n:], close[-n:], volume[-n:])
    return values[:, _positions(tuple(names))]


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
