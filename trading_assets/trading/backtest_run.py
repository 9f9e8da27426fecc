"""The backtests behind ``signals/backtest``: which series to test, the strategies of one
series, and the metrics and equity rows of every series (no Dagster, no warehouse I/O).

Strategies per (symbol, timeframe): ``buy_and_hold`` (always, also before any model exists),
one per model in ``ml.predictions`` (position = sign of the prediction) and ``consensus`` (the
positions of ``signals.signals``). All of a series' strategies cover the same bars: from the
first prediction or signal on (the whole series for buy-and-hold alone). Orders fill at the
next bar's open with fees and slippage (:mod:`trading_assets.trading.backtest`); split-like
cliffs in the prices are neutralized and said in the notes.

Frames: timestamps are UTC ``Datetime("us", "UTC")`` bar open times; prices are float64 in the
quote currency; output frames follow ``BACKTEST_METRICS_SCHEMA`` / ``BACKTEST_EQUITY_SCHEMA``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from trading_assets.schemas import BACKTEST_EQUITY_SCHEMA, BACKTEST_METRICS_SCHEMA
from trading_assets.trading import backtest as engine
from trading_assets.trading import metrics
from trading_assets.warehouse.writes import WriteResult

#: columns of the metrics shown in the materialization's preview
PREVIEW_COLUMNS = (
    "strategy", "symbol", "timeframe", "total_return", "cagr", "sharpe", "max_drawdown",
    "exposure",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestSettings:
    """Parameters of :func:`backtest_series` and :func:`series_to_backtest`.

    Attributes:
        fees_bps: fees per unit of traded value, basis points (>= 0).
        slippage_bps: slippage per unit of traded value, basis points (>= 0): a fill this much
            worse than the open.
        long_only: clip every strategy's positions at 0 (no shorts).
        cliff_factor: one-bar close-to-close factor (> 1) treated as a split cliff, not a return.
        timeframes: timeframes that get a buy-and-hold backtest even without predictions.
    """

    fees_bps: float = 5.0
    slippage_bps: float = 2.0
    long_only: bool = False
    cliff_factor: float = engine.CLIFF_FACTOR
    timeframes: tuple[str, ...] = ("1d",)


@dataclass
class BacktestRun:
    """What :func:`run_backtests` produced.

    Attributes:
        metrics: one row per (strategy, symbol, timeframe), ``BACKTEST_METRICS_SCHEMA``;
            undefined ratios (NaN) are NULL.
        equity: one row per (strategy, symbol, timeframe, bar), ``BACKTEST_EQUITY_SCHEMA``.
        notes: plain-words notes per series (bars left out, cliffs, all-flat consensus).
        missing: plain-words notes on missing inputs (no predictions, signals or bars).
    """

    metrics: pl.DataFrame
    equity: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def strategy_targets(
    bars: pl.DataFrame, predictions: pl.DataFrame, signals: pl.DataFrame, long_only: bool
) -> dict[str, np.ndarray]:
    """Target position per bar of ``bars`` for each strategy.

    Args:
        bars: one series' bars in ts order (a ``ts`` column, UTC).
        predictions: the series' ``ml.predictions`` rows (``model``, ``ts``, ``prediction``).
        signals: the series' ``signals.signals`` rows (``ts``, ``position``); may be empty.
        long_only: clip every target at 0.

    Returns:
        Strategy name -> float64 array of ``bars.height`` signed positions (fractions of
        equity): ``buy_and_hold`` (all 1), one per model (sign of its prediction) in order of
        first appearance, then ``consensus`` when ``signals`` has rows. A bar without a
        prediction (signal) is flat for that model (the consensus).
    """
    ts = bars.select("ts")
    targets = {"buy_and_hold": np.ones(bars.height)}
    for (model,), rows in predictions.group_by("model", maintain_order=True):
        placed = ts.join(rows.select("ts", "prediction"), on="ts", how="left")
        targets[str(model)] = np.sign(placed["prediction"].fill_null(0.0).to_numpy())
    if signals.height:
        placed = ts.join(signals.select("ts", "position"), on="ts", how="left")
        targets["consensus"] = placed["position"].fill_null(0.0).to_numpy()
    if long_only:
        targets = {k: np.maximum(v, 0.0) for k, v in targets.items()}
    return targets


def backtest_series(
    symbol: str,
    timeframe: str,
    bars: pl.DataFrame,
    predictions: pl.DataFrame,
    signals: pl.DataFrame,
    settings: BacktestSettings,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Backtest every strategy of one (symbol, timeframe).

    Args:
        symbol, timeframe: the series (``timeframe`` like ``1d``; the symbol's market and the
            bars observed set the bars per year of the annualized metrics, see
            :func:`trading_assets.trading.metrics.bars_per_year`).
        bars: the series' bars in ts order: ``ts`` (UTC bar open), ``open``, ``close`` (float64,
            quote currency). Bars without a positive open and close are left out (noted).
        predictions: the series' ``ml.predictions`` rows (``model``, ``ts``, ``prediction``),
            one model version each; may be empty.
        signals: the series' ``signals.signals`` rows (``ts``, ``position``); may be empty.
        settings: costs, long-only and the cliff factor.

    Returns:
        ``(metrics, equity, notes)``: ``BACKTEST_METRICS_SCHEMA`` rows (one per strategy,
        NaN ratios as NULL), ``BACKTEST_EQUITY_SCHEMA`` rows (one per strategy and bar) and
        plain-words notes. Fewer than 2 bars from the first prediction or signal on gives
        empty frames and a note.

    Raises:
        TradingAssetsError: ``timeframe`` is not a timeframe.
        ValueError: negative costs (from :func:`trading_assets.trading.backtest.backtest`).
    """
    notes = []
    good = (pl.col("open") > 0) & (pl.col("close") > 0)
    if dropped := bars.filter(~good.fill_null(False)).height:
        notes.append(
            f"{symbol} {timeframe}: {dropped} bar(s) without a positive open/close left out"
        )
        bars = bars.filter(good.fill_null(False))
    starts = [f["ts"].min() for f in (predictions, signals) if f.height]
    if starts:
        bars = bars.filter(pl.col("ts") >= min(starts))
    if bars.height < 2:
        return (
            pl.DataFrame(schema=BACKTEST_METRICS_SCHEMA),
            pl.DataFrame(schema=BACKTEST_EQUITY_SCHEMA),
            [f"{symbol} {timeframe}: fewer than 2 bars to backtest"],
        )
    open_, close, cliffs = engine.cliff_adjusted(
        bars["open"].to_numpy(), bars["close"].to_numpy(), settings.cliff_factor
    )
    if cliffs.size:
        at = ", ".join(str(bars["ts"][int(i)].date()) for i in cliffs[:5])
        notes.append(
            f"{symbol} {timeframe}: {cliffs.size} split-like cliff(s) (>= "
            f"{settings.cliff_factor}x in one bar: an unadjusted split, a bad print or a long "
            f"data gap) neutralized, at {at}"
        )
    per_year = metrics.bars_per_year(symbol, timeframe, bars["ts"])
    metric_rows, equity_frames = [], []
    targets = strategy_targets(bars, predictions, signals, settings.long_only)
    for strategy, target in targets.items():
        result = engine.backtest(open_, close, target, settings.fees_bps, settings.slippage_bps)
        if strategy == "consensus" and not np.any(result.position):
            notes.append(f"{symbol} {timeframe}: consensus never took a position (all flat)")
        perf = metrics.performance(
            result.returns, result.equity, result.position, result.asset_returns, per_year
        )
        metric_rows.append(
            {
                "strategy": strategy,
                "symbol": symbol,
                "timeframe": timeframe,
                "start": bars["ts"][0],
                "end": bars["ts"][-1],
                "bars": bars.height,
                **{k: (None if v != v else v) for k, v in perf.items()},  # NaN -> NULL
                "fees_bps": settings.fees_bps,
                "slippage_bps": settings.slippage_bps,
            }
        )
        equity_frames.append(
            pl.DataFrame(
                {
                    "strategy": strategy,
                    "symbol": symbol,
                    "timeframe": timeframe,
                    "ts": bars["ts"],
                    "position": result.position,
                    "return": result.returns,
                    "equity": result.equity,
                    "drawdown": result.drawdown,
                },
                schema=BACKTEST_EQUITY_SCHEMA,
            )
        )
    return (
        pl.DataFrame(metric_rows, schema=BACKTEST_METRICS_SCHEMA),
        pl.concat(equity_frames),
        notes,
    )


def series_to_backtest(
    staging_series: pl.DataFrame,
    predictions: pl.DataFrame,
    signals: pl.DataFrame,
    timeframes: tuple[str, ...] | list[str],
) -> pl.DataFrame:
    """The (symbol, timeframe) pairs to backtest, sorted: every series of ``staging.bars`` in
    ``timeframes`` (buy-and-hold), and every series with predictions or signals.

    Args:
        staging_series: ``symbol, timeframe`` of ``staging.bars`` (String columns).
        predictions, signals: frames with ``symbol, timeframe`` columns (may be empty).
        timeframes: timeframes backtested without predictions, e.g. ``("1d",)``.

    Returns:
        Frame of unique ``symbol, timeframe`` (String), sorted.
    """
    return (
        pl.concat(
            [
                staging_series.select("symbol", "timeframe").filter(
                    pl.col("timeframe").is_in(list(timeframes))
                ),
                predictions.select("symbol", "timeframe"),
                signals.select("symbol", "timeframe"),
            ]
        )
        .unique()
        .sort("symbol", "timeframe")
    )


def run_backtests(
    pairs: pl.DataFrame,
    bars: pl.DataFrame | None,
    predictions: pl.DataFrame,
    signals: pl.DataFrame,
    settings: BacktestSettings,
) -> BacktestRun:
    """Backtest every (symbol, timeframe) of ``pairs`` (see :func:`backtest_series`).

    Args:
        pairs: ``symbol, timeframe`` to backtest (:func:`series_to_backtest`), in output order.
        bars: ``symbol, timeframe, ts, open, close`` of ``staging.bars`` for ``pairs``, sorted
            by ts within a series (UTC, quote currency); None when ``staging.bars`` is missing.
            A pair without bars is skipped with a note.
        predictions: ``ml.predictions`` rows of one model version per (model, symbol,
            timeframe) (``model, symbol, timeframe, ts, prediction``).
        signals: ``signals.signals`` rows (``symbol, timeframe, ts, position``).
        settings: costs, long-only, cliff factor.

    Returns:
        :class:`BacktestRun`; its frames have their schemas' columns even when empty.

    Raises:
        TradingAssetsError: a pair's timeframe is not a timeframe.
        ValueError: negative costs.
    """
    missing = []
    if predictions.height == 0:
        missing.append("no predictions in ml.predictions yet: only buy_and_hold is backtested")
    elif signals.height == 0:
        missing.append("no signals in signals.signals: no consensus backtest")
    notes: list[str] = []
    metric_frames, equity_frames = [], []
    for symbol, timeframe in pairs.select("symbol", "timeframe").iter_rows():
        key = (pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe)
        series = bars.filter(key) if bars is not None else None
        if series is None or series.height == 0:
            notes.append(f"{symbol} {timeframe}: no bars in staging.bars; skipped")
            continue
        m, e, n = backtest_series(
            symbol, timeframe, series, predictions.filter(key), signals.filter(key), settings
        )
        metric_frames.append(m)
        equity_frames.append(e)
        notes.extend(n)
    if not metric_frames:
        missing.append("no bars in staging.bars: nothing to backtest")
    return BacktestRun(
        metrics=pl.concat([pl.DataFrame(schema=BACKTEST_METRICS_SCHEMA), *metric_frames]),
        equity=pl.concat([pl.DataFrame(schema=BACKTEST_EQUITY_SCHEMA), *equity_frames]),
        notes=notes,
        missing=missing,
    )


def combined_write(metrics_write: WriteResult, equity_write: WriteResult) -> WriteResult:
    """One :class:`WriteResult` for the two tables of a backtest: row changes summed, ``rows``
    of the metrics table, and a data version (16 hex digits) hashing both tables' versions, so
    it changes exactly when either table's content does."""
    both = f"{metrics_write.data_version}|{equity_write.data_version}"
    return WriteResult(
        inserted=metrics_write.inserted + equity_write.inserted,
        updated=metrics_write.updated + equity_write.updated,
        deleted=metrics_write.deleted + equity_write.deleted,
        rows=metrics_write.rows,
        data_version=hashlib.sha256(both.encode()).hexdigest()[:16],
    )
