"""``signals/backtest``: backtests of every model, the consensus and buy-and-hold, per symbol
and timeframe, into ``signals.backtest_metrics`` and ``signals.backtest_equity``.

Strategies per (symbol, timeframe): ``buy_and_hold`` (always, also before any model exists),
one per model in ``ml.predictions`` (newest version; position = sign of the prediction) and
``consensus`` (the positions of ``signals.signals``). All of a series' strategies cover the same
bars: from the first prediction or signal on (the whole series for buy-and-hold alone). Orders
fill at the next bar's open with fees and slippage (:mod:`trading_assets.trading.backtest`);
split-like cliffs in the prices are neutralized and listed in the metadata.
"""

import hashlib

import dagster as dg
import numpy as np
import polars as pl

from trading_assets.defs.keys import BACKTEST, PREDICTIONS, SIGNALS, STAGING_BARS
from trading_assets.defs.metadata import preview
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.trading.reads import read_series, read_table
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.schemas import BACKTEST_EQUITY_SCHEMA, BACKTEST_METRICS_SCHEMA
from trading_assets.trading import backtest as engine
from trading_assets.trading import metrics
from trading_assets.trading.consensus import latest_versions
from trading_assets.warehouse.writes import replace_scope_rows, transaction

METRICS_TABLE = "signals.backtest_metrics"
EQUITY_TABLE = "signals.backtest_equity"


class BacktestConfig(dg.Config):
    """Knobs of ``signals/backtest``."""

    fees_bps: float = 5.0
    """Fees per unit of traded value, basis points."""
    slippage_bps: float = 2.0
    """Slippage per unit of traded value, basis points (a fill this much worse than the open)."""
    long_only: bool = False
    """Clip every strategy's positions at 0 (no shorts)."""
    timeframes: list[str] = ["1d"]
    """Timeframes that get a buy-and-hold backtest even without predictions."""
    cliff_factor: float = engine.CLIFF_FACTOR
    """One-bar close-to-close factor treated as a split cliff, not a return."""


def strategy_targets(
    bars: pl.DataFrame, predictions: pl.DataFrame, signals: pl.DataFrame, long_only: bool
) -> dict[str, np.ndarray]:
    """Target position per bar of ``bars`` (one series, ts order) for each strategy.

    ``predictions``/``signals`` are the series' rows; a bar without a prediction (signal) is
    flat for that model (the consensus).
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
    config: BacktestConfig,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Metrics rows, equity rows and notes of one (symbol, timeframe)."""
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
        bars["open"].to_numpy(), bars["close"].to_numpy(), config.cliff_factor
    )
    if cliffs.size:
        at = ", ".join(str(bars["ts"][int(i)].date()) for i in cliffs[:5])
        notes.append(
            f"{symbol} {timeframe}: {cliffs.size} split-like cliff(s) (>= {config.cliff_factor}x "
            f"in one bar: an unadjusted split, a bad print or a long data gap) neutralized, at {at}"
        )
    per_year = metrics.bars_per_year(symbol, timeframe)
    metric_rows, equity_frames = [], []
    for strategy, target in strategy_targets(bars, predictions, signals, config.long_only).items():
        result = engine.backtest(open_, close, target, config.fees_bps, config.slippage_bps)
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
                "fees_bps": config.fees_bps,
                "slippage_bps": config.slippage_bps,
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


@dg.asset(
    key=BACKTEST,
    description=(
        "Vectorized backtests (fills at the next bar's open, fees and slippage in bps) of each "
        "model, the consensus and buy-and-hold: CAGR, volatility, Sharpe, Sortino, Calmar, max "
        "drawdown, hit rate, turnover, exposure, and equity curves."
    ),
    deps=[SIGNALS, PREDICTIONS, STAGING_BARS],
    group_name="signals",
    kinds={"duckdb", "numpy"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": METRICS_TABLE, "tables": [METRICS_TABLE, EQUITY_TABLE]},
)
def backtest(
    context: dg.AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        predictions = latest_versions(read_table(con, "ml.predictions"))
        signals = read_table(con, "signals.signals", ["symbol", "timeframe", "ts", "position"])
        every = read_table(con, "staging.bars", ["symbol", "timeframe"]).unique()
        pairs = (
            pl.concat(
                [
                    every.filter(pl.col("timeframe").is_in(config.timeframes)),
                    predictions.select("symbol", "timeframe"),
                    signals.select("symbol", "timeframe"),
                ]
            )
            .unique()
            .sort("symbol", "timeframe")
        )
        bars = read_series(con, "staging.bars", pairs, ["open", "close"])
    missing = []
    if predictions.height == 0:
        missing.append("no predictions in ml.predictions yet: only buy_and_hold is backtested")
    elif signals.height == 0:
        missing.append("no signals in signals.signals: no consensus backtest")
    notes: list[str] = []
    metric_frames, equity_frames = [], []
    for symbol, timeframe in pairs.iter_rows():
        key = (pl.col("symbol") == symbol) & (pl.col("timeframe") == timeframe)
        series = bars.filter(key) if bars is not None else None
        if series is None or series.height == 0:
            notes.append(f"{symbol} {timeframe}: no bars in staging.bars; skipped")
            continue
        m, e, n = backtest_series(
            symbol, timeframe, series, predictions.filter(key), signals.filter(key), config
        )
        metric_frames.append(m)
        equity_frames.append(e)
        notes.extend(n)
    if not metric_frames:
        missing.append("no bars in staging.bars: nothing to backtest")
    metrics_frame = pl.concat([pl.DataFrame(schema=BACKTEST_METRICS_SCHEMA), *metric_frames])
    equity_frame = pl.concat([pl.DataFrame(schema=BACKTEST_EQUITY_SCHEMA), *equity_frames])
    with warehouse.connect() as con, transaction(con):
        wm = replace_scope_rows(
            con, METRICS_TABLE, metrics_frame, {}, schema=BACKTEST_METRICS_SCHEMA
        )
        we = replace_scope_rows(con, EQUITY_TABLE, equity_frame, {}, schema=BACKTEST_EQUITY_SCHEMA)
    version = hashlib.sha256(f"{wm.data_version}|{we.data_version}".encode()).hexdigest()[:16]
    for note in missing:
        context.log.warning(note)
    shown = metrics_frame.select(
        "strategy", "symbol", "timeframe", "total_return", "cagr", "sharpe", "max_drawdown",
        "exposure",
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(wm.rows),
            "equity_rows": dg.MetadataValue.int(we.rows),
            "rows_inserted": dg.MetadataValue.int(wm.inserted + we.inserted),
            "rows_updated": dg.MetadataValue.int(0),
            "rows_deleted": dg.MetadataValue.int(wm.deleted + we.deleted),
            "data_version": dg.MetadataValue.text(version),
            "strategies": dg.MetadataValue.int(metrics_frame["strategy"].n_unique()),
            "missing": dg.MetadataValue.md(
                "\n".join(f"- {m}" for m in missing) if missing else "nothing missing"
            ),
            "notes": dg.MetadataValue.json(notes),
            "metrics": preview(shown, n=60),
        },
        data_version=dg.DataVersion(version),
    )
