"""Walk-forward splits: purge gap, no look-ahead, rolling windows, too few rows."""

import numpy as np
import polars as pl
import pytest

from trading_assets.ml.errors import TrainingDataError
from trading_assets.ml.splits import SplitConfig, label_end, walk_forward


@pytest.mark.parametrize("horizon", [1, 5])
@pytest.mark.parametrize("window", ["expanding", "rolling"])
def test_no_training_label_reaches_into_its_test_block(table_1h, horizon, window):
    frame = table_1h.sort("symbol", "ts")
    folds = walk_forward(frame, horizon, SplitConfig(n_folds=5, window=window))
    assert len(folds) == 5
    ends = label_end(frame, horizon)
    ts = frame["ts"]
    grid = np.unique(ts.to_numpy())
    position = np.searchsorted(grid, ts.to_numpy())
    previous_test_end = None
    for fold in folds:
        train_ts, test_ts = ts.gather(fold.train), ts.gather(fold.test)
        assert train_ts.max() < test_ts.min()
        # the label of every training row is known before the first test bar
        assert ends.gather(fold.train).max() < test_ts.min()
        # at least `horizon` bar times between the last training bar and the test block
        assert position[fold.test].min() - position[fold.train].max() > horizon
        if previous_test_end is not None:
            assert test_ts.min() > previous_test_end  # blocks are disjoint and in order
        previous_test_end = test_ts.max()
    if window == "rolling":
        sizes = [f.train.size for f in folds]
        assert max(sizes) - min(sizes) <= 2 * 2  # fixed-length window (2 symbols)
    else:
        assert all(a.train.size < b.train.size for a, b in zip(folds, folds[1:], strict=False))


def test_a_gap_in_one_series_is_purged_by_its_label_end():
    # symbol B misses 10 bar times just before the test block: its label spans them
    ts = pl.datetime_range(
        pl.datetime(2024, 1, 1, time_zone="UTC"), pl.datetime(2024, 1, 1, 9, 59, time_zone="UTC"),
        "1m", eager=True,
    )  # fmt: skip
    a = pl.DataFrame({"symbol": "A", "ts": ts})
    b = pl.DataFrame({"symbol": "B", "ts": ts}).filter(~pl.col("ts").is_between(ts[289], ts[299]))
    frame = pl.concat([a, b])
    folds = walk_forward(frame, 1, SplitConfig(n_folds=2, test_fraction=0.5, min_train_rows=10))
    test_start = folds[0].test_start
    train = frame[folds[0].train]
    ends = label_end(frame, 1).gather(folds[0].train)
    assert (ends.to_numpy() < test_start).all()
    # B's last bar before its gap has its label end inside the test block: left out
    assert train.filter(pl.col("symbol") == "B")["ts"].max() < ts[288]
    assert train.filter(pl.col("symbol") == "A")["ts"].max() == ts[298]


def test_purge_below_the_horizon_and_too_few_rows_are_clear_errors(table_1h):
    with pytest.raises(TrainingDataError, match="purge 1 is below the label horizon 5"):
        walk_forward(table_1h, 5, SplitConfig(purge=1))
    with pytest.raises(TrainingDataError, match="fold 0: .* training rows"):
        walk_forward(table_1h.head(150), 1, SplitConfig(n_folds=5, min_train_rows=100))
    with pytest.raises(TrainingDataError, match="window"):
        walk_forward(table_1h, 1, SplitConfig(window="sliding"))
