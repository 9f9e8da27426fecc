"""Walk-forward training of every configured family on one dataset.

For each family: fit on every fold's training rows, predict its out-of-sample rows, score each
fold (:mod:`.metrics`), then fit once more on every row for the model that is registered and
served. The folds are nested (:mod:`.splits`): the validation folds are scored together as
``validation`` (what model selection reads) and the test folds together as ``test`` (the
held-out test window: reported, never used to choose). Every family is reported against the
naive baselines, in each window: ``rmse_vs_zero`` (RMSE over the zero baseline's) and
``ic_vs_best_baseline`` (IC minus the best baseline IC).

Direction datasets (``dir_<h>``, :attr:`~trading_assets.ml.dataset.Dataset.task`
``classification``) are scored with accuracy, balanced accuracy and log-loss
(:func:`~trading_assets.ml.metrics.evaluate_classification`) against the majority-class
baseline of each fold (its training rows' most frequent direction, at their frequency): the
out-of-sample rows carry that baseline's ``P(up)`` in ``majority``.

A family that fails (:class:`~trading_assets.ml.errors.FamilyFailed`) is recorded in
``skipped`` with the reason and the others still train. A model that cannot predict some
rows (the LSTM on bars without a full window, see ``predictable_rows``) leaves them out of
its out-of-sample predictions, said in :attr:`FamilyResult.notes`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from trading_assets.ml import metrics
from trading_assets.ml.dataset import CLASSIFICATION, Dataset
from trading_assets.ml.errors import FamilyFailed, TrainingDataError
from trading_assets.ml.families import (
    DEFAULT_FAMILIES,
    FAMILIES,
    contribution_frame,
    feature_importance,
)
from trading_assets.ml.splits import TEST, VALIDATION, Fold, SplitConfig, walk_forward


@dataclass(frozen=True)
class TrainingConfig:
    """What to train.

    Attributes:
        families: family names (see :data:`~trading_assets.ml.families.FAMILIES`).
        params: family -> parameter overrides.
        split: walk-forward settings.
        ic_period: bar times per period of the ICIR.
    """

    families: tuple[str, ...] = DEFAULT_FAMILIES
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    split: SplitConfig = SplitConfig()
    ic_period: int = 20


@dataclass
class FamilyResult:
    """One family trained on one dataset.

    Attributes:
        family / params: the family and the parameters it was fitted with.
        model: the model fitted on every row (registered and served).
        folds: per fold ``{"fold", "role", "train_rows", "test_rows", "fit_seconds",
            <metric>...}`` (``role``: ``validation`` or ``test``).
        validation: metrics over the out-of-sample predictions of the validation folds (+ the
            baseline comparisons): the numbers model selection reads.
        test: the same metrics over the test window (the last folds), never used to select.
        predictions: ``symbol, timeframe, ts, prediction, fold, role, label``
            (out-of-sample, every fold).
        importance: feature -> importance (empty for families without features).
        fit_seconds: wall time of every fit, final one included.
        contributions: LightGBM only: the top-3 ``pred_contrib`` of every out-of-sample
            prediction, ``symbol, timeframe, ts, rank, feature, value, contribution``.
        notes: what was left out (series shorter than a window, rows not predicted).
    """

    family: str
    params: dict[str, Any]
    model: Any
    folds: list[dict[str, Any]]
    validation: dict[str, float]
    test: dict[str, float]
    predictions: pl.DataFrame
    importance: dict[str, float]
    fit_seconds: float
    contributions: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class TrainingOutcome:
    """Every family of one dataset: ``results`` by family and ``skipped`` family -> reason."""

    dataset: Dataset
    folds: list[Fold]
    results: dict[str, FamilyResult]
    skipped: dict[str, str]
    split: SplitConfig = SplitConfig()


def train_family(
    dataset: Dataset,
    family: str,
    folds: Sequence[Fold],
    params: Mapping[str, Any] | None = None,
    ic_period: int = 20,
) -> FamilyResult:
    """Walk-forward train ``family`` on ``dataset`` over ``folds`` (see the module docstring).

    Raises:
        FamilyFailed: a fit failed or gave non-finite predictions.
        KeyError: an unknown family.
    """
    spec = FAMILIES[family]
    if not spec.trains(dataset.task):
        raise FamilyFailed(family, f"trains {sorted(spec.tasks)} targets; {dataset.target} is "
                           f"{dataset.task}")  # fmt: skip
    merged = spec.params(params)
    started = time.perf_counter()
    parts: list[pl.DataFrame] = []
    fold_rows: list[dict[str, Any]] = []
    model = None
    contrib_parts: list[pl.DataFrame] = []
    notes: list[str] = []
    for fold in folds:
        t0 = time.perf_counter()
        model = spec.fit(dataset, fold.train, merged)
        fit_s = time.perf_counter() - t0
        test_rows = _predictable(model, dataset, fold, notes)
        pred = model.predict_rows(dataset, test_rows)
        if not np.all(np.isfinite(pred)):
            raise FamilyFailed(family, f"non-finite predictions in fold {fold.number}")
        test = dataset.frame[test_rows]
        if family == "lightgbm":
            contrib_parts.append(_top_contributions(model, dataset, test_rows))
        part = test.select("symbol", "timeframe", "ts", "label").with_columns(
            pl.Series("prediction", pred, dtype=pl.Float64),
            pl.lit(fold.number, dtype=pl.Int64).alias("fold"),
            pl.lit(fold.role).alias("role"),
        )
        if dataset.task == CLASSIFICATION:
            up = float(np.mean(dataset.labels(fold.train) > 0))
            part = part.with_columns(pl.lit(up).alias("majority"))
        scores = _scores(part, ic_period)
        fold_rows.append(
            {"fold": fold.number, "role": fold.role, "train_rows": fold.train.size,
             "test_rows": test_rows.size, "fit_seconds": fit_s, **scores}
        )  # fmt: skip
        parts.append(part)
    validation_rows = [f.test for f in folds if f.role == VALIDATION]
    importance = feature_importance(model, dataset, validation_rows[-1]) if validation_rows else {}
    final = spec.fit(dataset, np.arange(dataset.frame.height), merged)
    notes = list(getattr(final, "notes", [])) + notes
    oos = pl.concat(parts)
    return FamilyResult(
        family, merged, final, fold_rows, window_metrics(oos, VALIDATION, ic_period),
        window_metrics(oos, TEST, ic_period), oos, importance,
        time.perf_counter() - started, pl.concat(contrib_parts) if contrib_parts else None,
        notes,
    )  # fmt: skip


def _predictable(model: Any, dataset: Dataset, fold: Fold, notes: list[str]) -> np.ndarray:
    """The test rows of ``fold`` the model can predict (all but, for a sequence model, the
    rows without a full window), noting how many were left out."""
    check = getattr(model, "predictable_rows", None)
    if check is None:
        return fold.test
    ok = check(dataset, fold.test)
    if not ok.all():
        notes.append(f"fold {fold.number}: {int((~ok).sum())} of {fold.test.size} rows not "
                     "predicted (fewer bars in their series than the window)")  # fmt: skip
    if not ok.any():
        raise FamilyFailed(model.family, f"fold {fold.number}: no row can be predicted")
    return fold.test[ok]


def _scores(rows: pl.DataFrame, ic_period: int) -> dict[str, float]:
    pred, label = rows["prediction"].to_numpy(), rows["label"].to_numpy()
    if "majority" in rows.columns:
        return metrics.evaluate_classification(pred, label, rows["majority"].to_numpy())
    return metrics.evaluate(pred, label, rows["ts"].to_numpy(), ic_period)


def window_metrics(oos: pl.DataFrame, role: str, ic_period: int = 20) -> dict[str, float]:
    """:func:`metrics.evaluate` (direction datasets, whose rows carry ``majority``:
    :func:`metrics.evaluate_classification`) over the out-of-sample rows of ``oos``
    (``prediction``, ``label``, ``ts``, ``role``) whose fold has ``role`` (NaN metrics when
    there are none)."""
    return _scores(oos.filter(pl.col("role") == role), ic_period)


def _top_contributions(
    model: Any, dataset: Dataset, rows: np.ndarray, top: int = 3
) -> pl.DataFrame:
    keys = dataset.frame[rows].select("symbol", "timeframe", "ts")
    return contribution_frame(model, dataset.matrix(rows), keys, top)


def _against_baselines(results: dict[str, FamilyResult]) -> None:
    if any("majority" in r.predictions.columns for r in results.values()):
        return  # direction datasets are scored against the majority class per fold
    baselines = [r for f, r in results.items() if FAMILIES[f].baseline]
    for window in ("validation", "test"):
        scores = {r.family: getattr(r, window) for r in baselines}
        zero_rmse = scores.get("zero", {}).get("rmse", math.nan)
        ics = [s["ic"] for s in scores.values() if math.isfinite(s["ic"])]
        best = max(ics) if ics else math.nan
        for result in results.values():
            score = getattr(result, window)
            score["rmse_vs_zero"] = (
                score["rmse"] / zero_rmse if zero_rmse and math.isfinite(zero_rmse) else math.nan
            )
            score["ic_vs_best_baseline"] = score["ic"] - best


def train_all(dataset: Dataset, config: TrainingConfig = TrainingConfig()) -> TrainingOutcome:
    """Train every family of ``config`` on ``dataset`` over the same walk-forward folds.

    Families of another task than the dataset's (e.g. ``svc`` on a forward return) are left
    out; when no requested family is of the dataset's task, each is skipped with the reason.

    Raises:
        TrainingDataError: the dataset is too small for the folds (names the fold), or an
            unknown family name.
    """
    unknown = [f for f in config.families if f not in FAMILIES]
    if unknown:
        raise TrainingDataError(f"unknown model families {unknown}; known: {list(FAMILIES)}")
    folds = walk_forward(dataset.frame, dataset.horizon, config.split, name=dataset.name)
    results: dict[str, FamilyResult] = {}
    skipped: dict[str, str] = {}
    fitting = [f for f in config.families if FAMILIES[f].trains(dataset.task)]
    for family in fitting or config.families:  # none of the task: each is skipped, saying why
        try:
            results[family] = train_family(
                dataset, family, folds, config.params.get(family), config.ic_period
            )
        except FamilyFailed as exc:
            skipped[family] = exc.reason
    _against_baselines(results)
    return TrainingOutcome(dataset, folds, results, skipped, config.split)


__all__ = ["FamilyResult", "TrainingConfig", "TrainingOutcome", "train_all", "train_family",
           "window_metrics"]  # fmt: skip
