"""Measures behind the asset checks of ``signals/signals`` (pure functions over frames).

- ``no_nan``: no NULL or NaN in any column of a signal;
- ``positions_within_caps``: every position within the configured caps, and strength,
  agreement and confidence within [0, 1];
- ``fresh``: every predicted series has a signal on its newest *closed* bar of
  ``staging.bars`` (a series whose newest signal is one bar or more behind fails); every signal
  is on a bar of ``staging.bars`` and its predictions were made at that bar's close
  (``as_of == ts + timeframe``: nothing carried over from an older bar); when freshness is
  enforced (live data), also the newest bar closed no longer ago than the allowed lag;
- ``no_future_predictions``: no signal uses a prediction that became available after its
  bar's close (``as_of <= ts + timeframe``), and no prediction behind a signal was computed
  before its bar closed (measured ``predicted_at`` >= ``ts + timeframe``: a prediction made
  earlier saw a bar that was not finished).

Each returns ``(passed, details)``; details are JSON-ready. :func:`check_signals` runs all four.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from trading_assets.bars.quality import MAX_LAG
from trading_assets.sessions import bar_close_of
from trading_assets.trading.sizing import KellySizing

_KEY = ["symbol", "timeframe", "ts"]


def bar_close(frame: pl.DataFrame, closes: pl.DataFrame | None = None) -> pl.Series:
    """Each row's bar close (UTC, in row order): ``ts + timeframe`` for crypto, the session
    close for equities (:func:`trading_assets.sessions.bar_close_of`). ``closes``
    (:func:`bar_closes`) gives the closes of keys computed once for several frames; a key it
    lacks is computed here."""
    if closes is None or frame.height == 0:
        return bar_close_of(frame)
    keyed = frame.select(_KEY).join(closes, on=_KEY, how="left", maintain_order="left")
    lacking = keyed.filter(pl.col("bar_close").is_null())
    if lacking.height:
        keyed = keyed.update(
            lacking.with_columns(bar_close_of(lacking).alias("bar_close")),
            on=_KEY,
            how="left",
            maintain_order="left",
        )
    return keyed["bar_close"]


def bar_closes(*frames: pl.DataFrame) -> pl.DataFrame:
    """``symbol, timeframe, ts, bar_close``: the close of every distinct bar key of
    ``frames`` (each with ``symbol, timeframe, ts``), computed once for all of them."""
    keys = pl.concat([f.select(_KEY) for f in frames], how="vertical_relaxed").unique()
    return keys.with_columns(bar_close_of(keys).alias("bar_close"))


def _examples(frame: pl.DataFrame, n: int = 5) -> list[dict]:
    return [{k: str(v) for k, v in row.items()} for row in frame.head(n).to_dicts()]


def no_nan(signals: pl.DataFrame) -> tuple[bool, dict]:
    """Rows with a NULL (any column) or NaN (float columns), per column."""
    floats = [c for c, t in signals.schema.items() if t.is_float()]
    counts = signals.select(
        *(pl.col(c).is_null().sum().alias(c) for c in signals.columns if c not in floats),
        *((pl.col(c).is_null() | pl.col(c).is_nan()).sum().alias(c) for c in floats),
    )
    bad = {c: int(v) for c, v in counts.row(0, named=True).items() if v} if signals.height else {}
    return not bad, {"rows": signals.height, "missing_by_column": bad}


def within_caps(signals: pl.DataFrame, lower: float, upper: float) -> tuple[bool, dict]:
    """Positions in ``[lower, upper]`` and the [0, 1] fields within [0, 1] (1e-12 slack)."""
    eps = 1e-12
    out = signals.filter(
        (pl.col("position") < lower - eps)
        | (pl.col("position") > upper + eps)
        | pl.any_horizontal(
            (pl.col(c) < -eps) | (pl.col(c) > 1 + eps)
            for c in ("strength", "agreement", "confidence")
        )
    )
    return out.height == 0, {
        "caps": [lower, upper],
        "violations": out.height,
        "position_range": [signals["position"].min(), signals["position"].max()]
        if signals.height
        else None,
        "examples": _examples(out.select(*_KEY, "position", "strength", "agreement")),
    }


def fresh(
    signals: pl.DataFrame,
    bars: pl.DataFrame,
    now: datetime,
    max_lag: dict[str, timedelta] | None,
    closes: pl.DataFrame | None = None,
) -> tuple[bool, dict]:
    """See the module docstring. ``bars``: ``symbol, timeframe, ts`` of ``staging.bars`` for
    every predicted series; ``max_lag`` None = historical data, lags reported, not enforced;
    ``closes``: the bar closes of the keys, computed once (:func:`bar_closes`).

    Details: ``behind`` (series -> bars between its newest signal and its newest closed
    bar), ``newest_bar_lag_hours`` (series -> hours since its newest bar closed), counts."""
    no_bar = signals.join(bars.select(_KEY), on=_KEY, how="anti")
    stale = (
        signals.filter(pl.col("as_of") != bar_close(signals, closes)) if signals.height else signals
    )
    closed = bars.filter(bar_close(bars, closes) <= now) if bars.height else bars
    newest = closed.group_by("symbol", "timeframe").agg(pl.col("ts").max())
    if newest.height:
        newest = newest.with_columns(bar_close(newest).alias("close"))
    last_signal = {
        (s, tf): ts
        for s, tf, ts in signals.group_by("symbol", "timeframe").agg(pl.col("ts").max()).rows()
    }
    lags, late, behind = {}, [], {}
    for symbol, timeframe, ts, close in newest.iter_rows():
        name = f"{symbol} {timeframe}"
        lag = now - close
        lags[name] = round(lag.total_seconds() / 3600, 2)
        if max_lag is not None and timeframe in max_lag and lag > max_lag[timeframe]:
            late.append(name)
        signal_ts = last_signal.get((symbol, timeframe))
        if signal_ts is None or signal_ts < ts:
            series = closed.filter(
                (pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe)
            )
            after = series.filter(pl.col("ts") > signal_ts) if signal_ts else series
            behind[name] = after.height
    passed = no_bar.height == 0 and stale.height == 0 and not late and not behind
    return passed, {
        "series": newest.height,
        "series_behind": len(behind),
        "behind": behind,
        "signals_without_bar": no_bar.height,
        "signals_with_stale_predictions": stale.height,
        "examples": _examples(stale.select(*_KEY, "as_of")),
        "newest_bar_lag_hours": lags,
        "max_lag_hours": max(lags.values(), default=None),
        "freshness_enforced": max_lag is not None,
        "stale_series": late,
    }


def no_future_predictions(
    signals: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
    closes: pl.DataFrame | None = None,
) -> tuple[bool, dict]:
    """Signals whose ``as_of`` is missing or after the bar's close, and predictions behind a
    signal (``predictions``: ``symbol, timeframe, ts, model, predicted_at``) computed before
    their bar closed. Predictions without a measured ``predicted_at`` (stored by an older
    release) are counted, not failed. ``closes``: the bar closes of the keys, computed once
    (:func:`bar_closes`)."""
    if signals.height == 0:
        return True, {"rows": 0}
    closes = bar_closes(signals) if closes is None else closes
    bad = signals.filter(pl.col("as_of").is_null() | (pl.col("as_of") > bar_close(signals, closes)))
    early = unmeasured = pl.DataFrame()
    if predictions is not None and predictions.height:
        used = predictions.join(signals.select(_KEY), on=_KEY, how="semi")
        unmeasured = used.filter(pl.col("predicted_at").is_null())
        early = used.filter(pl.col("predicted_at") < bar_close(used, closes))
    return bad.height == 0 and early.height == 0, {
        "violations": bad.height + early.height,
        "late_as_of": bad.height,
        "predicted_before_close": early.height,
        "unmeasured_predictions": unmeasured.height,
        "examples": _examples(bad.select(*_KEY, "as_of"))
        + (_examples(early.select(*_KEY, "model", "predicted_at")) if early.height else []),
    }


def check_signals(
    signals: pl.DataFrame,
    bars: pl.DataFrame | None,
    caps: KellySizing,
    now: datetime,
    enforce_freshness: bool = False,
    predictions: pl.DataFrame | None = None,
    max_lag: dict[str, timedelta] | None = None,
) -> dict[str, tuple[bool, dict]]:
    """All four measures on the stored signals, by check name (see the module docstring).

    Args:
        signals: ``signals.signals`` rows (``SIGNALS_SCHEMA``; ts and as_of UTC).
        bars: ``symbol, timeframe, ts`` of ``staging.bars`` for the signals' series; None (no
            ``staging.bars``) counts as no bars.
        caps: the position caps (``caps.lower``, ``caps.upper``, fractions of equity).
        now: the time the newest bars' lags are measured at (UTC-aware).
        enforce_freshness: fail ``fresh`` when a series' newest bar lags more than
            :data:`trading_assets.bars.quality.MAX_LAG` allows for its timeframe.
        predictions: the predictions behind the signals (``symbol, timeframe, ts, model,
            predicted_at``), for ``no_future_predictions``.
        max_lag: allowed age of the newest bar per timeframe when freshness is enforced
            (default :data:`trading_assets.bars.quality.MAX_LAG`).

    Returns:
        ``{"no_nan", "positions_within_caps", "fresh", "no_future_predictions"}`` ->
        ``(passed, details)``, details JSON-ready.
    """
    if bars is None:
        bars = signals.select(_KEY).clear()
    closes = bar_closes(bars, signals)  # every bar close the checks compare, computed once
    lag = (max_lag or MAX_LAG) if enforce_freshness else None
    return {
        "no_nan": no_nan(signals),
        "positions_within_caps": within_caps(signals, caps.lower, caps.upper),
        "fresh": fresh(signals, bars, now, lag, closes),
        "no_future_predictions": no_future_predictions(signals, predictions, closes),
    }
