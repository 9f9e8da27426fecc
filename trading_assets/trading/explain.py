"""Plain-words explanations of signals from the models' top feature contributions.

``ml.prediction_contributions`` holds, per tree-model prediction, the top features by absolute
LightGBM ``pred_contrib`` (in units of the prediction). For a signal, each model's
contributions are scaled by the model's consensus weight share, summed per feature, and the
``top`` features by absolute combined contribution are named with their values and whether
they pushed the forecast up or down. With the sizing of the signal
(:data:`trading_assets.trading.consensus.SIZING_SCHEMA`), a last sentence says how large the
position is and why: the calibrated edge behind it, or why it is flat (too little history to
calibrate, no edge, inside the no-trade band).
"""

from __future__ import annotations

import re

import polars as pl

_KEY = ["symbol", "timeframe", "ts"]
_ACRONYMS = {"rsi", "macd", "atr", "ema", "sma", "vwap", "garch", "roc", "ma", "std", "obv"}
_DIRECTION_WORDS = {1: "Long", -1: "Short", 0: "Flat"}


def feature_words(feature: str) -> str:
    """A readable name for a feature column: ``rsi_14`` -> ``RSI 14``, ``vol_ratio`` ->
    ``vol ratio``; Alpha158 names such as ``ROC5`` are kept."""
    parts = [p for p in re.split(r"[_\s]+", feature) if p]
    return " ".join(p.upper() if p.lower() in _ACRONYMS else p for p in parts) or feature


def _number(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def signal_drivers(
    contributions: pl.DataFrame, weights: pl.DataFrame, top: int = 3
) -> pl.DataFrame:
    """The ``top`` features behind each signal.

    Args:
        contributions: ``ml.prediction_contributions`` rows (``PREDICTION_CONTRIBUTIONS_SCHEMA``).
        weights: per (model, model_version, symbol, timeframe, ts) the consensus ``weight``
            (:data:`trading_assets.trading.consensus.WEIGHTS_SCHEMA`).

    Returns:
        ``symbol, timeframe, ts, rank, feature, value, contribution`` (weight-share-scaled
        contribution, float64), rank 1 = largest absolute contribution; only bars and models
        with weight > 0.
    """
    cols = ["model", "model_version", *_KEY]
    shares = weights.filter(pl.col("weight") > 0).with_columns(
        (pl.col("weight") / pl.col("weight").sum().over(_KEY)).alias("share")
    )
    joined = contributions.join(shares.select(*cols, "share"), on=cols, how="inner")
    return (
        joined.group_by([*_KEY, "feature"])
        .agg(
            (pl.col("contribution") * pl.col("share")).sum().alias("contribution"),
            pl.col("value").mean().alias("value"),
        )
        .with_columns(
            pl.col("contribution")
            .abs()
            .rank("ordinal", descending=True)
            .over(_KEY)
            .cast(pl.Int64)
            .alias("rank")
        )
        .filter(pl.col("rank") <= top)
        .sort([*_KEY, "rank"])
        .select(*_KEY, "rank", "feature", "value", "contribution")
    )


def sizing_text(position: float, sizing: dict | None) -> str:
    """One sentence on the position of a signal and why (" " first; "" without sizing).

    Args:
        position: the signal's target position (fraction of equity).
        sizing: a row of :data:`trading_assets.trading.consensus.SIZING_SCHEMA` or None.
    """
    if not sizing or sizing.get("sizing") in (None, "no_signal"):
        return ""
    pairs, t = sizing["pairs"] or 0, sizing["t_stat"]
    fit = f"{pairs} realized pairs" + (f", t {t:.1f}" if t is not None and t == t else "")
    edge = f"{(sizing['expected_return'] or 0.0) * 1e4:+.2f} bp per bar"
    words = {
        "sized": f"Position {position:+.0%} of equity: calibrated edge {edge} (slope shrunk "
        f"to {sizing['shrink']:.0%} of its fit over {fit}).",
        "too_little_history": f"Position flat: {pairs} realized (signal, return) pairs, too "
        "few to calibrate.",
        "no_edge": f"Position flat: no calibrated edge ({fit}).",
        "in_band": f"Position flat: the calibrated edge {edge} sizes inside the no-trade band.",
    }
    return " " + words.get(sizing["sizing"], "Position flat: no recent volatility to size against.")


def explanation_text(
    direction: int,
    agreement: float,
    confidence: float,
    models: int,
    predicted: int,
    regime: str,
    drivers: list[dict] | None,
    position: float = 0.0,
    sizing: dict | None = None,
) -> str:
    """One signal in plain words.

    Args:
        direction: -1, 0 or 1.
        agreement / confidence: in [0, 1].
        models: models with weight > 0; ``predicted``: models with a prediction for the bar.
        regime: the bar's market regime.
        drivers: dicts with ``feature, value, contribution`` (largest first) or None.
        position / sizing: the target position and its sizing row (:func:`sizing_text`).
    """
    if models == 0:
        return (
            f"Flat: none of the {predicted} model(s) with a prediction has a positive recent "
            f"out-of-sample IC in regime {regime}, so no model is trusted yet."
        )
    head = (
        f"{_DIRECTION_WORDS[int(direction)]}: {models} of {predicted} model(s) carry weight; "
        f"{agreement:.0%} of the weight agrees, confidence {confidence:.0%}, regime {regime}."
    )
    tail = sizing_text(position, sizing)
    if not drivers:
        return head + " No feature contributions recorded for these models." + tail
    words = [
        f"{feature_words(d['feature'])} at {_number(d['value'])} pushed the forecast "
        f"{'up' if d['contribution'] >= 0 else 'down'} ({d['contribution']:+.2e})"
        for d in drivers
    ]
    return head + " Main drivers: " + "; ".join(words) + "." + tail


def explain(
    signals: pl.DataFrame,
    weights: pl.DataFrame,
    contributions: pl.DataFrame,
    top: int = 3,
    sizing: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``signals`` with ``explanation`` filled in (same rows and columns).

    Args:
        signals: rows of ``SIGNALS_SCHEMA``.
        weights: the consensus weights behind them (``WEIGHTS_SCHEMA``).
        contributions: ``ml.prediction_contributions`` rows (may be empty).
        top: features named per signal.
        sizing: the signals' sizing (``SIZING_SCHEMA``; None: the position is not explained).
    """
    if signals.height == 0:
        return signals
    predicted = weights.group_by(_KEY).agg(pl.len().alias("_predicted"))
    drivers = (
        signal_drivers(contributions, weights, top)
        .group_by(_KEY)
        .agg(pl.struct("feature", "value", "contribution").sort_by("rank").alias("_drivers"))
    )
    frame = signals.join(predicted, on=_KEY, how="left").join(drivers, on=_KEY, how="left")
    if sizing is not None and sizing.height:
        sized = sizing.select(*_KEY, pl.struct(pl.exclude(_KEY)).alias("_sizing"))
        frame = frame.join(sized, on=_KEY, how="left")
    else:
        frame = frame.with_columns(pl.lit(None).alias("_sizing"))
    texts = [
        explanation_text(d, a, c, m, p or 0, r, dr or None, pos, sz)
        for d, a, c, m, p, r, dr, pos, sz in zip(
            frame["direction"].to_list(),
            frame["agreement"].to_list(),
            frame["confidence"].to_list(),
            frame["models"].to_list(),
            frame["_predicted"].to_list(),
            frame["regime"].to_list(),
            frame["_drivers"].to_list(),
            frame["position"].to_list(),
            frame["_sizing"].to_list(),
            strict=True,
        )
    ]
    return frame.with_columns(pl.Series("explanation", texts, dtype=pl.String)).select(
        signals.columns
    )
