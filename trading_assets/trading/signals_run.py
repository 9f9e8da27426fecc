"""The signals behind ``signals/signals``: inputs completed where a table is missing, the
consensus (:mod:`~trading_assets.trading.consensus`) with its explanations
(:mod:`~trading_assets.trading.explain`), and the per-series summary of the stored signals
(no Dagster, no warehouse I/O).

Frames: timestamps are UTC ``Datetime("us", "UTC")`` bar open times; closes are float64 in the
quote currency; signals follow ``SIGNALS_SCHEMA``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from trading_assets.schemas import STAGING_BARS_SCHEMA, UTC_TS
from trading_assets.sessions import with_bar_close
from trading_assets.trading import consensus, explain

_BAR_KEY = ["symbol", "timeframe", "ts"]


@dataclass
class SignalsRun:
    """What :func:`build_signals` produced.

    Attributes:
        signals: ``SIGNALS_SCHEMA`` rows with explanations, sorted by symbol, timeframe, ts
            (empty without predictions).
        notes: the consensus' plain-words notes on predictions left out.
        missing: plain-words notes on missing inputs (predictions, bars, labels, regimes,
            contributions).
        sizing: the calibration behind every signal's position (``SIZING_SCHEMA`` of
            :mod:`~trading_assets.trading.consensus`, same rows as ``signals``).
    """

    signals: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sizing: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=consensus.SIZING_SCHEMA)
    )


def complete_inputs(
    predictions: pl.DataFrame,
    bars: pl.DataFrame | None,
    labels: pl.DataFrame | None,
    regime: pl.DataFrame | None,
    contributions: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    """Empty frames in place of missing tables, and what is missing in plain words.

    Args:
        predictions: ``ml.predictions`` rows (``PREDICTIONS_SCHEMA``; may be empty).
        bars: ``symbol, timeframe, ts, open, close`` of ``staging.bars``, or None (no table).
        labels: ``symbol, timeframe, ts, fwd_ret_<h>...`` of ``features.labels``, or None.
        regime: ``symbol, timeframe, ts, regime`` of ``features.regime``, or None.
        contributions: ``ml.prediction_contributions`` rows (may be empty).

    Returns:
        ``(bars, labels, regime, missing)``: the frames, empty with their key columns (and
        ``open``, ``close`` Float64 / ``regime`` String) where None was given, and the notes.
    """
    missing = []
    if predictions.height == 0:
        missing.append("no predictions in ml.predictions yet (no model has been trained)")
    elif bars is None or bars.height == 0:
        missing.append("no bars in staging.bars for the predicted series")
    if bars is None:
        columns = _BAR_KEY + ["open", "close"]
        bars = pl.DataFrame(schema={c: STAGING_BARS_SCHEMA[c] for c in columns})
    if labels is None:
        if predictions.height:
            missing.append("features.labels is missing: no realized labels, every IC unknown")
        labels = bars.select(_BAR_KEY).clear()
    if regime is None:
        if predictions.height:
            missing.append("features.regime is missing: weights use every bar's IC")
        regime = bars.select(_BAR_KEY).clear().with_columns(regime=pl.lit(None, pl.String))
    if predictions.height and contributions.height == 0:
        missing.append("no feature contributions: explanations name no drivers")
    return bars, labels, regime, missing


def build_signals(
    predictions: pl.DataFrame,
    bars: pl.DataFrame | None,
    labels: pl.DataFrame | None,
    regime: pl.DataFrame | None,
    contributions: pl.DataFrame,
    config: consensus.ConsensusConfig,
    top_drivers: int = 3,
) -> SignalsRun:
    """Explained consensus signals of every predicted (symbol, timeframe).

    Args:
        predictions, bars, labels, regime, contributions: as for :func:`complete_inputs`
            (None = the table does not exist).
        config: IC weights, confidence, Kelly sizing and its calibration.
        top_drivers: features named in each explanation.

    Returns:
        :class:`SignalsRun`.

    Raises:
        TradingAssetsError: a predicted series' timeframe is not a timeframe (``1d``, ...).

    Unusable predictions (NULL/NaN, targets not ``fwd_ret_<h>``, available after their bar's
    close) are left out and said in ``notes``, not raised.
    """
    bars, labels, regime, missing = complete_inputs(
        predictions, bars, labels, regime, contributions
    )
    result = consensus.consensus_signals(predictions, bars, labels, regime, config)
    frame = explain.explain(
        result.signals, result.weights, contributions, top_drivers, result.sizing
    )
    return SignalsRun(frame, result.notes, missing, result.sizing)


def series_summary(signals: pl.DataFrame) -> pl.DataFrame:
    """Per (symbol, timeframe) of ``signals`` (``SIGNALS_SCHEMA``), sorted: ``signals``
    (UInt32 count), ``long_share``/``short_share`` (Float64 share of bars with direction 1 /
    -1), ``mean_abs_position`` (fraction of equity), ``flat_share`` (share of bars with
    position 0), ``turnover`` (mean absolute position change per bar, fraction of equity) and
    ``mean_models`` (Float64)."""
    return (
        signals.sort("ts")
        .group_by("symbol", "timeframe")
        .agg(
            pl.len().alias("signals"),
            (pl.col("direction") == 1).mean().alias("long_share"),
            (pl.col("direction") == -1).mean().alias("short_share"),
            pl.col("position").abs().mean().alias("mean_abs_position"),
            (pl.col("position") == 0).mean().alias("flat_share"),
            pl.col("position").diff().abs().mean().alias("turnover"),
            pl.col("models").mean().alias("mean_models"),
        )
        .sort("symbol", "timeframe")
    )


def sizing_summary(sizing: pl.DataFrame) -> pl.DataFrame:
    """Per (symbol, timeframe) of a sizing frame (``SIZING_SCHEMA``), sorted: how many signals
    were sized and why the others are flat (one UInt32 count column per reason that occurs:
    ``sized``, ``too_little_history``, ``no_edge``, ``in_band``, ``no_signal``,
    ``no_variance``), and the newest signal's calibration: ``pairs``, ``slope``, ``t_stat``,
    ``shrink`` and ``expected_return`` (log return per bar)."""
    if sizing.height == 0:
        return pl.DataFrame(schema={"symbol": pl.String(), "timeframe": pl.String()})
    counts = sizing.pivot(
        on="sizing", index=["symbol", "timeframe"], values="ts", aggregate_function="len"
    ).fill_null(0)
    newest = (
        sizing.sort("ts")
        .group_by("symbol", "timeframe")
        .last()
        .select("symbol", "timeframe", "pairs", "slope", "t_stat", "shrink", "expected_return")
    )
    return counts.join(newest, on=["symbol", "timeframe"]).sort("symbol", "timeframe")


def all_flat(signals: pl.DataFrame) -> bool:
    """Whether ``signals`` has rows and every one is flat (direction 0)."""
    return bool(signals.height) and bool((signals["direction"] == 0).all())


def latest_explanation(signals: pl.DataFrame) -> str:
    """The explanation of the newest signal by ts ("" without signals)."""
    return signals.sort("ts")["explanation"][-1] if signals.height else ""


def newest_signals(signals: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """The newest signal of every (symbol, timeframe) of ``signals`` (``SIGNALS_SCHEMA``),
    sorted by symbol, timeframe, for people to read.

    Columns: ``symbol``, ``timeframe``, ``ts`` (bar open, UTC), ``bar_close`` (UTC),
    ``age_hours`` (Float64: hours from the bar's close to ``now``, default the wall clock),
    ``direction`` (``long``/``short``/``flat``), ``position`` (target, signed fraction of
    equity), ``confidence`` [0, 1], ``agreeing_models``, ``kind`` (``live`` or
    ``walk_forward``) and ``explanation``.
    """
    now = now or datetime.now(UTC)
    if signals.height == 0:
        return pl.DataFrame(schema=NEWEST_SIGNALS_SCHEMA)
    newest = signals.sort("ts").group_by("symbol", "timeframe").last()
    return (
        with_bar_close(newest)
        .with_columns(
            ((pl.lit(now) - pl.col("bar_close")).dt.total_seconds() / 3600).alias("age_hours"),
            pl.col("direction").replace_strict(
                {1: "long", -1: "short", 0: "flat"}, return_dtype=pl.String
            ),
            pl.col("agreeing_models").fill_null(""),
            pl.col("kind").fill_null("walk_forward"),
        )
        .select(list(NEWEST_SIGNALS_SCHEMA))
        .cast(NEWEST_SIGNALS_SCHEMA)
        .sort("symbol", "timeframe")
    )


def format_age(hours: float | None) -> str:
    """An age in hours for people: ``45 s``, ``12 min``, ``5.0 h``, ``3.2 d`` ("" for None)."""
    if hours is None:
        return ""
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


#: columns of :func:`newest_signals`
NEWEST_SIGNALS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "bar_close": UTC_TS,
    "age_hours": pl.Float64(),
    "direction": pl.String(),
    "position": pl.Float64(),
    "confidence": pl.Float64(),
    "agreeing_models": pl.String(),
    "kind": pl.String(),
    "explanation": pl.String(),
}
