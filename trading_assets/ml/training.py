"""Walk-forward training of every configured family on one dataset.

For each family: fit on every fold's training rows, predict its test rows (the out-of-sample
predictions), score each fold and all folds together (:mod:`.metrics`), then fit once more on
every row for the model that is registered and served. Every family is reported against the
naive baselines: ``rmse_vs_zero`` (RMSE over the zero baseline's) and ``ic_vs_best_baseline``
(IC minus the best baseline IC).

A family that fails (:class:`~trading_assets.ml.errors.FamilyFailed`) is recorded in
``skipped`` with the reason and the others still train.
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
from trading_assets.ml.dataset import Dataset
from trading_assets.ml.errors import FamilyFailed, TrainingDataError
from trading_assets.ml.families import (
    DEFAULT_FAMILIES,
    FAMILIES,
    contribution_frame,
    feature_importance,
)
from trading_assets.ml.splits import Fold, SplitConfig, walk_forward


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
        folds: per fold ``{"fold", "train_rows", "test_rows", "fit_seconds", <metric>...}``.
        overall: metrics over every out-of-sample prediction (+ the baseline comparisons).
        predictions: ``symbol, timeframe, ts, prediction, fold, label`` (out-of-sample).
        importance: feature -> importance (empty for families without features).
        fit_seconds: wall time of every fit, final one included.
        contributions: LightGBM only: the top-3 ``pred_contrib`` of every out-of-sample
            prediction, ``symbol, timeframe, ts, rank, feature, value, contribution``.
    """

    family: str
    params: dict[str, Any]
    model: Any
    folds: list[dict[str, float]]
    overall: dict[str, float]
    predictions: pl.DataFrame
    importance: dict[str, float]
    fit_seconds: float
    contributions: pl.DataFrame | None = None


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
    merged = spec.params(params)
    started = time.perf_counter()
    parts: list[pl.DataFrame] = []
    fold_rows: list[dict[str, float]] = []
    model = None
    contrib_parts: list[pl.DataFrame] = []
    for fold in folds:
        t0 = time.perf_counter()
        model = spec.fit(dataset, fold.train, merged)
        fit_s = time.perf_counter() - t0
        pred = model.predict_rows(dataset, fold.test)
        if not np.all(np.isfinite(pred)):
            raise FamilyFailed(family, f"non-finite predictions in fold {fold.number}")
        test = dataset.frame[fold.test]
        if family == "lightgbm":
            contrib_parts.append(_top_contributions(model, dataset, fold.test))
        label = test["label"].to_numpy()
        scores = metrics.evaluate(pred, label, test["ts"].to_numpy(), ic_period)
        fold_rows.append(
            {"fold": fold.number, "train_rows": fold.train.size, "test_rows": fold.test.size,
             "fit_seconds": fit_s, **scores}
        )  # fmt: skip
        parts.append(
            test.select("symbol", "timeframe", "ts", "label").with_columns(
                pl.Series("prediction", pred, dtype=pl.Float64),
                pl.lit(fold.number, dtype=pl.Int64).alias("fold"),
            )
        )
    importance = feature_importance(model, dataset, folds[-1].test) if folds else {}
    final = spec.fit(dataset, np.arange(dataset.frame.height), merged)
    oos = pl.concat(parts)
    overall = metrics.evaluate(
        oos["prediction"].to_numpy(), oos["label"].to_numpy(), oos["ts"].to_numpy(), ic_period
    )
    return FamilyResult(
        family, merged, final, fold_rows, overall, oos, importance,
        time.perf_counter() - started, pl.concat(contrib_parts) if contrib_parts else None,
    )  # fmt: skip


def _top_contributions(
    model: Any, dataset: Dataset, rows: np.ndarray, top: int = 3
) -> pl.DataFrame:
    keys = dataset.frame[rows].select("symbol", "timeframe", "ts")
    return contribution_frame(model, dataset.matrix(rows), keys, top)


def _against_baselines(results: dict[str, FamilyResult]) -> None:
    baselines = [r for f, r in results.items() if FAMILIES[f].baseline]
    zero_rmse = next((r.overall["rmse"] for r in baselines if r.family == "zero"), math.nan)
    ics = [r.overall["ic"] for r in baselines if math.isfinite(r.overall["ic"])]
    best = max(ics) if ics else math.nan
    for result in results.values():
        result.overall["rmse_vs_zero"] = (
            result.overall["rmse"] / zero_rmse
            if zero_rmse and math.isfinite(zero_rmse)
            else math.nan
        )
        result.overall["ic_vs_best_baseline"] = result.overall["ic"] - best


def train_all(dataset: Dataset, config: TrainingConfig = TrainingConfig()) -> TrainingOutcome:
    """Train every family of ``config`` on ``dataset`` over the same walk-forward folds.

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
    for family in config.families:
        try:
            results[family] = train_family(
                dataset, family, folds, config.params.get(family), config.ic_period
            )
        except FamilyFailed as exc:
            skipped[family] = exc.reason
    _against_baselines(results)
    return TrainingOutcome(dataset, folds, results, skipped, config.split)


__all__ = ["FamilyResult", "TrainingConfig", "TrainingOutcome", "train_all", "train_family"]
