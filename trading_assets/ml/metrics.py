"""Prediction metrics: IC, Rank IC, ICIR, directional accuracy, RMSE.

- ``ic``: Pearson correlation of predictions and realized labels over all rows.
- ``rank_ic``: Spearman correlation (Pearson of average ranks).
- ``icir``: mean over std (ddof=1) of the per-period IC, a period being ``period`` consecutive
  bar times (all symbols of those times pooled); NaN with fewer than two periods.
- ``directional_accuracy``: share of rows with a non-zero label whose prediction has the
  label's sign; a zero prediction counts as half right (a coin flip).
- ``rmse``: root mean squared error, in the label's units (log return).
A correlation is NaN where either side is constant (e.g. the zero baseline).

Direction classifiers (targets ``dir_<h>``, labels -1 down / +1 up) predict the signed
probability ``P(up) - P(down)`` in [-1, 1] (:func:`probability_up` turns it back into
``P(up)``); they are scored with :data:`CLASSIFICATION_NAMES` (scikit-learn's definitions):

- ``accuracy``: share of rows whose predicted direction (``P(up) > 0.5``) is the label's;
- ``balanced_accuracy``: mean recall of the two directions;
- ``log_loss``: mean negative log-likelihood of the label under ``P(up)`` (nats);
- against the majority-class baseline (the fold's most frequent training direction, with its
  training frequency as probability): ``majority_<metric>`` and ``accuracy_vs_majority``,
  ``balanced_accuracy_vs_majority`` (differences, > 0 beats it), ``log_loss_vs_majority``
  (difference, < 0 beats it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

NAMES = ("ic", "rank_ic", "icir", "directional_accuracy", "rmse")
#: metrics of a direction classifier (see the module docstring)
CLASSIFICATION_NAMES = ("accuracy", "balanced_accuracy", "log_loss")
#: the metrics of each task, and the one a selection reads when the configured one is not
TASK_METRICS = {"regression": NAMES, "classification": CLASSIFICATION_NAMES}
TASK_DEFAULT_METRIC = {"regression": "ic", "classification": "log_loss"}
#: metrics where a larger value is better (the rest: smaller is better)
HIGHER_IS_BETTER = {"ic": True, "rank_ic": True, "icir": True, "directional_accuracy": True,
                    "rmse": False, "accuracy": True, "balanced_accuracy": True,
                    "log_loss": False}  # fmt: skip
#: probabilities are clipped to [EPS, 1 - EPS] for the log-loss
EPS = 1e-6


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


def probability_up(pred: np.ndarray) -> np.ndarray:
    """``P(up)`` (float64, clipped to ``[EPS, 1 - EPS]``) of signed probabilities
    ``P(up) - P(down)`` in [-1, 1]."""
    return np.clip((np.asarray(pred, float) + 1.0) / 2.0, EPS, 1.0 - EPS)


def _classification(pred: np.ndarray, label: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

    nan = {m: math.nan for m in CLASSIFICATION_NAMES}
    up = np.asarray(label, float) > 0
    if up.size == 0:
        return nan
    p = probability_up(pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one class only: balanced accuracy warns
        return {
            "accuracy": float(accuracy_score(up, p > 0.5)),
            "balanced_accuracy": float(balanced_accuracy_score(up, p > 0.5)),
            "log_loss": float(log_loss(up, p, labels=[False, True])),
        }


def evaluate_classification(
    pred: np.ndarray, label: np.ndarray, majority: np.ndarray | None = None
) -> dict[str, float]:
    """:data:`CLASSIFICATION_NAMES` of signed probabilities ``pred`` against direction labels
    ``label`` (-1/+1, float, same length), and with ``majority`` (the baseline's ``P(up)``
    per row, e.g. the training share of up-bars of the row's fold) the ``majority_*`` and
    ``*_vs_majority`` figures of the module docstring."""
    out = _classification(pred, label)
    if majority is not None:
        base = _classification(2.0 * np.asarray(majority, float) - 1.0, label)
        for name in CLASSIFICATION_NAMES:
            out[f"majority_{name}"] = base[name]
            out[f"{name}_vs_majority"] = out[name] - base[name]
    return out


def metric_for(task: str, requested: str) -> str:
    """The metric a selection on a ``task`` dataset reads: ``requested`` when it is one of
    that task's metrics, else the task's default (``ic``; ``log_loss`` for direction)."""
    return requested if requested in TASK_METRICS[task] else TASK_DEFAULT_METRIC[task]


def score(metric: str, pred: np.ndarray, label: np.ndarray, ts: np.ndarray, period: int = 20):
    """One metric (of :data:`NAMES` or :data:`CLASSIFICATION_NAMES`) of ``pred``.

    Raises:
        KeyError: an unknown metric.
    """
    if metric in CLASSIFICATION_NAMES:
        return _classification(pred, label)[metric]
    return evaluate(pred, label, ts, period)[metric]


def better(new: float, old: float, metric: str) -> bool:
    """Whether ``new`` beats ``old`` on ``metric`` (NaN never beats; anything beats NaN)."""
    if not math.isfinite(new):
        return False
    if not math.isfinite(old):
        return True
    return new > old if HIGHER_IS_BETTER[metric] else new < old


__all__ = ["CLASSIFICATION_NAMES", "HIGHER_IS_BETTER", "NAMES", "TASK_METRICS", "better",
           "directional_accuracy", "evaluate", "evaluate_classification", "ic", "icir",
           "metric_for", "period_ics", "probability_up", "rank_ic", "rmse", "score"]  # fmt: skip
