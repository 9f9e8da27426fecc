"""Weighted consensus of the models' out-of-sample predictions, per symbol, timeframe and bar.

Timing (bars are counted in the series, as the labels count them):

- the prediction of bar ``t`` is made at its close (``available_at`` = the bar's close:
  ``ts + timeframe`` for crypto, the session close for equities, :mod:`trading_assets.sessions`);
  predictions with a later ``available_at`` are never used for bar ``t``;
- the label ``fwd_ret_h`` of bar ``s`` is ``log(close[s+h] / close[s])``, known at the close of
  bar ``s + h``. So the signal at bar ``t`` (decided at its close) may use the pair
  (prediction, label) of bar ``s`` only when ``s + h <= t``;
- a model's weight at bar ``t`` is its walk-forward IC: the Pearson correlation of prediction
  and realized label over its last ``ic_lookback`` realized pairs in the same market regime
  as bar ``t`` (``features.regime``). With fewer than ``min_ic_obs`` such pairs the IC over
  all regimes is used; with fewer than that the model has no IC yet. Zero, negative or missing
  IC means weight 0;
- ``consensus`` is the weight-averaged prediction per bar (each divided by its horizon, so a
  5-bar forecast counts as a per-bar log return); ``direction`` its sign; ``agreement`` the
  weight share of models whose prediction has that sign; ``confidence`` the weighted mean IC
  scaled by ``full_confidence_ic`` (capped at 1); ``strength = agreement * confidence``;
- ``position`` is the fractional Kelly position on the *calibrated* edge of the consensus,
  never on the raw forecast: the expected return given the consensus, estimated walk-forward
  from the realized (consensus, engine return) pairs of earlier bars (a shrunk regression
  slope), over the variance of the last ``vol_window`` one-bar log returns; flat with too
  little history, without edge, or inside the no-trade band
  (:func:`trading_assets.trading.sizing.calibrated_positions`). Its sign is the direction's
  or 0. The calibration of every bar is returned in :attr:`ConsensusResult.sizing`.

A signal exists for every bar where at least one model has a prediction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from trading_assets.schemas import SIGNALS_SCHEMA, UTC_TS
from trading_assets.sessions import bar_closes
from trading_assets.trading.sizing import (
    TOO_LITTLE_HISTORY,
    EdgeSizing,
    KellySizing,
    calibrated_positions,
    engine_returns,
    trailing_variance,
    window_moments,
)

_TARGET = re.compile(r"^fwd_ret_(\d+)$")
UNKNOWN_REGIME = "unknown"

#: schema of the per-(model, bar) weights frame returned with the signals
WEIGHTS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "model_version": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "prediction": pl.Float64(),
    "ic": pl.Float64(),
    "ic_obs": pl.Int64(),
    "weight": pl.Float64(),
}

#: schema of the per-signal sizing frame returned with the signals
SIZING_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "expected_return": pl.Float64(),  # calibrated edge, log return per bar (0: none)
    "slope": pl.Float64(),  # OLS slope of realized return on the consensus (NULL: none)
    "t_stat": pl.Float64(),
    "shrink": pl.Float64(),  # factor the slope was shrunk by, in [0, 1]
    "pairs": pl.Int64(),  # realized (consensus, return) pairs behind the calibration
    "sizing": pl.String(),  # sized, no_signal, too_little_history, no_edge, in_band, ...
}


@dataclass(frozen=True)
class ConsensusConfig:
    """Parameters of :func:`consensus_signals` (see the module docstring)."""

    ic_lookback: int = 250
    min_ic_obs: int = 30
    per_regime: bool = True
    full_confidence_ic: float = 0.1
    vol_window: int = 20
    sizing: KellySizing = field(default_factory=KellySizing)
    edge: EdgeSizing = field(default_factory=EdgeSizing)

    def __post_init__(self) -> None:
        if self.ic_lookback < 3 or self.min_ic_obs < 3 or self.min_ic_obs > self.ic_lookback:
            raise ValueError(
                "need 3 <= min_ic_obs <= ic_lookback, got "
                f"min_ic_obs={self.min_ic_obs}, ic_lookback={self.ic_lookback}"
            )
        if self.full_confidence_ic <= 0:
            raise ValueError(f"full_confidence_ic must be > 0, got {self.full_confidence_ic}")


@dataclass
class ConsensusResult:
    """Signals (``SIGNALS_SCHEMA`` without text in ``explanation``: empty strings), the weight
    of every (model, bar) prediction used (``WEIGHTS_SCHEMA``), plain-words notes on what was
    skipped (and on signals left flat for lack of history to calibrate), and the sizing of
    every signal (``SIZING_SCHEMA``, same rows as ``signals``)."""

    signals: pl.DataFrame
    weights: pl.DataFrame
    notes: list[str]
    sizing: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SIZING_SCHEMA))


def horizon_of(target: str) -> int:
    """Bars ahead of a label name: ``fwd_ret_5`` -> 5.

    Raises:
        ValueError: ``target`` is not ``fwd_ret_<h>``.
    """
    match = _TARGET.match(target or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"prediction target {target!r} is not a forward return fwd_ret_<h>")
    return int(match.group(1))


def latest_versions(predictions: pl.DataFrame) -> pl.DataFrame:
    """Keep, per (model, symbol, timeframe), the rows of one model version: the one whose
    newest ``available_at`` is latest (ties, as after a retraining on the same bars: the one
    computed last by ``predicted_at`` when the rows have it, then more rows, then the larger
    version string)."""
    if predictions.height == 0:
        return predictions
    keys = ["model", "symbol", "timeframe"]
    computed = pl.col("predicted_at") if "predicted_at" in predictions.columns else pl.lit(None)
    ranked = (
        predictions.group_by([*keys, "model_version"])
        .agg(
            pl.col("available_at").max().alias("_newest"),
            computed.max().alias("_computed"),
            pl.len().alias("_rows"),
        )
        .sort(
            [*keys, "_newest", "_computed", "_rows", "model_version"],
            descending=[False] * 3 + [True] * 4,
            nulls_last=True,
        )
        .unique(subset=keys, keep="first")
        .select([*keys, "model_version"])
    )
    return predictions.join(ranked, on=[*keys, "model_version"], how="semi")


def walk_forward_ic(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    horizon: int,
    lookback: int,
) -> tuple[np.ndarray, np.ndarray]:
    """IC usable at each bar: Pearson correlation of ``x`` and ``y`` over the last ``lookback``
    pairs of bars ``s <= t - horizon`` whose group equals bar t's group.

    Args:
        x: predictions per bar (float64, NaN where none).
        y: labels per bar (float64, NaN where none).
        groups: int group code per bar (e.g. regime; all equal for one group).
        horizon: bars until a label is realized (>= 1).
        lookback: most recent realized pairs used.

    Returns:
        ``(ic, obs)``: float64 IC per bar (NaN with < 3 pairs or zero variance) and the int64
        number of pairs behind it.
    """
    moments = window_moments(x, y, groups, horizon, lookback)
    return moments.correlation, moments.pairs


def _codes(values: pl.Series) -> np.ndarray:
    return values.fill_null(UNKNOWN_REGIME).cast(pl.Categorical).to_physical().to_numpy()


def model_weights(
    x: np.ndarray,
    y: np.ndarray,
    regime_codes: np.ndarray,
    horizon: int,
    config: ConsensusConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weight, ic, obs)`` per bar of one model: the regime IC when it has at least
    ``min_ic_obs`` pairs (and ``per_regime``), else the all-regime IC when that has, else no
    IC; weight = max(IC, 0), 0 where there is no IC."""
    everywhere = np.zeros_like(regime_codes)
    ic_all, obs_all = walk_forward_ic(x, y, everywhere, horizon, config.ic_lookback)
    ic, obs = ic_all, obs_all
    if config.per_regime:
        ic_reg, obs_reg = walk_forward_ic(x, y, regime_codes, horizon, config.ic_lookback)
        use_reg = obs_reg >= config.min_ic_obs
        ic = np.where(use_reg, ic_reg, ic_all)
        obs = np.where(use_reg, obs_reg, obs_all)
    ic = np.where(obs >= config.min_ic_obs, ic, np.nan)
    weight = np.where(np.isfinite(ic), np.maximum(ic, 0.0), 0.0)
    return weight, ic, obs


def _series_signals(
    symbol: str,
    timeframe: str,
    bars: pl.DataFrame,
    preds: pl.DataFrame,
    config: ConsensusConfig,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Signals, weights and sizing of one (symbol, timeframe); ``bars`` has ts, open, close,
    regime and the label columns, one row per bar in ts order."""
    regime_codes = _codes(bars["regime"])
    cols = {"x": [], "w": [], "ic": [], "obs": [], "avail": [], "live": []}
    weight_frames = []
    models = preds["model"].unique().sort().to_list()
    for model in models:
        rows = preds.filter(pl.col("model") == model)
        target = rows["target"][0]
        h = horizon_of(target)
        label = pl.col(target) if target in bars.columns else pl.lit(None, dtype=pl.Float64)
        placed = bars.select("ts", label.cast(pl.Float64).alias("y")).join(
            rows.select("ts", "prediction", "available_at", "model_version", "kind"),
            on="ts",
            how="left",
        )
        x = placed["prediction"].fill_nan(None).to_numpy().astype(np.float64)
        y = placed["y"].fill_nan(None).to_numpy().astype(np.float64)
        w, ic, obs = model_weights(x, y, regime_codes, h, config)
        has = np.isfinite(x)
        cols["x"].append(np.where(has, x / h, np.nan))
        cols["w"].append(np.where(has, w, 0.0))
        cols["ic"].append(ic)
        cols["obs"].append(obs)
        cols["avail"].append(placed["available_at"])
        cols["live"].append(has & (placed["kind"] == "live").fill_null(False).to_numpy())
        weight_frames.append(
            placed.with_columns(
                model=pl.lit(model),
                symbol=pl.lit(symbol),
                timeframe=pl.lit(timeframe),
                ic=pl.Series(ic),
                ic_obs=pl.Series(obs),
                weight=pl.Series(np.where(has, w, 0.0)),
            )
            .filter(pl.Series(has))
            .select(list(WEIGHTS_SCHEMA))
        )
    x = np.vstack(cols["x"])  # models x bars
    w = np.vstack(cols["w"])
    ic = np.vstack(cols["ic"])
    has = np.isfinite(x)
    total = w.sum(axis=0)
    weighted = total > 0
    safe = np.where(weighted, total, 1.0)
    consensus = np.where(weighted, np.nansum(np.where(has, x, 0.0) * w, axis=0) / safe, 0.0)
    direction = np.sign(consensus).astype(np.int64)
    agree = (np.sign(np.where(has, x, 0.0)) == direction) & has
    agreement = np.where(weighted, (w * agree).sum(axis=0) / safe, 0.0)
    mean_ic = np.where(weighted, (w * np.nan_to_num(ic)).sum(axis=0) / safe, 0.0)
    confidence = np.clip(mean_ic / config.full_confidence_ic, 0.0, 1.0)
    var = trailing_variance(bars["close"].to_numpy().astype(np.float64), config.vol_window)
    sized = calibrated_positions(
        np.where(weighted, consensus, np.nan),
        engine_returns(bars["open"].to_numpy().astype(np.float64)),
        var, config.sizing, config.edge,
    )  # fmt: skip
    position = np.where(direction == 0, 0.0, sized.position)
    carry = agree & (w > 0) & (direction != 0)
    labels = [m.rsplit("-", 1)[-1] for m in models]  # the family, unless two share one
    labels = labels if len(set(labels)) == len(labels) else list(models)
    agreeing = pl.DataFrame({c: carry[i] for i, c in enumerate(labels)}).select(
        pl.concat_str(
            [pl.when(pl.col(c)).then(pl.lit(c)) for c in labels], separator=",", ignore_nulls=True
        )
        .fill_null("")
        .alias("agreeing")
    )["agreeing"]
    as_of = pl.DataFrame({f"a{i}": s for i, s in enumerate(cols["avail"])}).select(
        pl.max_horizontal(pl.all()).alias("as_of")
    )["as_of"]
    frame = pl.DataFrame(
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": bars["ts"],
            "direction": direction,
            "strength": agreement * confidence,
            "position": position + 0.0,  # no negative zero
            "agreement": agreement,
            "confidence": confidence,
            "consensus": consensus,
            "models": (w > 0).sum(axis=0).astype(np.int64),
            "agreeing_models": agreeing,
            "regime": bars["regime"].fill_null(UNKNOWN_REGIME),
            "explanation": "",
            "as_of": as_of,
            "kind": np.where(np.vstack(cols["live"]).any(axis=0), "live", "walk_forward"),
            "_close": bar_closes(symbol, timeframe, bars["ts"]),
            "expected_return": sized.expected,
            "slope": sized.slope,
            "t_stat": sized.t_stat,
            "shrink": sized.shrink,
            "pairs": sized.pairs,
            "sizing": sized.reason.astype(str),
        },
        schema_overrides={"ts": UTC_TS, "as_of": UTC_TS, "_close": UTC_TS},
    ).filter(pl.Series(has.any(axis=0)))
    # a prediction is usable for bar t only once available, at t's close at the latest
    frame = frame.filter(pl.col("as_of") <= pl.col("_close"))
    sizing = frame.select(list(SIZING_SCHEMA)).with_columns(
        pl.col("slope", "t_stat").fill_nan(None)
    )
    return frame.select(list(SIGNALS_SCHEMA)), pl.concat(weight_frames), sizing


def consensus_signals(
    predictions: pl.DataFrame,
    bars: pl.DataFrame,
    labels: pl.DataFrame,
    regime: pl.DataFrame,
    config: ConsensusConfig = ConsensusConfig(),
) -> ConsensusResult:
    """Consensus signals of every (symbol, timeframe) that has predictions.

    Args:
        predictions: walk-forward and live prediction rows (``PREDICTIONS_SCHEMA``; without
            ``kind`` all count as walk-forward); per (model, symbol, timeframe) only the newest
            model version is used (:func:`latest_versions`). A signal's ``kind`` is ``live``
            when a live prediction went into it. IC weights come only from realized pairs,
            so a live prediction counts once its label is realized, like any other.
        bars: ``staging.bars`` rows (``symbol, timeframe, ts, open, close``; prices > 0);
            they set the bar index the horizons count in, and the opens the return the
            engine earns on a signal (the sizing's calibration).
        labels: ``features.labels`` rows (``symbol, timeframe, ts, fwd_ret_<h>``...).
        regime: ``features.regime`` rows (``symbol, timeframe, ts, regime``); missing rows
            mean regime ``unknown``.
        config: weights, confidence and sizing parameters.

    Returns:
        :class:`ConsensusResult`; ``signals`` in ``SIGNALS_SCHEMA`` column order, sorted by
        symbol, timeframe, ts, with empty ``explanation`` (see
        :mod:`trading_assets.trading.explain`).

    Predictions that cannot be used are left out and said in ``notes``: NULL/NaN values,
    targets that are not ``fwd_ret_<h>``, ``available_at`` after the bar's close, bars not in
    ``bars``. Signals left flat because too few realized pairs exist to calibrate the sizing
    are counted in ``notes`` per series.

    Raises:
        ValueError: ``bars`` has no ``open`` column.
    """
    if "open" not in bars.columns:
        raise ValueError(
            "bars need an 'open' column: the sizing calibrates on the return the engine earns "
            "from the next open"
        )
    notes: list[str] = []
    empty = ConsensusResult(
        pl.DataFrame(schema=SIGNALS_SCHEMA), pl.DataFrame(schema=WEIGHTS_SCHEMA), notes
    )
    if predictions.height == 0:
        notes.append("no predictions in ml.predictions yet: no signals")
        return empty
    bad = predictions.filter(pl.col("prediction").is_null() | pl.col("prediction").is_nan())
    if bad.height:
        notes.append(f"{bad.height} predictions are NULL/NaN and were ignored")
        predictions = predictions.filter(
            pl.col("prediction").is_not_null() & pl.col("prediction").is_not_nan()
        )
    targets = predictions["target"].unique().to_list()
    if unusable := sorted(t for t in targets if not (t and _TARGET.match(t))):
        notes.append(
            f"predictions of target(s) {unusable} are not forward returns fwd_ret_<h>; ignored"
        )
        predictions = predictions.filter(~pl.col("target").is_in(unusable))
    if "kind" not in predictions.columns:
        predictions = predictions.with_columns(pl.lit("walk_forward").alias("kind"))
    predictions = latest_versions(predictions).unique(
        subset=["model", "model_version", "symbol", "timeframe", "ts"], keep="first",
        maintain_order=True,
    )  # fmt: skip
    label_cols = [c for c in labels.columns if _TARGET.match(c)]
    signal_frames, weight_frames, sizing_frames = [], [], []
    for (symbol, timeframe), preds in predictions.group_by(
        ["symbol", "timeframe"], maintain_order=True
    ):
        series = (
            bars.filter((pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe))
            .select("ts", "open", "close")
            .sort("ts")
        )
        if series.height == 0:
            notes.append(f"{symbol} {timeframe}: predictions but no bars in staging.bars; skipped")
            continue
        key = (pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe)
        series = series.join(
            labels.filter(key).select("ts", *label_cols), on="ts", how="left"
        ).join(regime.filter(key).select("ts", "regime"), on="ts", how="left")
        if series["regime"].null_count() == series.height:
            notes.append(f"{symbol} {timeframe}: no regime rows; weights over all bars")
        if not label_cols or labels.filter(key).height == 0:
            notes.append(f"{symbol} {timeframe}: no labels yet, so no IC: every signal is flat")
        close = bar_closes(str(symbol), str(timeframe), preds["ts"])
        late = preds.filter(pl.col("available_at").is_null() | (pl.col("available_at") > close))
        if late.height:
            notes.append(
                f"{symbol} {timeframe}: {late.height} predictions available only after their "
                "bar's close; not used"
            )
            preds = preds.join(late.select("model", "ts"), on=["model", "ts"], how="anti")
        if preds.height == 0:
            continue
        outside = preds.join(series.select("ts"), on="ts", how="anti").height
        if outside:
            notes.append(f"{symbol} {timeframe}: {outside} predictions on no known bar; ignored")
        sig, wts, sizing = _series_signals(str(symbol), str(timeframe), series, preds, config)
        signal_frames.append(sig)
        weight_frames.append(wts)
        sizing_frames.append(sizing)
        notes.extend(_sizing_notes(str(symbol), str(timeframe), sizing, config.edge))
    if not signal_frames:
        return empty
    signals = pl.concat(signal_frames).sort("symbol", "timeframe", "ts")
    sizing = pl.concat(sizing_frames).sort("symbol", "timeframe", "ts")
    return ConsensusResult(signals, pl.concat(weight_frames), notes, sizing)


def _sizing_notes(symbol: str, timeframe: str, sizing: pl.DataFrame, edge: EdgeSizing) -> list[str]:
    """The note on signals left flat for too little history to calibrate (none if none)."""
    early = sizing.filter(pl.col("sizing") == TOO_LITTLE_HISTORY)
    if early.height == 0:
        return []
    most = int(early["pairs"].max())
    return [
        f"{symbol} {timeframe}: {early.height} of {sizing.height} signal(s) flat: too little "
        f"history to calibrate the sizing (at most {most} realized (signal, return) pairs, "
        f"{edge.min_pairs} needed)"
    ]
