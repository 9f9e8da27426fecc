"""The measures behind the signals' asset checks fail on bad signals and pass on good ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from trading_assets.schemas import SIGNALS_SCHEMA, UTC_TS
from trading_assets.trading import signal_checks
from trading_assets.trading.sizing import KellySizing

DAY = timedelta(days=1)
T0 = datetime(2014, 6, 2, tzinfo=UTC)  # a Monday; the bars are ORCL days of that week
#: an ORCL day is known at the New York close, 16:00 EDT = 20:00 UTC (not at midnight UTC)
CLOSE = timedelta(hours=20)


def _signals(n: int = 3) -> pl.DataFrame:
    values = (1, 0.5, 0.8, 0.9, 0.5, 0.001, 2, "lightgbm,svm", "up_calm", "x")
    rows = [
        ("ORCL", "1d", T0 + i * DAY, *values, T0 + i * DAY + CLOSE, "walk_forward")
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema=SIGNALS_SCHEMA, orient="row")


def _predictions(n: int = 3, late_by=timedelta(0)) -> pl.DataFrame:
    """``symbol, timeframe, ts, model, predicted_at``: each made ``late_by`` after its close."""
    return pl.DataFrame(
        [("ORCL", "1d", T0 + i * DAY, "m", T0 + i * DAY + CLOSE + late_by) for i in range(n)],
        schema={"symbol": pl.String, "timeframe": pl.String, "ts": UTC_TS, "model": pl.String,
                "predicted_at": UTC_TS},
        orient="row",
    )  # fmt: skip


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


def test_fresh():
    now = T0 + 4 * DAY
    passed, details = signal_checks.fresh(_signals(), _bars(), now, None)
    assert passed and details["series_behind"] == 0
    carried = _signals().with_columns(
        pl.Series("as_of", [T0 + CLOSE, T0 + CLOSE, T0 + 2 * DAY + CLOSE])
    )
    passed, details = signal_checks.fresh(carried, _bars(), now, None)
    assert not passed and details["signals_with_stale_predictions"] == 1
    passed, details = signal_checks.fresh(_signals(), _bars(2), now, None)
    assert not passed and details["signals_without_bar"] == 1
    late = now + 10 * DAY
    assert signal_checks.fresh(_signals(), _bars(), late, None)[0]  # historical: reported
    passed, details = signal_checks.fresh(_signals(), _bars(), late, {"1d": 4 * DAY})
    assert not passed and details["stale_series"] == ["ORCL 1d"]


def test_fresh_fails_when_the_newest_signal_is_a_bar_behind():
    now = T0 + 10 * DAY
    # a stale home: two closed bars came after the newest signal
    passed, details = signal_checks.fresh(_signals(3), _bars(5), now, None)
    assert not passed
    assert details["behind"] == {"ORCL 1d": 2}
    # the newest bar has not closed yet: no signal is owed for it
    assert signal_checks.fresh(_signals(3), _bars(4), T0 + 3 * DAY + DAY / 2, None)[0]
    # a series with bars and no signal at all
    other = _bars(2).with_columns(pl.lit("MSFT").alias("symbol"))
    passed, details = signal_checks.fresh(_signals(3), pl.concat([_bars(3), other]), now, None)
    assert not passed and details["behind"] == {"MSFT 1d": 2}


def test_no_future_predictions():
    assert signal_checks.no_future_predictions(_signals())[0]
    future = _signals().with_columns(
        pl.Series("as_of", [T0 + CLOSE, T0 + DAY + CLOSE + timedelta(seconds=1), T0 + 2 * DAY])
    )
    passed, details = signal_checks.no_future_predictions(future)
    assert not passed and details["violations"] == 1
    # midnight UTC after the day (the old "ts + 1 day" rule) is hours after the session close
    midnight = _signals().with_columns((pl.col("ts") + DAY).alias("as_of"))
    passed, details = signal_checks.no_future_predictions(midnight)
    assert not passed and details["violations"] == 3


def test_no_future_predictions_compares_the_measured_predicted_at_with_the_close():
    measured = _predictions(late_by=timedelta(milliseconds=3))
    passed, details = signal_checks.no_future_predictions(_signals(), measured)
    assert passed and details["predicted_before_close"] == 0
    # computed a minute before the bar closed: it saw an unfinished bar
    early = _predictions(late_by=-timedelta(minutes=1))
    passed, details = signal_checks.no_future_predictions(_signals(), early)
    assert not passed and details["predicted_before_close"] == 3
    unmeasured = _predictions().with_columns(pl.lit(None, dtype=UTC_TS).alias("predicted_at"))
    passed, details = signal_checks.no_future_predictions(_signals(), unmeasured)
    assert passed and details["unmeasured_predictions"] == 3


def test_check_signals_runs_all_four_and_takes_no_bars_as_none():
    caps = KellySizing(max_long=1.0, max_short=1.0)
    now = T0 + 4 * DAY
    results = signal_checks.check_signals(_signals(), _bars(), caps, now)
    assert list(results) == [
        "no_nan", "positions_within_caps", "fresh", "no_future_predictions"
    ]  # fmt: skip
    assert all(passed for passed, _ in results.values())
    passed, details = signal_checks.check_signals(_signals(), None, caps, now)["fresh"]
    assert not passed and details["signals_without_bar"] == 3
    late = now + 10 * DAY
    assert signal_checks.check_signals(_signals(), _bars(), caps, late)["fresh"][0]
    enforced = signal_checks.check_signals(_signals(), _bars(), caps, late, True)
    assert enforced["fresh"][1]["stale_series"] == ["ORCL 1d"]
    long_only = KellySizing(long_only=True)
    short = _signals().with_columns(pl.Series("position", [-0.5, 0.1, 0.2]))
    assert not signal_checks.check_signals(short, _bars(), long_only, now)["positions_within_caps"][
        0
    ]


def test_a_configured_age_is_enforced_on_live_data():
    caps = KellySizing(max_long=1.0, max_short=1.0)
    now = T0 + 2 * DAY + CLOSE + 2 * timedelta(hours=1)  # the newest bar closed 2 hours ago
    relaxed = signal_checks.check_signals(_signals(), _bars(), caps, now, True)
    assert relaxed["fresh"][0]  # default allowed age of a daily bar: 4 days
    strict = signal_checks.check_signals(
        _signals(), _bars(), caps, now, True, max_lag={"1d": timedelta(hours=1)}
    )
    assert not strict["fresh"][0] and strict["fresh"][1]["stale_series"] == ["ORCL 1d"]


def test_bar_closes_computed_once_are_those_computed_per_frame():
    """The checks compute every bar close once (bars and signals together) and look them up
    by key; a key missing from the shared closes is computed on the spot."""
    from trading_assets.sessions import bar_close_of

    equity = _bars(5)
    crypto = pl.DataFrame(
        {"symbol": ["BTC/USDT"] * 3, "timeframe": ["1h"] * 3,
         "ts": [T0 + timedelta(hours=h) for h in (0, 1, 5)]},
        schema={"symbol": pl.String, "timeframe": pl.String, "ts": UTC_TS},
    )  # fmt: skip
    frame = pl.concat([crypto, equity]).reverse()  # any order: the closes keep it
    closes = signal_checks.bar_closes(equity.head(2), crypto.head(1))
    assert closes.height == 3
    got = signal_checks.bar_close(frame, closes)
    assert got.to_list() == bar_close_of(frame).to_list()
    assert got.to_list()[0] == T0 + 4 * DAY + CLOSE  # ORCL's Friday closes at 20:00 UTC
    assert got.to_list()[-1] == T0 + timedelta(hours=1)  # BTC's first 1h bar
    assert signal_checks.bar_close(frame.clear(), closes).len() == 0
    # the checks give the same answers with the shared closes as without
    now = T0 + 3 * DAY
    assert signal_checks.fresh(_signals(), _bars(), now, None, closes) == signal_checks.fresh(
        _signals(), _bars(), now, None
    )
    early = _predictions(late_by=-timedelta(hours=1))
    assert signal_checks.no_future_predictions(_signals(), early, closes) == (
        signal_checks.no_future_predictions(_signals(), early)
    )
    assert not signal_checks.no_future_predictions(_signals(), early, closes)[0]
