"""``signals/backtest``: backtests of every model, the consensus and buy-and-hold, per symbol
and timeframe, into ``signals.backtest_metrics`` and ``signals.backtest_equity``.

The strategies, fills and metrics are :mod:`trading_assets.trading.backtest_run`; this asset
backtests the series whose inputs changed since the last build (all of them on the first
build or after a change of code, configuration or the tables; ``recomputed_series``) and
replaces their rows of both tables in one transaction
(:mod:`trading_assets.trading.backtest_update`). ``notes`` and ``missing`` are those of the
recomputed series; ``metrics`` shows every series.
"""

import dagster as dg

from trading_assets.defs.keys import BACKTEST, PREDICTIONS, SIGNALS, STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.recorded import code_version, recorded_data_version
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.signals.metadata import missing_metadata
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.trading import backtest_run, backtest_update
from trading_assets.trading.backtest import CLIFF_FACTOR

METRICS_TABLE = backtest_update.METRICS_TABLE
EQUITY_TABLE = backtest_update.EQUITY_TABLE


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
    state_version = f"{code_version(context)}:{config.model_dump_json()}"
    with warehouse.connect() as con:
        update = backtest_update.update_backtests(
            con, config.settings(), state_version, recorded_data_version(context)
        )
        metrics = backtest_update.stored_metrics(con)
    run, written = update.run, update.write
    for note in run.missing:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(written),
            "equity_rows": dg.MetadataValue.int(update.equity.rows),
            "strategies": dg.MetadataValue.int(metrics["strategy"].n_unique()),
            "recomputed_series": dg.MetadataValue.json(
                "all" if update.recomputed is None else [" ".join(s) for s in update.recomputed]
            ),
            "missing": missing_metadata(run.missing),
            "notes": dg.MetadataValue.json(run.notes),
            "metrics": preview(metrics.select(backtest_run.PREVIEW_COLUMNS), n=60),
        },
        data_version=dg.DataVersion(written.data_version),
    )
