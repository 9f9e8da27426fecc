"""Quality measures on bars, behind the asset checks of the price layer.

Each function takes canonical bars of ONE symbol (any timeframes) and returns a
:class:`QualityResult`: whether the data passes and the figures to show with the check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from trading_assets.bars.splits import SplitReport
from trading_assets.markets import Market
from trading_assets.sessions import bar_closes, market_sessions, trading_dates
from trading_assets.timeframes import timeframe_seconds

#: allowed lag of the newest bar per timeframe, when freshness is enforced
MAX_LAG = {
    "1s": timedelta(minutes=15),
    "1m": timedelta(minutes=15),
    "5m": timedelta(minutes=30),
    "15m": timedelta(hours=1),
    "1h": timedelta(hours=3),
    "1d": timedelta(days=4),
}


@dataclass(frozen=True)
class QualityResult:
    """Outcome of one quality measure: ``passed`` and the figures behind it."""

    passed: bool
    metadata: dict = field(default_factory=dict)


def _examples(frame: pl.DataFrame, cols: list[str], n: int = 5) -> list[dict]:
    return [
        {k: (str(v) if isinstance(v, datetime) else v) for k, v in row.items()}
        for row in frame.select(cols).head(n).to_dicts()
    ]


def ohlc_consistency(bars: pl.DataFrame) -> QualityResult:
    """high >= max(open, close), low <= min(open, close) and high >= low on every bar."""
    bad = bars.filter(
        (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.col("low"))
    )
    return QualityResult(
        bad.height == 0,
        {
            "violations": bad.height,
            "examples": _examples(bad, ["timeframe", "ts", "open", "high", "low", "close"]),
        },
    )


def positive_prices_and_volume(bars: pl.DataFrame) -> QualityResult:
    """Every price > 0 and every volume >= 0 (nulls count as violations)."""
    bad = bars.filter(
        ~(
            (pl.col("open") > 0)
            & (pl.col("high") > 0)
            & (pl.col("low") > 0)
            & (pl.col("close") > 0)
            & (pl.col("volume") >= 0)
        ).fill_null(False)
    )
    return QualityResult(
        bad.height == 0,
        {
            "violations": bad.height,
            "examples": _examples(bad, ["timeframe", "ts", "close", "volume"]),
        },
    )


def unique_keys(bars: pl.DataFrame) -> QualityResult:
    """No (symbol, timeframe, ts) appears twice."""
    dup = bars.group_by(["symbol", "timeframe", "ts"]).len().filter(pl.col("len") > 1)
    return QualityResult(
        dup.height == 0,
        {"duplicate_keys": dup.height, "examples": _examples(dup, ["timeframe", "ts"])},
    )


def _equity_daily_gaps(
    ts: pl.Series, market: Market, symbol: str, timeframe: str
) -> tuple[np.ndarray, np.ndarray]:
    days = trading_dates(symbol, timeframe, ts).to_numpy().astype("datetime64[D]")
    known = market_sessions(market, days.min().item(), days.max().item(), symbol)
    missing = known.between(days[:-1], days[1:])  # sessions strictly between two bars
    return missing, days[:-1]


def gaps(bars: pl.DataFrame, market: Market) -> QualityResult:
    """Missing bars, knowing when markets are closed.

    - Crypto (24/7): any step between consecutive bars longer than the timeframe.
    - Equity intraday: a step longer than the timeframe between two bars of the same regular
      session (nights, weekends, holidays and the hours after an early close are not gaps).
    - Equity daily: a session of the exchange calendar without a bar (weekends, holidays and
      closures such as 2001-09-11..14 are not sessions, so not gaps).

    Gaps are information, not errors: the check passes; the figures say how many there are,
    the largest, and where.
    """
    per_tf = {}
    for (timeframe,), frame in bars.partition_by("timeframe", as_dict=True).items():
        ts = frame.sort("ts")["ts"]
        if ts.len() < 2:
            per_tf[timeframe] = {"count": 0}
            continue
        step = timeframe_seconds(timeframe)
        if not market.always_open and step >= 86_400:
            symbol = str(frame["symbol"][0])
            missing, starts = _equity_daily_gaps(ts, market, symbol, timeframe)
            if step > 86_400:  # a bar of n days spans about n * 5/7 sessions
                missing = missing - math.ceil(step / 86_400 * 5 / 7) + 1
            idx = np.flatnonzero(missing >= 1)
            largest = int(missing[idx].max()) if idx.size else 0
            per_tf[timeframe] = {
                "count": int(idx.size),
                "largest_missing_sessions": largest,
                "largest_after": str(starts[idx[np.argmax(missing[idx])]]) if idx.size else None,
            }
            continue
        diffs = pl.DataFrame({"ts": ts}).with_columns(
            (pl.col("ts").diff().dt.total_seconds()).alias("step"),
            pl.col("ts").shift(1).alias("prev"),
        )
        is_gap = pl.col("step") > step
        if not market.always_open:
            known = market_sessions(market, ts.min().date(), ts.max().date())
            inside, close = known.session_of(ts.dt.epoch("us").to_numpy())
            # both bars in the same regular session (a bar may start at its close)
            at_close = ts.dt.epoch("us").to_numpy() == np.roll(close, 1)
            same = np.r_[False, (close[1:] == close[:-1]) | at_close[1:]]
            both = np.r_[False, inside[:-1]] & (inside | at_close) & same
            is_gap = is_gap & pl.Series(both)
        found = diffs.filter(is_gap).sort("step", descending=True)
        per_tf[timeframe] = {
            "count": found.height,
            "largest": str(timedelta(seconds=float(found["step"][0]) - step))
            if found.height
            else None,
            "largest_after": str(found["prev"][0]) if found.height else None,
        }
    return QualityResult(True, {"gaps": per_tf, "total": sum(v["count"] for v in per_tf.values())})


def outlier_jumps(
    bars: pl.DataFrame,
    robust_z: float = 25.0,
    min_move: float = 0.01,
    reversal: float = 0.75,
    cliff: float = 3.0,
) -> QualityResult:
    """Suspicious close-to-close jumps per timeframe: bad prints and split-like cliffs.

    Only consecutive bars count: a return across a data gap longer than five bars (and five
    days) is not a jump. A jump is flagged when either
    - its log return is more than ``robust_z`` robust standard deviations (median absolute
      deviation x 1.4826) from the median, at least ``min_move`` in size, AND the next bar
      reverses at least ``reversal`` of it (a spike that comes straight back is a bad print;
      a crash, even with a rebound, is not extreme enough in robust terms), or
    - the price moves by a factor of ``cliff`` or more in one bar (an unadjusted split).

    Passes when there are none (a warning-level check). Thin extended-hours prints of
    equities are typical findings.
    """
    found = []
    for (timeframe,), frame in bars.partition_by("timeframe", as_dict=True).items():
        max_step = max(5 * timeframe_seconds(timeframe), 5 * 86_400)
        r = frame.sort("ts").with_columns(
            pl.when(pl.col("ts").diff().dt.total_seconds() <= max_step)
            .then(pl.col("close").log().diff())
            .alias("ret")
        )
        r = r.with_columns(pl.col("ret").shift(-1).alias("next_ret"))
        stats = r.select(
            pl.col("ret").median().alias("med"),
            ((pl.col("ret") - pl.col("ret").median()).abs().median() * 1.4826).alias("mad"),
        ).row(0, named=True)
        spike = pl.lit(False)
        if stats["mad"]:
            spike = (
                (((pl.col("ret") - stats["med"]).abs() / stats["mad"]) > robust_z)
                & (pl.col("ret").abs() >= min_move)
            ) & (
                (pl.col("next_ret") * pl.col("ret") < 0)
                & (pl.col("next_ret").abs() >= reversal * pl.col("ret").abs())
            )
        jumps = r.filter((spike | (pl.col("ret").abs() >= np.log(cliff))).fill_null(False))
        found.extend(
            {"timeframe": timeframe, "ts": str(t), "log_return": round(float(x), 6)}
            for t, x in zip(jumps["ts"], jumps["ret"], strict=True)
        )
    found.sort(key=lambda j: -abs(j["log_return"]))
    return QualityResult(not found, {"jumps": len(found), "largest": found[:5]})


def freshness(
    bars: pl.DataFrame, now: datetime, max_lag: dict[str, timedelta] | None
) -> QualityResult:
    """How long ago each timeframe's newest bar closed (its session close for equities,
    :func:`trading_assets.sessions.bar_closes`)

    ``max_lag`` maps timeframe -> allowed lag; None means the data is historical (demo and
    local files) and the lag is reported without being enforced.
    """
    lags = {}
    passed = True
    for (timeframe,), frame in bars.partition_by("timeframe", as_dict=True).items():
        newest = frame["ts"].sort().tail(1)
        close = bar_closes(str(frame["symbol"][0]), str(timeframe), newest)[0]
        lag = now - close
        lags[timeframe] = {
            "newest_bar_close": str(close),
            "lag_hours": round(lag.total_seconds() / 3600, 2),
        }
        if max_lag is not None and timeframe in max_lag and lag > max_lag[timeframe]:
            passed = False
            lags[timeframe]["allowed_hours"] = max_lag[timeframe].total_seconds() / 3600
    return QualityResult(passed, {"timeframes": lags, "enforced": max_lag is not None})


#: smallest share of overlapping bars whose prices must agree for ``reconciles`` to pass
MIN_PRICE_MATCH = 0.99


def reconciliation(by_timeframe: dict[str, dict]) -> QualityResult:
    """Whether resampled bars agree with source bars where both exist.

    ``by_timeframe`` is the reconciliation report of
    :func:`trading_assets.bars.resample.build_staging_bars` (timeframe -> ``reconcile``
    stats); a timeframe passes when its ``price_match`` share is at least
    :data:`MIN_PRICE_MATCH` or there is no overlap (``price_match`` None).
    """
    agree = [
        r["price_match"] is None or r["price_match"] >= MIN_PRICE_MATCH
        for r in by_timeframe.values()
    ]
    figures = {"timeframes_compared": len(agree), "timeframes_disagreeing": agree.count(False)}
    return QualityResult(all(agree), {**figures, "by_timeframe": by_timeframe})


def split_findings(report: SplitReport | None) -> QualityResult:
    """Fails (a warning) when a split is ambiguous: it is listed with its ex-date and the
    ratios that fit, and was not applied. Applied splits and splits the source had already
    adjusted are listed too (see :mod:`trading_assets.bars.splits`)."""
    if report is None:
        return QualityResult(True, {"note": "splits not looked for"})
    return QualityResult(not report.ambiguous, report.as_dict())


def measure_bars(
    bars: pl.DataFrame,
    market: Market,
    reconciled: dict[str, dict],
    *,
    enforce_freshness: bool = False,
    now: datetime | None = None,
    splits: SplitReport | None = None,
) -> dict[str, QualityResult]:
    """Every quality measure of one symbol's staging bars, by check name.

    Args:
        bars: canonical ``staging.bars`` rows of one symbol (any timeframes; ts UTC, prices
            float64 in the quote currency).
        market: the symbol's market (gaps know when it is closed).
        reconciled: the reconciliation report of
            :func:`trading_assets.bars.resample.build_staging_bars`.
        enforce_freshness: fail ``fresh`` when a timeframe lags more than :data:`MAX_LAG`
            (live data); otherwise the lag is only reported (historical files always lag).
        now: the time freshness is measured at (UTC; default: the current time).
        splits: what :func:`trading_assets.bars.splits.split_adjust` found (None: not
            looked for).

    Returns:
        ``ohlc_consistent``, ``prices_positive``, ``unique_keys``, ``gaps``,
        ``outlier_jumps``, ``splits``, ``fresh`` and ``reconciles``.
    """
    now = now or datetime.now(UTC)
    return {
        "ohlc_consistent": ohlc_consistency(bars),
        "prices_positive": positive_prices_and_volume(bars),
        "unique_keys": unique_keys(bars),
        "gaps": gaps(bars, market),
        "outlier_jumps": outlier_jumps(bars),
        "splits": split_findings(splits),
        "fresh": freshness(bars, now, MAX_LAG if enforce_freshness else None),
        "reconciles": reconciliation(reconciled),
    }
