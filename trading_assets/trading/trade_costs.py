"""Cost per trade: fees, realized slippage against the backtest's assumption, compute cost.

The seed workflows' "cost per trade", for every order that is a trade (sent to the broker, or
a dry-run intent): what the broker charged, what the fill cost against the signal bar's close
(the price the intent was sized at), what ``signals/backtest`` assumed it would cost (its
``fees_bps`` + ``slippage_bps``), and the compute cost of the run that made the order
(``ops.cost_metrics``, that run's total shared equally by its trades). No Dagster here.
"""

from __future__ import annotations

import polars as pl

from trading_assets.schemas import TRADE_COSTS_SCHEMA

#: order statuses that are not trades: nothing was or would have been sent
NOT_TRADES: tuple[str, ...] = ("skipped", "stale", "blocked", "market_closed", "superseded")
#: the backtest's defaults, used when no consensus backtest is stored
DEFAULT_FEES_BPS = 5.0
DEFAULT_SLIPPAGE_BPS = 2.0


def assumed_bps(backtest_metrics: pl.DataFrame | None) -> tuple[float, float]:
    """(fees_bps, slippage_bps) the consensus backtest assumed (mean over its series), else
    the backtest's defaults (5, 2)."""
    if backtest_metrics is None or backtest_metrics.height == 0:
        return DEFAULT_FEES_BPS, DEFAULT_SLIPPAGE_BPS
    rows = backtest_metrics.filter(pl.col("strategy") == "consensus")
    if rows.height == 0:
        rows = backtest_metrics
    return float(rows["fees_bps"].mean()), float(rows["slippage_bps"].mean())


def trade_costs(
    orders: pl.DataFrame,
    fills: pl.DataFrame,
    cost_metrics: pl.DataFrame | None,
    backtest_metrics: pl.DataFrame | None,
) -> pl.DataFrame:
    """One row per trade (:data:`~trading_assets.schemas.TRADE_COSTS_SCHEMA`).

    Args:
        orders: ``trading.orders``.
        fills: ``trading.fills``.
        cost_metrics: ``ops.cost_metrics`` (``run_id``, ``cost_usd``), None when absent
            (compute cost 0).
        backtest_metrics: ``signals.backtest_metrics`` (``strategy``, ``fees_bps``,
            ``slippage_bps``), None when absent.
    """
    fees_bps, slip_bps = assumed_bps(backtest_metrics)
    trades = orders.filter(~pl.col("status").is_in(NOT_TRADES))
    if trades.height == 0:
        return pl.DataFrame(schema=TRADE_COSTS_SCHEMA)
    per_run = trades.group_by("run_id").agg(pl.len().alias("_trades"))
    if cost_metrics is not None and cost_metrics.height:
        run_cost = cost_metrics.group_by("run_id").agg(pl.col("cost_usd").sum().alias("_run_usd"))
    else:
        run_cost = pl.DataFrame(schema={"run_id": pl.String(), "_run_usd": pl.Float64()})
    joined = (
        trades.join(
            fills.select(
                "client_order_id",
                pl.col("notional").alias("filled_notional"),
                pl.col("fees_usd").alias("_fill_fees"),
                "slippage_bps",
            ),
            on="client_order_id",
            how="left",
        )  # fmt: skip
        .join(per_run, on="run_id", how="left")
        .join(run_cost, on="run_id", how="left")
    )
    basis = pl.coalesce(pl.col("filled_notional"), pl.col("notional"))
    return (
        joined.with_columns(
            pl.coalesce(pl.col("_fill_fees"), pl.col("fees_usd"), pl.lit(0.0)).alias("fees_usd"),
            (
                pl.col("filled_notional").fill_null(0.0)
                * pl.col("slippage_bps").fill_null(0.0)
                / 1e4
            ).alias("slippage_usd"),  # fmt: skip
            pl.lit(fees_bps).alias("assumed_fees_bps"),
            pl.lit(slip_bps).alias("assumed_slippage_bps"),
            (basis * (fees_bps + slip_bps) / 1e4).alias("assumed_cost_usd"),
            (pl.col("_run_usd").fill_null(0.0) / pl.col("_trades")).alias("compute_usd"),
        )
        .with_columns(
            (pl.col("fees_usd") + pl.col("slippage_usd") + pl.col("compute_usd")).alias("total_usd")
        )
        .with_columns(pl.when(basis > 0).then(pl.col("total_usd") / basis * 1e4).alias("total_bps"))
        .select([pl.col(c).cast(t) for c, t in TRADE_COSTS_SCHEMA.items()])
        .sort("client_order_id")
    )


def summary(costs: pl.DataFrame) -> dict[str, float | int | None]:
    """Totals over ``costs``: trades, filled trades, fees, slippage and compute (USD), cost per
    trade and per filled order (USD), and the realized against the assumed slippage (bps,
    notional-weighted over filled trades)."""
    filled = costs.filter(pl.col("filled_notional") > 0)
    notional = float(filled["filled_notional"].sum() or 0.0)
    total = float(costs["total_usd"].sum() or 0.0)
    return {
        "trades": costs.height,
        "filled_orders": filled.height,
        "fees_usd": float(costs["fees_usd"].sum() or 0.0),
        "slippage_usd": float(costs["slippage_usd"].sum() or 0.0),
        "compute_usd": float(costs["compute_usd"].sum() or 0.0),
        "cost_per_trade_usd": total / costs.height if costs.height else None,
        "cost_per_filled_order_usd": total / filled.height if filled.height else None,
        "realized_slippage_bps": float((filled["slippage_bps"] * filled["filled_notional"]).sum())
        / notional
        if notional
        else None,
        "assumed_slippage_bps": float(costs["assumed_slippage_bps"].mean())
        if costs.height
        else None,
    }
