"""The rows one (timeframe, target) trains on, from the feature/label table.

Source: ``features.training_table`` (one row per bar: ``symbol, timeframe, ts``, every
feature, the labels ``fwd_ret_h``/``dir_h``). :func:`prepare` keeps one timeframe, the
configured feature columns (default :data:`trading_assets.ml.newest_bar.FAST_FEATURES`) and
the target, and adds the returns known at each bar's close that the baselines and ARIMA use:

- ``known_ret``: the target of ``h`` bars earlier in the same series, ``log(close_t /
  close_{t-h})`` (known at the close of bar t);
- ``known_ma``: the mean of ``known_ret`` over the last ``ma_window`` bars;
- ``ret_1``: the 1-bar log return of bar t, ``log(close_t / close_{t-1})``.
Rows without a label (the last ``h`` bars of a series) are left out: they cannot be scored.
Feature NULLs become NaN (LightGBM handles them, the scikit-learn families impute medians).

Targets ``fwd_ret_<h>`` are regression datasets; ``dir_<h>`` (the sign of ``fwd_ret_<h>``)
are direction *classification* datasets (:attr:`Dataset.task`): the label is -1 (down) or +1
(up), and bars whose close did not change (``dir_h = 0``, a handful in a year of crypto
hours) are left out, with a note. On a direction dataset ``known_ret``/``known_ma`` hold past
directions instead of returns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from trading_assets.features.labels import is_label
from trading_assets.ml.errors import TrainingDataError
from trading_assets.ml.newest_bar import FAST_FEATURES

KEY = ("symbol", "timeframe", "ts")
KNOWN = ("known_ret", "known_ma", "ret_1")
_TARGET = re.compile(r"^(fwd_ret|dir)_(\d+)$")
REGRESSION = "regression"
CLASSIFICATION = "classification"


def horizon_of(target: str) -> int:
    """The horizon in bars of a target ``fwd_ret_<h>`` or ``dir_<h>``.

    Raises:
        TrainingDataError: any other target.
    """
    match = _TARGET.match(target)
    if not match:
        raise TrainingDataError(
            f"target {target!r}: only forward returns fwd_ret_<h> and directions dir_<h> "
            "are trained"
        )
    return int(match.group(2))


def task_of(target: str) -> str:
    """:data:`CLASSIFICATION` for a direction target ``dir_<h>``, :data:`REGRESSION` for a
    forward return ``fwd_ret_<h>``.

    Raises:
        TrainingDataError: any other target.
    """
    horizon_of(target)
    return CLASSIFICATION if target.startswith("dir_") else REGRESSION


def reject_label_features(features: Sequence[str], where: str) -> None:
    """Refuse any label column (``fwd_ret_*``, ``dir_*``) among ``features``: a label looks
    ahead by construction, so it can never be a feature.

    Raises:
        TrainingDataError: naming ``where`` (a dataset, a model, a setting) and the column(s).
    """
    bad = [c for c in features if is_label(c)]
    if bad:
        raise TrainingDataError(
            f"{where}: feature column(s) {bad} are labels (fwd_ret_*/dir_*); labels look ahead "
            "and can never be features: remove them from the features"
        )


@dataclass(frozen=True)
class Dataset:
    """Training rows of one (timeframe, target).

    Attributes:
        timeframe / target / horizon: what is predicted (``horizon`` bars ahead).
        features: the feature columns used (float64, NaN where missing).
        frame: ``symbol, timeframe, ts`` + features + :data:`KNOWN` + ``label`` (the target,
            float64: a log return, or the direction -1/+1), sorted by symbol then ts.
        notes: what :func:`prepare` left out and why (for metadata).
    """

    timeframe: str
    target: str
    horizon: int
    features: tuple[str, ...]
    frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        """:data:`REGRESSION` (``fwd_ret_<h>``) or :data:`CLASSIFICATION` (``dir_<h>``)."""
        return task_of(self.target)

    @property
    def name(self) -> str:
        """The dataset's name, ``"<target> <timeframe>"`` (e.g. ``"fwd_ret_1 1h"``)."""
        return f"{self.target} {self.timeframe}"

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix (float64, C order) of ``rows`` (default all)."""
        frame = self.frame if rows is None else self.frame[rows]
        return np.ascontiguousarray(frame.select(self.features).to_numpy().astype(np.float64))

    def labels(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Label values (float64, one per row) of ``rows`` (default: every row of :attr:`frame`)."""
        frame = self.frame if rows is None else self.frame[rows]
        return frame["label"].to_numpy().astype(np.float64)


def with_known_returns(
    table: pl.DataFrame,
    timeframe: str,
    target: str,
    features: Sequence[str],
    *,
    ma_window: int = 20,
) -> pl.DataFrame:
    """Every row of ``timeframe`` (labelled or not): ``symbol, timeframe, ts``, ``features``
    (float64, NULL where missing or NaN), ``known_ret``, ``ret_1``, ``label`` (the target,
    NULL where not realized yet) and ``known_ma`` (see the module docstring), sorted by
    symbol, ts. ``table`` must hold ``target``, ``fwd_ret_1`` and ``features``.

    Raises:
        TrainingDataError: a feature is a label column (:func:`reject_label_features`).
    """
    reject_label_features(features, f"dataset {target} {timeframe}")
    horizon = horizon_of(target)
    rows = table.filter(pl.col("timeframe") == timeframe).sort("symbol", "ts")
    by = {"partition_by": "symbol", "order_by": "ts"}
    return rows.select(
        *KEY,
        *(pl.col(c).cast(pl.Float64).fill_nan(None) for c in features),
        pl.col(target).cast(pl.Float64).shift(horizon).over(**by).alias("known_ret"),
        pl.col("fwd_ret_1").cast(pl.Float64).shift(1).over(**by).alias("ret_1"),
        pl.col(target).cast(pl.Float64).alias("label"),
    ).with_columns(
        pl.col("known_ret").rolling_mean(ma_window, min_samples=1).over(**by).alias("known_ma")
    )


def prepare(
    table: pl.DataFrame,
    timeframe: str,
    target: str,
    features: Sequence[str] | None = None,
    *,
    ma_window: int = 20,
    min_rows: int = 200,
) -> Dataset:
    """The :class:`Dataset` of ``timeframe`` and ``target`` from training-table rows.

    Raises:
        TrainingDataError: a requested feature is a label column (``fwd_ret_*``, ``dir_*``),
            the target or a requested feature is not a column, fewer than
            ``min_rows`` labelled rows, every feature all-NULL, or a constant label (each
            message names the timeframe, target and column).
    """
    name = f"{target} {timeframe}"
    horizon = horizon_of(target)
    wanted = tuple(features) if features else FAST_FEATURES
    reject_label_features(wanted, f"dataset {name}")
    missing = [c for c in (target, "fwd_ret_1", *wanted) if c not in table.columns]
    if missing:
        raise TrainingDataError(f"dataset {name}: training table has no column(s) {missing}")
    rows = with_known_returns(table, timeframe, target, wanted, ma_window=ma_window)
    rows = rows.filter(pl.col("label").is_not_null() & pl.col("label").is_finite())
    notes: list[str] = []
    if task_of(target) == CLASSIFICATION:
        unchanged = int((rows["label"] == 0).sum())
        rows = rows.filter(pl.col("label") != 0)
        if unchanged:
            notes.append(f"left out {unchanged} unchanged bar(s) ({target} = 0)")
    if rows.height < min_rows:
        raise TrainingDataError(
            f"dataset {name}: {rows.height} labelled rows, need at least {min_rows}"
        )
    counts = rows.select(pl.col(c).is_not_null().sum() for c in wanted).row(0)
    empty = [c for c, n in zip(wanted, counts, strict=True) if n == 0]
    if empty:
        notes.append(f"left out all-NULL feature(s) {empty}")
    kept = tuple(c for c in wanted if c not in empty)
    if not kept:
        raise TrainingDataError(f"dataset {name}: every feature is all NULL")
    if rows["label"].std() is None or rows["label"].std() <= 1e-15:
        raise TrainingDataError(f"dataset {name}: label {target} is constant; nothing to learn")
    frame = rows.select(
        *KEY,
        *(pl.col(c).fill_null(np.nan) for c in kept),
        *(pl.col(c).fill_null(0.0) for c in KNOWN),
        "label",
    )
    return Dataset(timeframe, target, horizon, kept, frame, notes)


__all__ = [
    "Dataset",
    "KEY",
    "KNOWN",
    "CLASSIFICATION",
    "REGRESSION",
    "horizon_of",
    "prepare",
    "reject_label_features",
    "task_of",
    "with_known_returns",
]
