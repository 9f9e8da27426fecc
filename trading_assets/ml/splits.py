"""Walk-forward folds over time with a purge gap of at least the label horizon.

Rows are bars of one timeframe, possibly of several symbols. Time is the sorted set of
distinct bar times ``ts`` (the "grid"). The last ``test_fraction`` of the grid is cut into
``n_folds`` contiguous out-of-sample blocks; fold ``k`` predicts block ``k`` and trains on rows
before it:

- ``expanding``: every row from the start of the grid;
- ``rolling``: only the last ``train_bars`` grid times.

Purge: a training row's label is the return up to the close of the bar ``horizon`` bars later
in its own series (``label_end``). Training keeps only rows whose ``label_end`` is before the
first test time AND that lie at least ``purge`` grid times before it (``purge >= horizon``),
so no training label overlaps the test block even across gaps in one symbol's series.

Nested walk-forward: the last ``test_folds`` folds are the *test* window, the folds before
them the *validation* folds (:attr:`Fold.role`). Model selection (champion against
challenger) reads only validation folds; the test window is scored and reported, never used to
choose. No validation fold trains on or predicts a test-window row, so nothing in the test
window can move a selection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from trading_assets.ml.errors import TrainingDataError

WINDOWS = ("expanding", "rolling")
VALIDATION = "validation"
TEST = "test"


@dataclass(frozen=True)
class SplitConfig:
    """How to split.

    Attributes:
        n_folds: number of out-of-sample blocks, validation and test together (>= 2).
        test_folds: the last blocks that form the test window (1 <= test_folds < n_folds).
        window: ``expanding`` or ``rolling``.
        test_fraction: share of the grid covered by the test blocks (0 < f < 1).
        purge: grid times left out between training and test (None: the horizon).
        train_bars: grid times of a rolling training window (None: as long as a test block
            times ``n_folds``).
        min_train_rows: fewest training rows a fold may have.
        min_test_rows: fewest test rows a fold may have.
    """

    n_folds: int = 5
    test_folds: int = 1
    window: str = "expanding"
    test_fraction: float = 0.5
    purge: int | None = None
    train_bars: int | None = None
    min_train_rows: int = 100
    min_test_rows: int = 10


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: row indices into the dataset (int64 arrays), the span of the
    rows it predicts (``test``, out of sample) and its ``role``: :data:`VALIDATION` (used for
    model selection) or :data:`TEST` (the held-out test window, reported only)."""

    number: int
    train: np.ndarray
    test: np.ndarray
    test_start: object
    test_end: object
    role: str = VALIDATION


def label_end(frame: pl.DataFrame, horizon: int) -> pl.Series:
    """The ``ts`` of the bar ``horizon`` bars after each row in its own symbol's series (null
    at the end of a series): the label of that row is known at that bar's close."""
    return frame.select(
        pl.col("ts").shift(-horizon).over("symbol", order_by="ts").alias("label_end")
    )["label_end"]


def walk_forward(
    frame: pl.DataFrame, horizon: int, config: SplitConfig = SplitConfig(), *, name: str = ""
) -> list[Fold]:
    """Walk-forward folds over ``frame`` (columns ``symbol``, ``ts``; any order).

    Args:
        frame: the rows to split; indices refer to its row order.
        horizon: label horizon in bars (>= 1).
        config: the split settings.
        name: the dataset's name for error messages (e.g. ``fwd_ret_1 1h``).

    Returns:
        ``config.n_folds`` folds in time order, the last ``config.test_folds`` with role
        :data:`TEST`, the others :data:`VALIDATION`.

    Raises:
        TrainingDataError: bad settings (purge below the horizon, unknown window, no
            validation or no test fold) or too few rows for a fold (naming the fold and the
            counts).
    """
    where = f"dataset {name}: " if name else ""
    purge = horizon if config.purge is None else config.purge
    if purge < horizon:
        raise TrainingDataError(f"{where}purge {purge} is below the label horizon {horizon}")
    if config.window not in WINDOWS:
        raise TrainingDataError(f"{where}window {config.window!r} is not one of {WINDOWS}")
    if config.n_folds < 1 or not 0 < config.test_fraction < 1:
        raise TrainingDataError(f"{where}need n_folds >= 1 and 0 < test_fraction < 1")
    if not 1 <= config.test_folds < config.n_folds:
        raise TrainingDataError(
            f"{where}test_folds {config.test_folds} must be >= 1 and below n_folds "
            f"{config.n_folds}: selection needs validation folds before the test window"
        )
    grid = np.unique(frame["ts"].to_numpy())
    n_test = int(len(grid) * config.test_fraction)
    block = n_test // config.n_folds
    if block < 1:
        raise TrainingDataError(
            f"{where}{len(grid)} bar times are too few for {config.n_folds} folds"
        )
    position = np.searchsorted(grid, frame["ts"].to_numpy())
    ends = label_end(frame, horizon).to_numpy()
    first_test = len(grid) - block * config.n_folds
    train_bars = config.train_bars or block * config.n_folds
    folds: list[Fold] = []
    for k in range(config.n_folds):
        lo = first_test + k * block
        hi = lo + block if k < config.n_folds - 1 else len(grid)
        start = grid[lo]
        known = ~np.isnat(ends) & (ends < start) if ends.dtype.kind == "M" else ends < start
        train_mask = (position < lo - purge) & known
        if config.window == "rolling":
            train_mask &= position >= lo - purge - train_bars
        test_mask = (position >= lo) & (position < hi)
        train, test = np.flatnonzero(train_mask), np.flatnonzero(test_mask)
        if train.size < config.min_train_rows or test.size < config.min_test_rows:
            raise TrainingDataError(
                f"{where}fold {k}: {train.size} training rows and {test.size} test rows, "
                f"need at least {config.min_train_rows} and {config.min_test_rows}"
            )
        role = TEST if k >= config.n_folds - config.test_folds else VALIDATION
        folds.append(Fold(k, train, test, start, grid[hi - 1], role))
    return folds


__all__ = ["TEST", "VALIDATION", "WINDOWS", "Fold", "SplitConfig", "label_end", "walk_forward"]
