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


def _all_features(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray):
    last_o, last_h, last_l, last_c, last_v = o[-1], h[-1], lo[-1], c[-1], v[-1]
    rng = last_h - last_l + EPS
    top, bottom = max(last_o, last_c), min(last_o, last_c)
    out = {
        "KMID": (last_c - last_o) / last_o,
        "KLEN": (last_h - last_l) / last_o,
        "KMID2": (last_c - last_o) / rng,
        "KUP": (last_h - top) / last_o,
        "KUP2": (last_h - top) / rng,
        "KLOW": (bottom - last_l) / last_o,
        "KLOW2": (bottom - last_l) / rng,
        "KSFT": (2 * last_c - last_h - last_l) / last_o,
        "KSFT2": (2 * last_c - last_h - last_l) / rng,
        "OPEN0": last_o / last_c,
        "HIGH0": last_h / last_c,
        "LOW0": last_l / last_c,
    }
    diff = np.diff(c)
    up, down, absd = np.maximum(diff, 0.0), np.maximum(-diff, 0.0), np.abs(diff)
    for n in WINDOWS:
        cw, hw, lw, vw = c[-n:], h[-n:], lo[-n:], v[-n:]
        hi, mn = hw.max(), lw.min()
        out[f"ROC{n}"] = c[-1 - n] / last_c
        out[f"MA{n}"] = cw.mean() / last_c
        out[f"STD{n}"] = cw.std(ddof=1) / last_c
        out[f"MAX{n}"] = hi / last_c
        out[f"MIN{n}"] = mn / last_c
        out[f"RSV{n}"] = (last_c - mn) / (hi - mn + EPS)
        cntp = float((diff[-n:] > 0).mean())
        cntn = float((diff[-n:] < 0).mean())
        out[f"CNTP{n}"], out[f"CNTN{n}"], out[f"CNTD{n}"] = cntp, cntn, cntp - cntn
        su, sd, sa = up[-n:].sum(), down[-n:].sum(), absd[-n:].sum() + EPS
        out[f"SUMP{n}"], out[f"SUMN{n}"], out[f"SUMD{n}"] = su / sa, sd / sa, (su - sd) / sa
        out[f"VMA{n}"] = vw.mean() / (last_v + EPS)
        out[f"VSTD{n}"] = vw.std(ddof=1) / (last_v + EPS)
    return out


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
    values = _all_features(
        open_[-BARS_NEEDED:], high[-BARS_NEEDED:], low[-BARS_NEEDED:],
        close[-BARS_NEEDED:], volume[-BARS_NEEDED:],
    )  # fmt: skip
    try:
        return np.array([[values[n] for n in names]], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"feature {exc.args[0]!r} is not in the newest-bar fast set") from None


def arrays(bars: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """``(open, high, low, close, volume)`` float64 arrays of the last :data:`BARS_NEEDED`
    bars of ``bars`` (one series, sorted by ts)."""
    tail = bars.tail(BARS_NEEDED)
    return tuple(
        tail[c].cast(pl.Float64).to_numpy() for c in ("open", "high", "low", "close", "volume")
    )


def is_fast(names: Sequence[str]) -> bool:
    """Whether every feature of ``names`` is on the fast path."""
    return set(names) <= set(FAST_FEATURES)


__all__ = ["BARS_NEEDED", "FAST_FEATURES", "arrays", "is_fast", "newest_features"]
