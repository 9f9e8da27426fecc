"""Live decisions end to end on the local profile: new bars replayed into a trained home get
live predictions and signals on the newest bar, without retraining; the retraining policy and
the freshness check decide as documented."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner

from tests.conftest import latest_check, use_local_profile
from trading_assets import Warehouse
from trading_assets.cli import main
from trading_assets.definitions import build_definitions
from trading_assets.home import ProjectHome
from trading_assets.refresh import plan_refresh, refresh
from trading_assets.replay import replay
from trading_assets.runner import dagster_instance, materialize

HELD_BACK = 3


def _mlflow_runs(home: ProjectHome) -> int:
    from trading_assets import mlflow_store

    client = mlflow_store.client(home.mlflow_tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]  # reports too
    return len(client.search_runs(experiments, max_results=10_000))


def _check(instance: dg.DagsterInstance, name: str) -> tuple[bool, dict]:
    return latest_check(instance, ["signals", "signals"], name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data: Path):
    """A local home over ETH 1h (the last bars held back) and BTC 1h, fully materialized."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("live")
    data = root / "data"
    data.mkdir()
    source = shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1h.json"
    candles = json.loads(source.read_text())
    (data / "ETH_USDT-1h.json").write_text(json.dumps(candles[:-HELD_BACK]))
    (data / "BTC_USDT-1h.json").symlink_to(source.with_name("BTC_USDT-1h.json"))
    use_local_profile(mp, root / "home", data)
    home = ProjectHome.from_env()
    instance = dagster_instance(home)
    defs = build_definitions()
    _, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    yield home, instance, defs, source, candles
    mp.undo()


def test_newest_signal_of_every_series_is_on_its_newest_bar(trained):
    home, instance, *_ = trained
    wh = Warehouse(home.warehouse_path)
    newest_bar = {
        (s, tf): ts
        for s, tf, ts in wh.sql(
            "SELECT symbol, timeframe, max(ts) FROM staging.bars WHERE timeframe IN ('1h', '1d') "
            "GROUP BY ALL"
        ).rows()
    }
    signals = wh.latest_signals()
    assert {(s, tf): ts for s, tf, ts in signals.select("symbol", "timeframe", "ts").rows()} == (
        newest_bar
    )
    assert set(signals["kind"]) == {"live"}
    passed, details = _check(instance, "fresh")
    assert passed and details["series_behind"] == 0
    passed, details = _check(instance, "no_future_predictions")
    assert passed and details["predicted_before_close"] == 0
    assert details["unmeasured_predictions"] == 0


def test_three_replayed_bars_give_three_live_signals_without_retraining(trained, monkeypatch):
    home, instance, defs, source, candles = trained
    wh = Warehouse(home.warehouse_path)
    runs = _mlflow_runs(home)
    models_before = instance.fetch_materializations(dg.AssetKey(["ml", "models"]), limit=1)
    eth = "symbol = 'ETH/USDT' AND timeframe = '1h'"
    count = wh.sql(f"SELECT count(*) AS n FROM signals.signals WHERE {eth}")["n"][0]
    for i in range(HELD_BACK):
        skip = len(candles) - HELD_BACK + i
        replay(source, home.inbox_dir, speed=1e6, limit=1, skip=skip, sleep=lambda _: None)
        executed, summary = refresh(defs, instance)
        assert summary.ok, summary.failures
        why = {(s.asset, s.partition): s.reason for s in executed}
        assert ("ml/models", None) not in why and ("ml/predictions", None) not in why
        assert why[("raw/source_bars", "ETH/USDT")] == "new source data"
        assert why[("ml/live_predictions", None)] == "new upstream data"
        assert why[("signals/signals", None)] == "new upstream data"
        bar = datetime.fromtimestamp(candles[skip][0] / 1000, UTC)
        newest = (
            wh.latest_signals("ETH/USDT").filter(pl.col("timeframe") == "1h").row(0, named=True)
        )
        assert newest["ts"] == bar and newest["kind"] == "live"
    stored = wh.sql(
        f"SELECT count(*) AS n, count(DISTINCT ts) AS d FROM signals.signals WHERE {eth}"
    )
    assert stored["n"][0] == stored["d"][0] == count + HELD_BACK
    assert _mlflow_runs(home) == runs  # no retraining, no new MLflow run
    # the registry did not change: champions and models came from the home's cache, not MLflow
    (newest,) = instance.fetch_materializations(
        dg.AssetKey(["ml", "live_predictions"]), limit=1
    ).records
    assert newest.asset_materialization.metadata["served_from_cache"].value > 0
    assert newest.asset_materialization.metadata["champions_from_cache"].value is True
    assert instance.fetch_materializations(dg.AssetKey(["ml", "models"]), limit=1) == models_before
    live = wh.sql("SELECT model, count(*) AS n, count(DISTINCT model_version) AS v "
                  f"FROM ml.live_predictions WHERE {eth} GROUP BY model")  # fmt: skip
    assert (live["v"] == 1).all() and (live["n"] >= 1 + HELD_BACK).all()
    assert "fwd_ret_1-1h-lightgbm" in set(live["model"])  # (the opt-in LSTM: test_lstm.py)
    # nothing is stale now; a re-delivered bar (the same candle in a new file) adds nothing
    assert plan_refresh(defs, instance) == []
    replay(source, home.inbox_dir, speed=1e6, limit=1, skip=len(candles) - 1, sleep=lambda _: 0)
    executed, summary = refresh(defs, instance)
    assert summary.ok and {s.asset for s in executed} == {"raw/source_bars"}  # same data version
    assert wh.sql(f"SELECT count(*) AS n FROM signals.signals WHERE {eth}")["n"][0] == (
        count + HELD_BACK
    )
    # the retraining policy, made strict, asks for a retraining
    assert plan_refresh(defs, instance) == []
    monkeypatch.setenv("TRADING_RETRAIN_NEW_BARS", str(HELD_BACK))
    (step,) = [s for s in plan_refresh(defs, instance) if s.asset == "ml/models"]
    assert step.reason.startswith(f"retraining policy: {HELD_BACK}")
    monkeypatch.setenv("TRADING_RETRAIN_NEW_BARS", "500")
    monkeypatch.setenv("TRADING_RETRAIN_EVERY_HOURS", "0.0001")
    (step,) = [s for s in plan_refresh(defs, instance) if s.asset == "ml/models"]
    assert "h ago (policy: every 0.0001 h)" in step.reason


def test_signals_cli_prints_the_newest_signals(trained):
    result = CliRunner().invoke(main, ["signals", "--symbol", "BTC/USDT", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["timeframe"] for r in rows} == {"1h", "1d"}
    assert all(r["kind"] == "live" and r["explanation"] for r in rows)
    text = CliRunner().invoke(main, ["signals"])
    assert text.exit_code == 0 and "ETH/USDT 1h" in text.output and "BTC/USDT 1d" in text.output


def test_fresh_check_fails_on_a_stale_home(trained):
    """A new bar ingested and staged, then signals run without live predictions: the
    newest bar has no signal and ``fresh`` fails naming the series; a refresh repairs it."""
    home, instance, defs, _, candles = trained
    last = candles[-1]
    nxt = [last[0] + 3_600_000, last[4], last[4] * 1.001, last[4] * 0.999, last[4], 1.0]
    folder = home.inbox_dir / "stale"
    folder.mkdir(parents=True)
    (folder / "ETH_USDT-1h.json").write_text(json.dumps([last, nxt]))
    stale = materialize(
        defs,
        instance,
        selection='key:"raw/source_bars" or key:"staging/bars"',
        symbols=["ETH/USDT"],
    )
    assert stale.ok, stale.failures
    assert materialize(defs, instance, selection='key:"signals/signals"').ok
    passed, details = _check(instance, "fresh")
    assert not passed and details["behind"] == {"ETH/USDT 1h": 1}
    _, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    passed, details = _check(instance, "fresh")
    assert passed and details["series_behind"] == 0
