"""``signals/backtest``: backtests of every model, the consensus and buy-and-hold, per symbol
and timeframe, into ``signals.backtest_metrics`` and ``signals.backtest_equity``.

The strategies, fills and metrics are :mod:`trading_assets.trading.backtest_run`; this asset
reads its inputs, runs them and replaces both tables in one transaction.
"""

import dagster as dg

from trading_assets.defs.keys import BACKTEST, PREDICTIONS, SIGNALS, STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.signals.metadata import missing_metadata
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.schemas import BACKTEST_EQUITY_SCHEMA, BACKTEST_METRICS_SCHEMA
from trading_assets.trading import backtest_run
from trading_assets.trading.backtest import CLIFF_FACTOR
from trading_assets.trading.consensus import latest_versions
from trading_assets.warehouse.catalog import read_series, read_table
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
    cliff_factor: float = CLIFF_FACTOR
    """One-bar close-to-close factor treated as a split cliff, not a return."""

    def settings(self) -> backtest_run.BacktestSettings:
        """These knobs as the logic's :class:`~trading_assets.trading.backtest_run.BacktestSettings`
        (``timeframes`` as a tuple)."""
        return backtest_run.BacktestSettings(
            fees_bps=self.fees_bps,
            slippage_bps=self.slippage_bps,
            long_only=self.long_only,
            cliff_factor=self.cliff_factor,
            timeframes=tuple(self.timeframes),
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
@metered
def backtest(
    context: dg.AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    settings = config.settings()
    with warehouse.connect() as con:
        predictions = latest_versions(read_table(con, "ml.predictions"))
        signals = read_table(con, "signals.signals", ["symbol", "timeframe", "ts", "position"])
        every = read_table(con, "staging.bars", ["symbol", "timeframe"]).unique()
        pairs = backtest_run.series_to_backtest(every, predictions, signals, settings.timeframes)
        bars = read_series(con, "staging.bars", pairs, ["open", "close"])
    run = backtest_run.run_backtests(pairs, bars, predictions, signals, settings)
    with warehouse.connect() as con, transaction(con):
        wm = replace_scope_rows(con, METRICS_TABLE, run.metrics, {}, schema=BACKTEST_METRICS_SCHEMA)
        we = replace_scope_rows(con, EQUITY_TABLE, run.equity, {}, schema=BACKTEST_EQUITY_SCHEMA)
    written = backtest_run.combined_write(wm, we)
    for note in run.missing:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(written),
            "equity_rows": dg.MetadataValue.int(we.rows),
            "strategies": dg.MetadataValue.int(run.metrics["strategy"].n_unique()),
            "missing": missing_metadata(run.missing),
            "notes": dg.MetadataValue.json(run.notes),
            "metrics": preview(run.metrics.select(backtest_run.PREVIEW_COLUMNS), n=60),
        },
        data_version=dg.DataVersion(written.data_version),
    )
