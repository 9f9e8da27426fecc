"""The paper-trading assets in Dagster: dry_run is the default and needs nothing (no keys, no
network), live money is refused with a clear error, and trading/orders follows new signals
through declarative automation only when execution is enabled."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from tests.report import fixtures
from trading_assets.definitions import build_definitions
from trading_assets.defs.keys import ORDERS, POSITIONS
from trading_assets.defs.live_lane import live_lane
from trading_assets.defs.reports.resources import DiscordResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.trading import TRADING_ASSETS, TradingResource


@pytest.fixture
def warehouse_with_signals(tmp_path, shared_data) -> str:
    """A warehouse file holding real ETH/BTC 1h bars, SMA signals and their backtest (the
    report tests' inputs), without any trading table."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("SET TimeZone = 'UTC'")
        fixtures.write_inputs(con, shared_data, with_news=False, with_trading=False)
        # long-only view of the newest signals: the SMA signals end short, crypto is never shorted
        con.execute("UPDATE signals.signals SET position = abs(position)")
    return str(path)


def _materialize(path: str, trading: TradingResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        TRADING_ASSETS,
        selection=[ORDERS, POSITIONS],
        resources={"warehouse": WarehouseResource(path=path), "trading": trading},
        raise_on_error=False,
    )


def test_dry_run_is_the_default_and_needs_nothing(warehouse_with_signals, monkeypatch):
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("dry_run must not reach the network")

    monkeypatch.setattr(requests.Session, "request", no_network)
    trading = TradingResource()  # no keys, no URL
    assert trading.mode() == "dry_run" and trading.broker() is None
    result = _materialize(warehouse_with_signals, trading)
    assert result.success
    with duckdb.connect(warehouse_with_signals, read_only=True) as con:
        orders = con.sql("SELECT * FROM trading.orders").pl()
        positions = con.sql("SELECT * FROM trading.positions ORDER BY symbol").pl()
    assert orders.height == 2 and set(orders["status"]) == {"dry_run"}
    assert orders["reason"][0].startswith("dry run, not sent: buy ")
    assert orders["broker_order_id"].null_count() == 2
    # the simulated book holds what the intents bought: at its targets
    assert (positions["qty"] == positions["target_qty"]).all() and set(positions["mode"]) == {
        "dry_run"
    }
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "reconciled": True,
        "exposure_limits": True,
        "daily_loss_stop": True,
        "no_stale_orders": True,
    }
    # a second run on the same bars: the same ids, nothing new
    again = _materialize(warehouse_with_signals, trading)
    meta = again.asset_materializations_for_node("trading__orders")[0].metadata
    assert meta["rows_inserted"].value == meta["rows_updated"].value == 0
    assert meta["sent"].value == []


def test_live_money_is_refused_before_anything_is_read(warehouse_with_signals):
    result = _materialize(warehouse_with_signals, TradingResource(execution="live"))
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    message = error.cause.message if error.cause else error.message
    assert error.cause.cls_name == "LiveTradingRefused"
    assert "TRADING_EXECUTION='live': live-money trading is not offered" in message
    with duckdb.connect(warehouse_with_signals, read_only=True) as con:
        assert "orders" not in {
            r[0] for r in con.sql("SHOW ALL TABLES").fetchall() if r[1] == "trading"
        }


def test_orders_follow_new_signals_only_when_execution_is_enabled(home, monkeypatch):
    def condition(defs: dg.Definitions):
        return defs.resolve_asset_graph().get(ORDERS).automation_condition

    monkeypatch.delenv("TRADING_EXECUTION", raising=False)
    dry = build_definitions()
    assert dry.resources["trading"].execution == "dry_run"
    assert condition(dry) is None
    monkeypatch.setenv("TRADING_EXECUTION", "paper")
    paper = build_definitions()
    assert condition(paper) is not None and condition(paper).get_label() == "on_new_data"
    # so does the live lane of a new bar (the inbox sensor's run)
    raw = [dg.AssetKey(["raw", "source_bars"])]
    assert ORDERS in live_lane(paper.resolve_asset_graph(), raw)
    assert ORDERS not in live_lane(dry.resolve_asset_graph(), raw)
    # positions follow the orders in either mode; the reconciliation sensor is always there
    assert paper.resolve_asset_graph().get(POSITIONS).automation_condition is not None
    assert "alert_on_failed_reconciliation" in {s.name for s in paper.sensors}


def test_the_sensor_skips_when_reconciliation_passed(warehouse_with_signals):
    from trading_assets.defs.trading.sensors import alert_on_failed_reconciliation

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        TRADING_ASSETS,
        selection=[ORDERS, POSITIONS],
        resources={
            "warehouse": WarehouseResource(path=warehouse_with_signals),
            "trading": TradingResource(),
        },
        instance=instance,
    )
    assert result.success
    context = dg.build_sensor_context(instance=instance, resources={"discord": DiscordResource()})
    tick = alert_on_failed_reconciliation.evaluate_tick(context)
    assert tick.skip_message == "reconciliation passed (or was not evaluated)"
