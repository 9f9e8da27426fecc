"""End to end on the demo profile: materialize everything, twice, through the CLI's runner."""

from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from tests.signal_freshness import assert_newest_signal_on_newest_bar
from trading_assets import Warehouse
from trading_assets.cli import main
from trading_assets.definitions import build_definitions
from trading_assets.home import ProjectHome
from trading_assets.refresh import refresh
from trading_assets.runner import dagster_instance, materialize


@pytest.fixture
def demo_home(home: Path, monkeypatch) -> ProjectHome:
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # restored after the test
    return ProjectHome.from_env()


def test_demo_run_is_idempotent_and_readable(demo_home: ProjectHome):
    instance = dagster_instance(demo_home)
    defs = build_definitions()

    first = materialize(defs, instance)
    assert first.ok, first.failures
    bars = first.outcomes["raw/source_bars"]
    assert bars.materializations == 2 and bars.rows == 2 * 5031
    assert set(bars.data_versions) == {"^GSPC", "^IXIC"}
    assert first.outcomes["staging/bars"].rows == 2 * 5031
    assert not any(o.failed_checks for o in first.outcomes.values())

    second = materialize(defs, instance)
    assert second.ok, second.failures
    for key, outcome in second.outcomes.items():
        if key in ("ops/cost_metrics", "reports/report"):
            continue  # the cost ledger records every run, this one too, and the report shows it
        assert outcome.rows_written == 0, key
        assert outcome.data_versions == first.outcomes[key].data_versions, key

    # what has no source on the demo (ticks, quotes, news, the sentiment corpus) is left out
    # of both runs and recorded once, as an observation; a refresh then has nothing to do
    assert first.no_source == second.no_source
    why = first.no_source[("raw/ticks", "^GSPC")]
    assert why == "no ticks source for ^GSPC on the demo profile"
    assert {"raw/ticks", "raw/news", "ml/sentiment_model"}.isdisjoint(first.outcomes)
    observations = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", "ticks"])), limit=10
    ).records
    assert sorted(r.partition_key for r in observations) == ["^GSPC", "^IXIC"]
    executed, third = refresh(defs, instance)
    assert executed == [] and third.run_ids == []

    # the main job ends in signals, backtests and a report that renders in headless Chromium
    from tests.browser import assert_renders_offline, launch_chromium

    assert first.outcomes["ml/predictions"].rows > 0
    assert first.outcomes["signals/signals"].rows > 0
    for browser in launch_chromium():
        seen = assert_renders_offline(browser, demo_home.reports_dir / "latest.html")
        text = seen["page"].locator("main").inner_text()
        assert "^GSPC" in text and "consensus" in text
        assert "No news" in text  # the demo has no news, and the report says so
        assert seen["page"].locator("[data-chart] svg").count() >= 2

    wh = Warehouse()
    assert wh.symbols() == ["^GSPC", "^IXIC"]
    # the newest bar of every series gets a signal from the champions' live predictions
    assert assert_newest_signal_on_newest_bar(wh, ("1d",)) == 2
    spx = wh.bars("^GSPC", "1d", start="2018-12-01", end="2019-01-01")
    # 19 sessions: closed on the 5th (state funeral) and the 25th
    assert spx.height == 19 and spx["close"][-1] == pytest.approx(2506.850098)
    assert str(spx.schema["ts"]) == "Datetime(time_unit='us', time_zone='UTC')"


def test_cli_run_prints_summary_and_where_results_are(demo_home: ProjectHome):
    result = CliRunner().invoke(
        main, ["run", "--select", 'key:"raw/source_bars"', "--symbol", "^GSPC"]
    )
    assert result.exit_code == 0, result.output
    assert "raw/source_bars" in result.output
    assert str(demo_home.warehouse_path) in result.output
    assert Warehouse().sql("SELECT count(*) AS n FROM raw.bars")["n"][0] == 5031


def test_definitions_load_with_every_profile(home: Path, monkeypatch, shared_data: Path):
    for profile, extra in (
        ("demo", {}),
        ("local", {"TRADING_DATA_DIR": str(shared_data)}),
        ("live", {}),
    ):
        monkeypatch.setenv("TRADING_PROFILE", profile)
        for k, v in extra.items():
            monkeypatch.setenv(k, v)
        defs = build_definitions()
        keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert {"raw/source_bars", "raw/ticks", "staging/bars", "staging/universal_stream"} <= keys


def test_bad_profile_is_a_clear_error(home: Path, monkeypatch):
    monkeypatch.setenv("TRADING_PROFILE", "paper")
    from trading_assets.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="TRADING_PROFILE='paper'"):
        build_definitions()
