"""Proofs of "only stale assets are recomputed", through Dagster on real data.

One project home (local profile, ETH/USDT and BTC/USDT 1h bars from Binance) is built once
for the module: a full materialization from empty, then a refresh that must execute nothing,
the cost ledger of it all, and one new inbox file for one symbol (real 1m bars, fed by
``replay``) that must re-run only that symbol's downstream.
"""

import json

import dagster as dg
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import use_local_profile
from trading_assets import Warehouse
from trading_assets.cli import main
from trading_assets.definitions import build_definitions
from trading_assets.defs.keys import STAGING_BARS
from trading_assets.defs.metadata import NO_SOURCE
from trading_assets.defs.no_source import find_no_source, recorded_no_source
from trading_assets.defs.prices.inbox import inbox_sensor
from trading_assets.home import ProjectHome
from trading_assets.refresh import plan_refresh, refresh
from trading_assets.replay import replay
from trading_assets.runner import QUIET_RUN_CONFIG, dagster_instance, materialize

BINANCE = ("crypto", "binance_spot_2023")

#: what one new file of ETH/USDT 1m bars re-executes on this branch (asset, partition);
#: assets other branches add downstream may join, but only for ETH/USDT or unpartitioned
ETH_UPDATE = {
    ("raw/source_bars", "ETH/USDT"),  # the inbox run itself
    ("staging/bars", "ETH/USDT"),
    ("staging/daily_bars_from_intraday", None),
    ("staging/universal_stream", None),
    ("features/alpha158", "ETH/USDT"),
    ("features/classic", "ETH/USDT"),
    ("features/labels", "ETH/USDT"),
    ("features/regime", "ETH/USDT"),
    ("features/context", "ETH/USDT"),
    ("features/cross_asset", None),
    ("features/sentiment", None),
    ("features/training_table", None),
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory, shared_data_dir_path):
    """A materialized local-profile home: ``(home, instance, defs, full run summary)``."""
    root = tmp_path_factory.mktemp("platform")
    data = root / "data"
    data.mkdir()
    for name in ("ETH_USDT-1h.json", "BTC_USDT-1h.json"):
        (data / name).symlink_to(shared_data_dir_path.joinpath(*BINANCE, name))
    with pytest.MonkeyPatch.context() as mp:
        use_local_profile(mp, root / "home", data)
        home = ProjectHome.from_env()
        instance = dagster_instance(home)
        defs = build_definitions()
        summary = materialize(defs, instance)
        yield home, instance, defs, summary


@pytest.fixture(scope="module")
def shared_data_dir_path():
    from tests.conftest import shared_data_dir

    return shared_data_dir()


def test_full_materialization_from_empty_then_refresh_executes_nothing(platform):
    _, instance, defs, summary = platform
    assert summary.ok, summary.failures
    graph = defs.resolve_asset_graph()
    # every asset ran, except those with no source on this profile (bars only: no ticks,
    # quotes or news), which are recorded instead and never materialized
    absent = {asset for asset, _ in summary.no_source}
    assert {"raw/ticks", "raw/quotes", "raw/quote_bars", "raw/news"} <= absent
    assert "staging/universal_stream" not in absent  # ETH/USDT bars feed it
    assert set(summary.outcomes) | absent == {
        k.to_user_string() for k in graph.materializable_asset_keys
    }
    assert set(summary.outcomes).isdisjoint(absent)
    executed, again = refresh(defs, instance)
    assert executed == [] and again.run_ids == []


def test_every_materialization_is_metered_and_priced(platform):
    home, instance, defs, summary = platform
    for key in summary.outcomes:
        event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
        meta = event.asset_materialization.metadata
        assert {"wall_s", "cpu_s", "peak_rss_mb"} <= set(meta), key
        assert meta["peak_rss_mb"].value > 50 and meta["wall_s"].value > 0, key
    bars = instance.get_latest_materialization_event(dg.AssetKey(["raw", "source_bars"]))
    assert bars.asset_materialization.metadata["rows_written"].value == 719  # 1h bars, 2023

    # ops/cost_metrics again: it prices every metered materialization not yet in the table
    job = defs.resolve_implicit_global_asset_job_def()
    key = dg.AssetKey(["ops", "cost_metrics"])
    result = job.execute_in_process(
        instance=instance, asset_selection=[key], run_config=QUIET_RUN_CONFIG
    )
    (event,) = result.get_asset_materialization_events()
    meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    table = Warehouse().sql("SELECT * FROM ops.cost_metrics")
    partitioned = sum(o.materializations for o in summary.outcomes.values())
    assert table.height == partitioned  # every materialization of the full run, once
    assert meta["rows"] == table.height and meta["rows_updated"] == 0
    assert table.filter(table["cost_usd"] <= 0).is_empty()
    assert meta["cost_total_usd"] == pytest.approx(table["cost_usd"].sum())
    by_key = table.group_by("asset_key").len()
    assert dict(by_key.iter_rows())["raw/source_bars"] == 2  # one per symbol partition
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "daily_budget" and check.passed

    # the same again: only the previous cost_metrics run itself is new
    second = job.execute_in_process(
        instance=instance, asset_selection=[key], run_config=QUIET_RUN_CONFIG
    )
    (event,) = second.get_asset_materialization_events()
    assert event.materialization.metadata["new_materializations"].value == 1
    assert event.materialization.metadata["rows_updated"].value == 0

    # Prometheus text: the file and `trading-assets metrics`
    text = (home.metrics_dir / "cost_metrics.prom").read_text()
    cli = CliRunner().invoke(main, ["metrics"])
    assert cli.exit_code == 0 and cli.output == text
    samples = {
        (s.name, s.labels.get("asset")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("trading_assets_asset_materializations_total", "raw/source_bars")] == 2
    assert samples[("trading_assets_daily_budget_usd", None)] == 1.0


def test_over_budget_fails_the_check_and_near_budget_warns(platform):
    from trading_assets.defs.ops.assets import CostSettingsResource, cost_metrics

    home, instance, defs, _ = platform
    warehouse = defs.resources["warehouse"]
    verdicts = []
    for warn, budget in ((0.0, 1.0), (0.0, 0.0)):
        result = dg.materialize(
            [cost_metrics],
            instance=instance,
            resources={
                "warehouse": warehouse,
                "cost_settings": CostSettingsResource(daily_warn_usd=warn, daily_budget_usd=budget),
            },
            run_config=QUIET_RUN_CONFIG,
        )
        (check,) = result.get_asset_check_evaluations()
        verdicts.append((check.passed, check.severity))
    assert verdicts == [
        (False, dg.AssetCheckSeverity.WARN),
        (False, dg.AssetCheckSeverity.ERROR),
    ]


def test_one_new_inbox_file_reruns_only_that_symbols_downstream(platform, shared_data_dir_path):
    home, instance, defs, _ = platform
    resources = {"price_sources": defs.resources["price_sources"]}

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        result = inbox_sensor(context)
        return result, context.cursor if isinstance(result, dg.SkipReason) else result.cursor

    _, cursor = tick(None)
    # 120 real 1m bars of ETH/USDT, one file (what `trading-assets replay` writes)
    eth_1m = shared_data_dir_path.joinpath(*BINANCE, "ETH_USDT-1m.json")
    replay(eth_1m, home.inbox_dir, speed=1e6, chunk=120, limit=120, sleep=lambda _: None)
    result, cursor = tick(cursor)
    (request,) = result.run_requests  # the sensor fires once, for ETH/USDT only
    assert request.partition_key == "ETH/USDT"
    assert request.asset_selection == [dg.AssetKey(["raw", "source_bars"])]
    assert isinstance(tick(cursor)[0], dg.SkipReason)

    bars = dg.AssetSelection.assets(STAGING_BARS)
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=bars)
    job = defs.resolve_implicit_global_asset_job_def()
    run = job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        asset_selection=request.asset_selection,
        run_config=QUIET_RUN_CONFIG,
    )
    assert run.success
    # declarative automation runs the symbol's staging/bars for its new bars: its raw/ticks,
    # missing because they have no source, do not hold it back (Dagster's eager() would wait)
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=bars, cursor=baseline.cursor
    )
    assert set(after.get_requested_partitions(STAGING_BARS)) == {"ETH/USDT"}
    executed, summary = refresh(defs, instance)
    assert summary.ok, summary.failures
    ran = {("raw/source_bars", "ETH/USDT")} | {(s.asset, s.partition) for s in executed}
    assert ran >= ETH_UPDATE, sorted(ETH_UPDATE - ran)
    graph = defs.resolve_asset_graph()
    below_bars = {
        k.to_user_string()
        for k in dg.AssetSelection.assets(dg.AssetKey(["raw", "source_bars"]))
        .downstream()
        .resolve(graph)
    }
    for asset, partition in ran - ETH_UPDATE:  # assets of other layers, if any
        assert asset in below_bars and partition in ("ETH/USDT", None), (asset, partition)
    assert all(partition != "BTC/USDT" for _, partition in ran)
    assert plan_refresh(defs, instance) == []
    stored = Warehouse().sql(
        "SELECT count(*) AS n FROM raw.bars WHERE symbol = 'ETH/USDT' AND timeframe = '1m'"
    )
    assert stored["n"][0] == 120
    print(json.dumps(sorted(map(list, ran))))


def _no_source_observations(instance, key: dg.AssetKey) -> int:
    records = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=key), limit=100)
    return sum(NO_SOURCE in r.asset_observation.metadata for r in records.records)


def test_a_ticks_file_landing_later_gives_raw_ticks_its_source(platform, shared_data_dir_path):
    home, instance, defs, summary = platform
    ticks = dg.AssetKey(["raw", "ticks"])
    # bars only: no ticks for either symbol, recorded once as an observation, not a run
    assert summary.no_source[("raw/ticks", "ETH/USDT")].startswith("no ticks source for")
    assert recorded_no_source(instance, ticks, "ETH/USDT")
    assert instance.get_latest_materialization_event(ticks) is None
    assert _no_source_observations(instance, ticks) == 2  # one per symbol
    baseline = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=dg.AssetSelection.assets(STAGING_BARS)
    )

    # real ETH/USDT trades land in the inbox; the inbox sensor ingests them
    source = shared_data_dir_path / "crypto" / "ticks" / "ETHUSDT_trades_2023-02-02.csv"
    (home.inbox_dir / "ETHUSDT_trades_2023-02-02.csv").symlink_to(source)
    assert find_no_source(defs, ["ETH/USDT", "BTC/USDT"]).keys().isdisjoint({(ticks, "ETH/USDT")})
    job = defs.resolve_implicit_global_asset_job_def()
    run = job.execute_in_process(
        instance=instance,
        partition_key="ETH/USDT",
        asset_selection=[ticks],
        run_config=QUIET_RUN_CONFIG,
    )
    assert run.success
    event = instance.get_latest_materialization_event(ticks)
    assert event.asset_materialization.partition == "ETH/USDT"
    assert event.asset_materialization.metadata["rows"].value == 1_000
    assert NO_SOURCE not in event.asset_materialization.metadata
    assert recorded_no_source(instance, ticks, "ETH/USDT") is None
    assert recorded_no_source(instance, ticks, "BTC/USDT")
    # automation runs staging/bars of ETH/USDT for its new ticks
    after = dg.evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        asset_selection=dg.AssetSelection.assets(STAGING_BARS),
        cursor=baseline.cursor,
    )
    assert set(after.get_requested_partitions(STAGING_BARS)) == {"ETH/USDT"}
    # so does refresh; BTC/USDT's ticks still have no source: not run, not recorded again
    executed, result = refresh(defs, instance)
    assert result.ok, result.failures
    ran = {(s.asset, s.partition) for s in executed}
    assert ("staging/bars", "ETH/USDT") in ran
    assert not {a for a, p in ran if p == "BTC/USDT"}
    assert _no_source_observations(instance, ticks) == 2
    executed, _ = refresh(defs, instance)
    assert executed == []
