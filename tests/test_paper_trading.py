"""Paper trading end to end: the main job on the ``local`` profile with
``TRADING_EXECUTION=paper`` against a local Alpaca paper API (Alpaca's wire format, 127.0.0.1).

The paper account starts holding ETH and BTC while the newest signals say otherwise, so the
first run must trade: every order is submitted once, a second run submits none, and the
positions reconcile with the targets. A crafted partial fill then fails the reconciliation
check naming the symbol, and the asset sensor alerts on it (log and Discord)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import latest_check, use_local_profile
from tests.publish.servers import FakeDiscord
from tests.trading.alpaca_paper import KEY_ID, SECRET, AlpacaPaperServer
from trading_assets import Warehouse
from trading_assets.definitions import build_definitions
from trading_assets.defs.reports.resources import DiscordResource
from trading_assets.defs.trading.sensors import alert_on_failed_reconciliation
from trading_assets.home import ProjectHome
from trading_assets.runner import dagster_instance, materialize

BINANCE = ("crypto", "binance_spot_2023")
FILES = ("ETH_USDT-1h.json", "BTC_USDT-1h.json")
HELD = {"ETH/USDT": 2.0, "BTC/USDT": 0.1}
TRADING = 'key:"trading/orders" or key:"trading/positions"'


def _last_close(path: Path) -> float:
    return float(json.loads(path.read_text())[-1][4])


def _check(instance: dg.DagsterInstance, name: str) -> tuple[bool, dict]:
    return latest_check(instance, ["trading", "positions"], name)


@pytest.fixture(scope="module")
def paper_home(tmp_path_factory, shared_data: Path):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("paper")
    data = root / "data"
    data.mkdir()
    prices = {}
    for name in FILES:
        (data / name).symlink_to(shared_data.joinpath(*BINANCE, name))
        prices[name.split("-")[0].replace("_", "/")] = _last_close(data / name)
    server = AlpacaPaperServer(positions=dict(HELD), prices=prices).start()
    use_local_profile(mp, root / "home", data)
    mp.setenv("TRADING_EXECUTION", "paper")
    mp.setenv("ALPACA_API_KEY", KEY_ID)
    mp.setenv("ALPACA_SECRET_KEY", SECRET)
    mp.setenv("ALPACA_TRADING_URL", server.url)
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()
    first = materialize(defs, instance)
    posts_after_first = len(server.posts())
    second = materialize(defs, instance)
    yield server, instance, defs, first, second, posts_after_first
    server.stop()
    mp.undo()


def test_orders_are_submitted_once_and_a_second_run_submits_none(paper_home):
    server, instance, _, first, second, posts_after_first = paper_home
    assert first.ok, first.failures
    assert second.ok, second.failures
    orders = Warehouse().sql("SELECT * FROM trading.orders ORDER BY symbol")
    sent = orders.filter(orders["broker_order_id"].is_not_null())
    assert sent.height >= 1  # the account held what the targets do not
    assert set(sent["mode"]) == {"paper"} and set(sent["status"]) == {"filled"}
    posted = [r.body["client_order_id"] for r in server.posts()]
    assert sorted(posted) == sorted(sent["client_order_id"])  # each once
    assert posts_after_first == len(posted)  # the second run sent nothing
    assert second.outcomes["trading/orders"].rows_written == 0
    for row in sent.iter_rows(named=True):  # ids derived from strategy, symbol and bar
        assert row["client_order_id"].startswith(f"ta-{row['strategy']}-")
        assert row["client_order_id"].split("-")[-2] == f"{row['bar_ts']:%Y%m%dT%H%M}"
    fills = Warehouse().sql("SELECT * FROM trading.fills ORDER BY symbol")
    assert fills.height == sent.height
    for fill in fills.iter_rows(named=True):
        # the server fills 5 bps worse than its price; slippage is against the signal's close
        sign = 1.0 if fill["side"] == "buy" else -1.0
        assert fill["price"] == pytest.approx(server.prices[fill["symbol"]] * (1 + sign * 5e-4))
        expected = sign * (fill["price"] / fill["reference_price"] - 1) * 1e4
        assert fill["slippage_bps"] == pytest.approx(expected)
    assert set(fills["reference_price"]) == set(sent["price"])


def test_positions_reconcile_and_every_check_passes(paper_home):
    _, instance, *_ = paper_home
    for name in ("reconciled", "exposure_limits", "daily_loss_stop", "no_stale_orders"):
        passed, details = _check(instance, name)
        assert passed, (name, details)
    passed, details = _check(instance, "reconciled")
    assert details["checked"] == 2 and details["mismatched"] == {}
    positions = Warehouse().sql("SELECT symbol, qty, target_qty FROM trading.positions")
    assert positions.height == 2
    assert (positions["qty"] - positions["target_qty"]).abs().max() < 1e-9


def test_costs_per_trade_join_compute_cost_and_slippage(paper_home):
    costs = Warehouse().sql("SELECT * FROM trading.costs ORDER BY client_order_id")
    fills = Warehouse().sql("SELECT * FROM trading.fills ORDER BY client_order_id")
    assert costs.height >= 1 and costs["client_order_id"].to_list() == (
        fills["client_order_id"].to_list()
    )
    assert costs["slippage_bps"].to_list() == fills["slippage_bps"].to_list()
    usd = fills["notional"] * fills["slippage_bps"] / 1e4
    assert (costs["slippage_usd"] - usd).abs().max() < 1e-9
    assert (costs["assumed_slippage_bps"] == 2.0).all() and (costs["assumed_fees_bps"] == 5.0).all()
    assert (costs["compute_usd"] > 0).all()  # the run's cost, from ops.cost_metrics


def test_the_report_has_a_trading_section(paper_home):
    html = (ProjectHome.from_env().reports_dir / "latest.html").read_text()
    section = html.split('<section id="trading">', 1)[1].split("</section>", 1)[0]
    assert "ETH/USDT" in section and "filled" in section
    assert "Realized against assumed slippage" in section


def test_no_secret_reaches_the_run_logs_or_the_tables(paper_home):
    _, instance, *_ = paper_home
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            text = f"{entry.user_message} {entry.dagster_event}"
            assert KEY_ID not in text and SECRET not in text
    reasons = " ".join(Warehouse().sql("SELECT reason FROM trading.orders")["reason"].to_list())
    assert KEY_ID not in reasons and SECRET not in reasons


def test_a_partial_fill_fails_reconciliation_naming_the_symbol_and_alerts(paper_home, caplog):
    server, instance, defs, *_ = paper_home
    # a fresh paper account: holds 2 ETH, and the broker fills only half of the order
    with server.lock:
        server.orders.clear()
        server.positions.clear()
        server.positions["ETH/USDT"] = 2.0
        server.scenarios["ETH/USDT"] = ["partial"]
    import duckdb

    with duckdb.connect(str(ProjectHome.from_env().warehouse_path)) as con:
        for table in ("orders", "fills", "positions"):
            con.execute(f"DROP TABLE trading.{table}")
    run = materialize(defs, instance, selection=TRADING)
    assert run.ok, run.failures
    passed, details = _check(instance, "reconciled")
    assert not passed
    assert details["mismatched_symbols"] == ["ETH/USDT"]
    assert "newest order partially_filled, filled 1 of 2" in details["mismatched"]["ETH/USDT"]
    assert "reconciled" in run.outcomes["trading/positions"].failed_checks

    with FakeDiscord() as discord:
        context = dg.build_sensor_context(
            instance=instance,
            definitions=defs,
            resources={"discord": DiscordResource(webhook_url=discord.webhook_url)},
        )
        with caplog.at_level(logging.ERROR):
            result = alert_on_failed_reconciliation.evaluate_tick(context)
        assert "alerted: Positions do not match targets: ETH/USDT" in result.skip_message
        embeds = [r.body["embeds"][0] for r in discord.requests if r.method == "POST"]
        assert len(embeds) == 1 and "ETH/USDT: holds 1, target 0" in embeds[0]["description"]
