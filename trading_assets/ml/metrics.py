"""Prediction metrics: IC, Rank IC, ICIR, directional accuracy, RMSE.

- ``ic``: Pearson correlation of predictions and realized labels over all rows.
- ``rank_ic``: Spearman correlation (Pearson of average ranks).
- ``icir``: mean over std (ddof=1) of the per-period IC, a period being ``period`` consecutive
  bar times (all symbols of those times pooled); NaN with fewer than two periods.
- ``directional_accuracy``: share of rows with a non-zero label whose prediction has the
  label's sign; a zero prediction counts as half right (a coin flip).
- ``rmse``: root mean squared error, in the label's units (log return).
A correlation is NaN where either side is constant (e.g. the zero baseline).
"""

from __future__ import annotations

import math

import numpy as np

NAMES = ("ic", "rank_ic", "icir", "directional_accuracy", "rmse")
#: metrics where a larger value is better (the rest: smaller is better)
HIGHER_IS_BETTER = {"ic": True, "rank_ic": True, "icir": True, "directional_accuracy": True,
                    "rmse": False}  # fmt: skip


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2:
        return math.nan
    sx, sy = x.std(), y.std()
    if sx <= 1e-15 or sy <= 1e-15:
        return math.nan
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def ic(pred: np.ndarray, label: np.ndarray) -> float:
    """Pearson IC of float arrays of equal length (NaN if either is constant)."""
    return _corr(np.asarray(pred, float), np.asarray(label, float))


def rank_ic(pred: np.ndarray, label: np.ndarray) -> float:
    """Spearman rank IC (NaN if either is constant)."""
    return _corr(_ranks(np.asarray(pred, float)), _ranks(np.asarray(label, float)))


def period_ics(pred: np.ndarray, label: np.ndarray, ts: np.ndarray, period: int) -> np.ndarray:
    """IC per period of ``period`` consecutive distinct ``ts`` (the last one may be shorter)."""
    grid, position = np.unique(ts, return_inverse=True)
    group = position // max(1, period)
    out = [ic(pred[group == g], label[group == g]) for g in range(int(group.max()) + 1)]
    return np.asarray(out, float)


def icir(pred: np.ndarray, label: np.ndarray, ts: np.ndarray, period: int = 20) -> float:
    """Mean over std of the per-period IC (see the module docstring)."""
    values = period_ics(pred, label, ts, period)
    values = values[np.isfinite(values)]
    if values.size < 2 or values.std(ddof=1) <= 1e-15:
        return math.nan
    return float(values.mean() / values.std(ddof=1))


def directional_accuracy(pred: np.ndarray, label: np.ndarray) -> float:
    """Share of non-zero labels whose sign the prediction has (zero prediction = 0.5)."""
    pred, label = np.asarray(pred, float), np.asarray(label, float)
    keep = label != 0
    if not keep.any():
        return math.nan
    hit = np.where(np.sign(pred[keep]) == 0, 0.5, np.sign(pred[keep]) == np.sign(label[keep]))
    return float(hit.mean())


def rmse(pred: np.ndarray, label: np.ndarray) -> float:
    """Root mean squared error."""
    pred, label = np.asarray(pred, float), np.asarray(label, float)
    return float(np.sqrt(np.mean((pred - label) ** 2))) if pred.size else math.nan


def evaluate(
    pred: np.ndarray, label: np.ndarray, ts: np.ndarray, period: int = 20
) -> dict[str, float]:
    """Every metric of :data:`NAMES` for one set of predictions (float arrays, same length;
    ``ts`` the bar times, for ICIR)."""
    return {
        "ic": ic(pred, label),
        "rank_ic": rank_ic(pred, label),
        "icir": icir(pred, label, ts, period),
        "directional_accuracy": directional_accuracy(pred, label),
        "rmse": rmse(pred, label),
    }


def better(new: float, old: float, metric: str) -> bool:
    """Whether ``new`` beats ``old`` on ``metric`` (NaN never beats; anything beats NaN)."""
    if not math.isfinite(new):
        return False
    if not math.isfinite(old):
        return True
    return new > old if HIGHER_IS_BETTER[metric] else new < old


__all__ = ["HIGHER_IS_BETTER", "NAMES", "better", "directional_accuracy", "evaluate", "ic",
           "icir", "period_ics", "rank_ic", "rmse"]  # fmt: skip
