"""Paper trading assets: ``trading/orders``, ``trading/positions`` (with its four checks) and
``trading/costs``. The logic is :mod:`trading_assets.trading` (orders, paper, book,
trade_costs); these read the warehouse, call it and write the results.
"""

from datetime import UTC, datetime

import dagster as dg

from trading_assets.defs.keys import (
    BACKTEST,
    COST_METRICS,
    ORDERS,
    POSITIONS,
    SIGNALS,
    STAGING_BARS,
)
from trading_assets.defs.keys import TRADE_COSTS as COSTS
from trading_assets.defs.metadata import check_metadata, preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.trading.resources import TradingResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.profiles import active_profile
from trading_assets.schemas import FILLS_SCHEMA, ORDERS_SCHEMA, POSITIONS_SCHEMA, TRADE_COSTS_SCHEMA
from trading_assets.trading import book, paper, trade_costs
from trading_assets.trading.broker import BrokerPosition
from trading_assets.trading.orders import Account, daily_loss_stop
from trading_assets.warehouse.catalog import read_table
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.trading import newest_signals, read_orders
from trading_assets.warehouse.writes import replace_scope_rows, transaction, upsert_rows

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
#: check name -> (description, severity)
POSITION_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "reconciled": ("positions match the newest targets within the tolerance once their orders "
                   "are done; names every symbol that does not", ERROR),
    "exposure_limits": ("gross and per-symbol exposure within the limits", ERROR),
    "daily_loss_stop": ("the kill switch is off: equity is not down the daily loss limit or "
                        "more since the previous close (when on, new orders are blocked)", ERROR),
    "no_stale_orders": ("no order from a signal max_signal_age_bars or more bars old", ERROR),
}  # fmt: skip


def _checks(results: dict[str, tuple[bool, dict]]) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=passed,
            severity=POSITION_CHECKS[name][1],
            description=details.get("why") or POSITION_CHECKS[name][0],
            metadata=check_metadata(details),
        )  # fmt: skip
        for name, (passed, details) in results.items()
    ]


@dg.asset(
    key=ORDERS,
    description=(
        "Order intents from the newest signals' target positions (exposure limits, minimum "
        "notional, share/coin quantities, stale-signal and daily-loss guards) into "
        "trading.orders; dry_run stores them, paper sends them once to Alpaca's paper API "
        "(client_order_id from strategy, symbol and bar) and polls status and fills."
    ),
    deps=[SIGNALS, STAGING_BARS],
    group_name="trading",
    kinds={"duckdb", "alpaca"},
    pool=DUCKDB_WRITER_POOL,
    metadata={"table": "trading.orders", "tables": ["trading.orders", "trading.fills"]},
)
@metered
def orders(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
           trading: TradingResource) -> dg.MaterializeResult:  # fmt: skip
    mode, broker = trading.mode(), trading.broker()
    with warehouse.connect() as con:
        ensure_table(con, "trading.orders")
        newest, stored = newest_signals(con), read_orders(con)
    run = paper.place_orders(
        newest, stored, mode=mode, broker=broker, rules=trading.rules(),
        timeframes=trading.timeframes, dry_run_equity=trading.dry_run_equity,
        now=datetime.now(UTC), run_id=context.run.run_id, clock_ages=active_profile() == "live",
    )  # fmt: skip
    with warehouse.connect() as con, transaction(con):
        write = upsert_rows(con, "trading.orders", run.changed, ["client_order_id"],
                            schema=ORDERS_SCHEMA)  # fmt: skip
        replace_scope_rows(con, "trading.fills", run.fills, {}, schema=FILLS_SCHEMA)
    for note in run.notes:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(write),
            "mode": mode,
            "sent": dg.MetadataValue.json(run.sent),
            "statuses": dg.MetadataValue.json(paper.status_counts(run.orders)),
            "equity_usd": dg.MetadataValue.float(run.account.equity),
            "notes": dg.MetadataValue.json(run.notes),
            "newest_orders": preview(book.newest_orders(run.orders).drop("run_id"), n=50),
            "fills": dg.MetadataValue.int(run.fills.height),
        },
        data_version=dg.DataVersion(write.data_version),
    )


@dg.asset(
    key=POSITIONS,
    description=(
        "The account's positions against the newest targets (trading.positions): the paper "
        "account's, or in dry_run the book the intents simulate; checks reconciliation, "
        "exposure limits, the daily loss stop and stale-signal orders."
    ),
    deps=[ORDERS],
    group_name="trading",
    kinds={"duckdb", "alpaca"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(n, asset=POSITIONS, description=d)
        for n, (d, _) in POSITION_CHECKS.items()
    ],  # fmt: skip
    metadata={"table": "trading.positions"},
)
@metered
def positions(warehouse: WarehouseResource, trading: TradingResource) -> dg.MaterializeResult:
    mode, broker, rules = trading.mode(), trading.broker(), trading.rules()
    with warehouse.connect() as con:
        ensure_table(con, "trading.orders")
        stored = read_orders(con)
    if broker is not None:
        account = paper.paper_account(broker)
        held = broker.positions()
    else:
        account = Account(trading.dry_run_equity, trading.dry_run_equity, {})
        held = [BrokerPosition(s, q, None, 0.0, "") for s, q in
                book.dry_run_positions(stored).items()]  # fmt: skip
    frame = book.positions_frame(held, stored, account.equity, account.last_equity, mode,
                                 stored["updated_at"].max())  # fmt: skip
    with warehouse.connect() as con, transaction(con):
        write = replace_scope_rows(con, "trading.positions", frame, {}, schema=POSITIONS_SCHEMA)
    kill = daily_loss_stop(account, rules)
    results = {
        "reconciled": book.reconcile(frame, stored, trading.reconcile_tolerance, rules),
        "exposure_limits": book.exposure(frame, rules),
        "daily_loss_stop": (kill is None, {"why": kill, "equity": account.equity,
                                           "last_equity": account.last_equity}),
        "no_stale_orders": book.stale_orders(stored, rules),
    }  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            **write_metadata(write),
            "mode": mode,
            "positions": preview(frame, n=50),
            "equity_usd": dg.MetadataValue.float(account.equity),
        },  # fmt: skip
        data_version=dg.DataVersion(write.data_version),
        check_results=_checks(results),
    )


@dg.asset(
    key=COSTS,
    description=(
        "Cost per trade and per filled order (trading.costs): the broker's fees, realized "
        "slippage against the signal bar's close and against the backtest's assumption, and "
        "the compute cost (ops.cost_metrics) of the run that made each order."
    ),
    deps=[ORDERS, COST_METRICS, BACKTEST],
    group_name="trading",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": "trading.costs"},
)
@metered
def costs(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        frame = trade_costs.trade_costs(
            read_orders(con),
            read_table(con, "trading.fills"),
            read_table(con, "ops.cost_metrics", ["run_id", "cost_usd"]),
            read_table(con, "signals.backtest_metrics", ["strategy", "fees_bps", "slippage_bps"]),
        )
        with transaction(con):
            write = replace_scope_rows(con, "trading.costs", frame, {}, schema=TRADE_COSTS_SCHEMA)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(write),
            "summary": dg.MetadataValue.json(trade_costs.summary(frame)),
            "preview": preview(frame, n=20),
        },  # fmt: skip
        data_version=dg.DataVersion(write.data_version),
    )


TRADING_ASSETS = [orders, positions, costs]
