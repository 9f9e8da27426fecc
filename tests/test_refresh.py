"""`trading-assets refresh`: only stale and missing assets run, and the reasons are right."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from trading_assets.cli import main
from trading_assets.definitions import build_definitions
from trading_assets.defs.quiet_state import fingerprint
from trading_assets.defs.quiet_state import still_quiet as _still_quiet
from trading_assets.home import ProjectHome
from trading_assets.refresh import plan_refresh, refresh
from trading_assets.runner import dagster_instance, materialize


def still_quiet(defs, instance) -> bool:
    return _still_quiet(instance, fingerprint(defs, instance))


@pytest.fixture
def two_symbols(home: Path, monkeypatch, shared_data: Path) -> Path:
    """A local data folder with ETH/USDT and BTC/USDT 1h bars (links to the real files)."""
    data = home.parent / "data"
    data.mkdir()
    real = shared_data / "crypto" / "binance_spot_2023"
    for name in ("ETH_USDT-1h.json", "BTC_USDT-1h.json"):
        (data / name).symlink_to(real / name)
    monkeypatch.setenv("TRADING_PROFILE", "local")
    monkeypatch.setenv("TRADING_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return data


def test_refresh_runs_missing_then_nothing_then_only_the_changed_symbol(
    two_symbols: Path, shared_data: Path
):
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()

    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert {s.reason for s in executed} == {"missing"}
    assert {"raw/source_bars", "staging/bars", "staging/universal_stream"} <= {
        s.asset for s in executed
    }

    # straight after: nothing is stale
    assert plan_refresh(defs, instance) == []

    # new minute bars for ETH only, ingested: ETH's downstream is stale, BTC's is not
    (two_symbols / "ETH_USDT-1m.json").symlink_to(
        shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1m.json"
    )
    ingest = materialize(defs, instance, selection='key:"raw/source_bars"', symbols=["ETH/USDT"])
    assert ingest.ok
    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert executed, "the new ETH bars must make something stale"
    assert {s.partition for s in executed} <= {"ETH/USDT", None}
    by_asset = {(s.asset, s.partition): s.reason for s in executed}
    assert by_asset[("staging/bars", "ETH/USDT")] == "new upstream data"
    assert by_asset[("staging/universal_stream", None)] == "new upstream data"
    assert plan_refresh(defs, instance) == []

    # a refresh that ran everything stale, or found nothing stale, remembers it; the next one
    # answers from that until anything changes: a new materialization, or new definitions
    assert still_quiet(defs, instance)
    assert refresh(defs, instance)[0] == [] and still_quiet(defs, instance)
    assert refresh(defs, instance)[0] == []
    assert materialize(defs, instance, selection='key:"raw/source_bars"', symbols=["BTC/USDT"]).ok
    assert not still_quiet(defs, instance)  # re-checked: same data, nothing stale again
    assert refresh(defs, instance)[0] == [] and still_quiet(defs, instance)


def test_new_file_on_a_quiet_home_plans_only_its_ingestion_and_leaves_nothing_stale(
    two_symbols: Path, shared_data: Path, monkeypatch
):
    import trading_assets.refresh as refresh_module

    held_paths: list[str] = []

    def spy_held(path):
        held_paths.append(str(path))
        return real_held(path)

    real_held = refresh_module.held
    monkeypatch.setattr(refresh_module, "held", spy_held)
    home = ProjectHome.from_env()
    instance = dagster_instance(home)
    defs = build_definitions()
    first = refresh(defs, instance)
    assert first[1].ok
    assert held_paths == []  # a first refresh may run long: it holds no lock across a run
    assert set(_served_by(instance, first[1].run_ids).values()) == {"this process"}
    assert still_quiet(defs, instance)  # the refresh ran everything stale: remembered

    def no_full_plan(*args, **kwargs):
        raise AssertionError("a quiet home with only a new file needs no full stale resolution")

    (two_symbols / "ETH_USDT-1m.json").symlink_to(
        shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1m.json"
    )
    with monkeypatch.context() as patch:
        patch.setattr(refresh_module, "plan_refresh", no_full_plan)
        executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    by_asset = {(s.asset, s.partition): s.reason for s in executed}
    assert by_asset[("raw/source_bars", "ETH/USDT")] == "new source data"
    assert by_asset[("staging/bars", "ETH/USDT")] == "new upstream data"
    assert by_asset[("staging/universal_stream", None)] == "new upstream data"
    assert {p for _, p in by_asset} <= {"ETH/USDT", None}
    # the new bar's run (its ingestion and what lies below, one run) held the warehouse open,
    # in the block the checks before the plan opened (the run's own block is nested in it)
    assert held_paths == [str(home.warehouse_path)] * 2
    (lane, *_) = [instance.get_run_by_id(r) for r in summary.run_ids]
    assert {"raw__source_bars", "staging__bars", "ml__live_predictions"} <= set(
        instance.get_execution_plan_snapshot(lane.execution_plan_snapshot_id).step_keys_to_execute
    )
    # and its live predictions came from the process warmed during the features
    assert ("ml/live_predictions", None) in by_asset
    # its live predictions came from the process warmed during the features; a run
    # that retrained (the 1m file brings enough new rows for the policy) served in process
    served_by = _served_by(instance, summary.run_ids)
    assert "warm process" in served_by.values()
    assert all(
        (how == "warm process") == ("ml/models" not in assets) for assets, how in served_by.items()
    )
    # what it remembered as quiet is what the full resolution says
    assert still_quiet(defs, instance)
    assert plan_refresh(defs, instance) == []

    # a failed step is not remembered as quiet: the next refresh resolves everything again
    import trading_assets.defs.prices.staging as staging

    def broken(*args, **kwargs):
        raise RuntimeError("resampling failed")

    (two_symbols / "ETH_USDT-5m.json").symlink_to(
        shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-5m.json"
    )
    with monkeypatch.context() as patch:
        patch.setattr(staging.resample, "build_staging_bars", broken)
        executed, summary = refresh(defs, instance)
    assert not summary.ok and "resampling failed" in " ".join(summary.failures)
    assert not still_quiet(defs, instance)
    assert ("staging/bars", "ETH/USDT") in {
        (s.asset, s.partition) for s in plan_refresh(defs, instance)
    }


def _served_by(instance, run_ids: list[str]) -> dict[tuple[str, ...], str]:
    """Where each of the runs that predicted live computed its predictions (the
    ``served_by`` metadata), keyed by the assets the run materialized."""
    out = {}
    for run_id in run_ids:
        mats = [
            e.asset_materialization
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        ]
        live = [m for m in mats if m.asset_key == dg.AssetKey(["ml", "live_predictions"])]
        if live:
            assets = tuple(sorted(m.asset_key.to_user_string() for m in mats))
            out[assets] = live[0].metadata["served_by"].value
    return out


def test_refresh_cli_json_lists_what_ran(two_symbols: Path):
    result = CliRunner().invoke(main, ["refresh", "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    assert report["failures"] == []
    assert {"asset": "raw/source_bars", "partition": "ETH/USDT", "reason": "missing"} in report[
        "executed"
    ]
    again = json.loads(CliRunner().invoke(main, ["refresh", "--json"]).stdout)
    assert again["executed"] == []


def test_editing_one_sql_model_reruns_only_it_and_its_descendants(
    home: Path, monkeypatch, tmp_path: Path
):
    from trading_assets.home import ProjectHome as Home
    from trading_assets.sql_models import default_sql_dir

    sql_dir = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql_dir)
    monkeypatch.setenv("TRADING_SQL_DIR", str(sql_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    instance = dagster_instance(Home.from_env())
    defs = build_definitions()
    _, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert plan_refresh(defs, instance) == []

    # a text-only edit: the model re-runs (new code version) but its data version is
    # unchanged, so nothing below it is stale and nothing else runs
    model = sql_dir / "features" / "training_table.sql"
    model.write_text(model.read_text() + "\n-- edited: same query, new text\n")
    defs = build_definitions()  # the code location reloads after an edit
    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert [(s.asset, s.reason) for s in executed] == [
        ("features/training_table", "new code version")
    ]

    # an edit that changes the output: exactly the model and its descendants run
    model = sql_dir / "reports" / "signal_performance.sql"
    sql = model.read_text()
    assert "count(*) AS signals," in sql
    model.write_text(sql.replace("count(*) AS signals,", "count(*) AS signals, 1 AS edition,"))
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey(["reports", "signal_performance"])
    downstream = dg.AssetSelection.assets(key).downstream().resolve(graph)  # key included
    expected = {k.to_user_string() for k in downstream}

    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    assert {s.asset for s in executed} == expected
    assert {s.reason for s in executed if s.asset == "reports/signal_performance"} == {
        "new code version"
    }
