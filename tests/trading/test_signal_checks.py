"""The measures behind the signals' asset checks fail on bad signals and pass on good ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from trading_assets.schemas import SIGNALS_SCHEMA
from trading_assets.trading import signal_checks
from trading_assets.trading.sizing import KellySizing

DAY = timedelta(days=1)
T0 = datetime(2014, 6, 2, tzinfo=UTC)


def _signals(n: int = 3) -> pl.DataFrame:
    values = (1, 0.5, 0.8, 0.9, 0.5, 0.001, 2, "up_calm", "x")
    rows = [("ORCL", "1d", T0 + i * DAY, *values, T0 + (i + 1) * DAY) for i in range(n)]
    return pl.DataFrame(rows, schema=SIGNALS_SCHEMA, orient="row")


def _bars(n: int = 3) -> pl.DataFrame:
    return _signals(n).select("symbol", "timeframe", "ts")


def test_no_nan():
    assert signal_checks.no_nan(_signals())[0]
    bad = _signals().with_columns(
        pl.Series("position", [0.1, float("nan"), None]), pl.Series("regime", ["a", None, "b"])
    )
    passed, details = signal_checks.no_nan(bad)
    assert not passed and details["missing_by_column"] == {"position": 2, "regime": 1}


def test_positions_within_caps():
    assert signal_checks.within_caps(_signals(), -1.0, 1.0)[0]
    passed, details = signal_checks.within_caps(_signals(), 0.0, 0.5)
    assert not passed and details["violations"] == 3
    weak = _signals().with_columns(pl.Series("agreement", [0.5, 1.2, 0.1]))
    assert not signal_checks.within_caps(weak, -1.0, 1.0)[0]


def test_fresh_bars():
    now = T0 + 4 * DAY
    assert signal_checks.fresh_bars(_signals(), _bars(), now, None)[0]
    carried = _signals().with_columns(pl.Series("as_of", [T0 + DAY, T0 + DAY, T0 + 3 * DAY]))
    passed, details = signal_checks.fresh_bars(carried, _bars(), now, None)
    assert not passed and details["signals_with_stale_predictions"] == 1
    passed, details = signal_checks.fresh_bars(_signals(), _bars(2), now, None)
    assert not passed and details["signals_without_bar"] == 1
    late = now + 10 * DAY
    assert signal_checks.fresh_bars(_signals(), _bars(), late, None)[0]  # historical: reported
    passed, details = signal_checks.fresh_bars(_signals(), _bars(), late, {"1d": 4 * DAY})
    assert not passed and details["stale_series"] == ["ORCL 1d"]


def test_no_future_predictions():
    assert signal_checks.no_future_predictions(_signals())[0]
    future = _signals().with_columns(
        pl.Series("as_of", [T0 + DAY, T0 + 2 * DAY + timedelta(seconds=1), T0 + 3 * DAY])
    )
    passed, details = signal_checks.no_future_predictions(future)
    assert not passed and details["violations"] == 1


def test_check_signals_runs_all_four_and_takes_no_bars_as_none():
    caps = KellySizing(max_long=1.0, max_short=1.0)
    now = T0 + 4 * DAY
    results = signal_checks.check_signals(_signals(), _bars(), caps, now)
    assert list(results) == [
        "no_nan", "positions_within_caps", "fresh_bars", "no_future_predictions"
    ]  # fmt: skip
    assert all(passed for passed, _ in results.values())
    passed, details = signal_checks.check_signals(_signals(), None, caps, now)["fresh_bars"]
    assert not passed and details["signals_without_bar"] == 3
    late = now + 10 * DAY
    assert signal_checks.check_signals(_signals(), _bars(), caps, late)["fresh_bars"][0]
    enforced = signal_checks.check_signals(_signals(), _bars(), caps, late, True)
    assert enforced["fresh_bars"][1]["stale_series"] == ["ORCL 1d"]
    long_only = KellySizing(long_only=True)
    short = _signals().with_columns(pl.Series("position", [-0.5, 0.1, 0.2]))
    assert not signal_checks.check_signals(short, _bars(), long_only, now)["positions_within_caps"][
        0
    ]
