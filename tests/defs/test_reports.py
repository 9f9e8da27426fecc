"""``reports/report`` and ``reports/published`` through Dagster, on a temporary home.

The warehouse holds real bars (and, in the full case, every input built from real data by
``tests.report.fixtures``); publishing goes to local WordPress and Discord servers."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest

from tests.news.conftest import guard_loopback
from tests.publish.servers import FakeDiscord, FakeWordPress, rate_limited, unavailable
from tests.report import fixtures
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.prices.staging import STAGING_BARS, staging_bars
from trading_assets.defs.reports import (
    PUBLISHED_KEY,
    REPORT_KEY,
    alert_on_run_failure,
    publish_on_report,
    published,
    report_asset_for,
)
from trading_assets.defs.reports.resources import DiscordResource, ReportSettings, WordPressResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import ProjectHome
from trading_assets.warehouse.connection import connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    guard_loopback(monkeypatch)


@pytest.fixture
def project(home: Path) -> ProjectHome:
    return ProjectHome(home).ensure()


def resources(project: ProjectHome, wp=None, dc=None, mlflow: MlflowResource | None = None) -> dict:
    """Resources on ``project``; MLflow logging only when a store is given (it costs seconds)."""
    return {
        "warehouse": WarehouseResource(path=str(project.warehouse_path)),
        "report_settings": ReportSettings(
            reports_dir=str(project.reports_dir), log_to_mlflow=mlflow is not None
        ),
        "mlflow": mlflow or MlflowResource.for_home(project),
        "wordpress": WordPressResource(
            url=wp.url, user=wp.user, app_password=wp.app_password, attempts=4
        )
        if wp
        else WordPressResource(),
        "discord": DiscordResource(webhook_url=dc.webhook_url, attempts=4)
        if dc
        else DiscordResource(),
    }


REPORT = report_asset_for([staging_bars])


def _meta(result, key):
    (mat,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == key
    ]
    return mat, {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


def test_report_with_only_bars_says_what_is_missing(project, shared_data):
    with connect(project.warehouse_path) as con:
        fixtures.replace_scope(con, "staging.bars", fixtures.real_bars(shared_data), {})
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=STAGING_BARS,
                check_name="outlier_jumps",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
            )
        )
        result = dg.materialize(
            [REPORT, published], instance=instance, resources=resources(project)
        )
        assert result.success
        mat, meta = _meta(result, REPORT_KEY)
        assert REPORT.asset_deps[REPORT_KEY] == {STAGING_BARS}
        assert meta["sections_present"] == ["quality"]
        assert meta["summary"]["failed_checks"] == 1
        assert set(meta["sections_missing"]) == {
            "equity",
            "predictions",
            "signals",
            "sentiment",
            "leaderboard",
            "costs",
            "trading",
        }
        assert "No predictions yet: the models have not been trained." in meta["notes"]
        assert "No orders yet: trading/orders has not run (it needs signals)." in meta["notes"]
        assert "No registered models in MLflow" in meta["notes"]
        html = Path(meta["path"]).read_text()
        assert "No predictions yet: the models have not been trained." in html
        assert "The demo profile has no news" in html
        assert "<td>staging/bars</td><td>outlier_jumps</td><td>warning</td>" in html
        assert meta["url"] == Path(meta["path"]).resolve().as_uri()
        assert (project.reports_dir / "latest.html").read_text() == html
        _, pub = _meta(result, PUBLISHED_KEY)
        assert "publishing is off" in pub["status"]["publishing"]

        again = dg.materialize([REPORT], instance=instance, resources=resources(project))
        mat2, meta2 = _meta(again, REPORT_KEY)
        assert mat2.tags["dagster/data_version"] == mat.tags["dagster/data_version"]
        assert meta2["changed"] is False


@pytest.fixture(scope="session")
def mlflow_with_champion(tmp_path_factory) -> MlflowResource:
    """An MLflow store with one registered model whose ``champion`` alias points at a run
    with validation metrics (created once: the store costs seconds)."""
    root = tmp_path_factory.mktemp("mlflow")
    store = MlflowResource(
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_location=str(root / "art")
    )
    client = store.client()
    run = client.create_run(store.experiment_id("models"))
    figures = {"val_ic": 0.031, "val_rmse": 0.0123, "val_hit_rate": 0.52, "test_ic": -0.0042}
    for name, value in figures.items():
        client.log_metric(run.info.run_id, name, value)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("fwd_ret_1-1h-lightgbm")
    version = client.create_model_version(
        "fwd_ret_1-1h-lightgbm", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias("fwd_ret_1-1h-lightgbm", "champion", version.version)
    return store


def test_full_report_published_once_after_two_runs(
    project, shared_data, caplog, mlflow_with_champion
):
    caplog.set_level(logging.DEBUG)
    with connect(project.warehouse_path) as con:
        fixtures.write_inputs(con, shared_data)
    with FakeWordPress() as wp, FakeDiscord() as dc, dg.instance_for_test() as instance:
        res = resources(project, wp, dc, mlflow_with_champion)
        wp.fail_next = [rate_limited(0.01), unavailable()]
        dc.fail_next = [unavailable()]
        first = dg.materialize([REPORT, published], instance=instance, resources=res)
        assert first.success
        _, report_meta = _meta(first, REPORT_KEY)
        assert report_meta["sections_missing"] == []
        assert report_meta["charts"] == 6  # 2 equity, 2 predictions, sentiment, cost
        client = mlflow_with_champion.client()
        logged = client.get_run(report_meta["mlflow_run_id"])
        assert logged.data.tags["content_hash"] == report_meta["content_hash"]
        assert [a.path for a in client.list_artifacts(logged.info.run_id)] == [
            Path(report_meta["path"]).name
        ]
        html = Path(report_meta["path"]).read_text()
        assert "fwd_ret_1-1h-lightgbm" in html and "val_ic=0.031" in html
        # the test window's figures in their own column, said never to have chosen anything
        assert "test_ic=-0.0042" in html and "val_ic=0.031, test" not in html
        assert "test metrics (held out, never used for selection)" in html
        _, pub = _meta(first, PUBLISHED_KEY)
        assert pub["status"]["wordpress"] == "created post 101"
        assert pub["status"]["discord"].startswith("created message")

        # the same report again: nothing is published twice
        second = dg.materialize([REPORT, published], instance=instance, resources=res)
        _, report2 = _meta(second, REPORT_KEY)
        assert report2["changed"] is False
        assert report2["mlflow_run_id"] == "not logged (unchanged)"
        _, pub2 = _meta(second, PUBLISHED_KEY)
        assert pub2["status"]["wordpress"].startswith("unchanged")
        assert pub2["published_now"] == 0

        # a changed report (new bars): the same post and message are updated in place
        with connect(project.warehouse_path) as con:
            con.execute(
                "DELETE FROM signals.signals WHERE ts = (SELECT max(ts) FROM signals.signals)"
            )
        third = dg.materialize([REPORT, published], instance=instance, resources=res)
        _, pub3 = _meta(third, PUBLISHED_KEY)
        assert pub3["status"]["wordpress"] == "updated post 101"
        assert pub3["status"]["discord"].startswith("updated message")

        assert len(wp.posts) == 1 and len(dc.messages) == 1
        (post,) = wp.posts.values()
        assert post["slug"].startswith("trading-report-") and "<svg" in post["content"]
        (message,) = dc.messages.values()
        assert message["embeds"][0]["url"] == f"{wp.url}/{post['slug']}/"
        logs = "\n".join(r.getMessage() for r in caplog.records)
        assert wp.app_password not in logs and dc.token not in logs


def test_publish_sensor_requests_one_run_per_report_version(project):
    with dg.instance_for_test() as instance, FakeDiscord() as dc:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(REPORT_KEY, tags={"dagster/data_version": "sha256:abc"})
        )

        def tick(res: dict):
            repo = dg.Definitions(
                assets=[REPORT, published], sensors=[publish_on_report], resources=res
            ).get_repository_def()
            ctx = dg.build_sensor_context(instance=instance, repository_def=repo, resources=res)
            return publish_on_report.evaluate_tick(ctx)

        off = tick(resources(project))
        assert not off.run_requests and "publishing is off" in off.skip_message
        on = tick(resources(project, dc=dc))
        assert [r.run_key for r in on.run_requests] == ["report-sha256:abc"]
        assert on.run_requests[0].asset_selection in (None, [PUBLISHED_KEY])


def test_run_failure_sensor_logs_and_alerts_discord(project, caplog):
    @dg.asset
    def broken() -> None:
        raise ValueError("bad input in /data/x.csv, row 3")

    with dg.instance_for_test() as instance, FakeDiscord() as dc:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        ctx = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            resources={"discord": DiscordResource(webhook_url=dc.webhook_url)},
        ).for_run_failure()
        caplog.set_level(logging.INFO)
        alert_on_run_failure(ctx)
        (message,) = dc.messages.values()
        embed = message["embeds"][0]
        assert embed["title"].startswith("Run failed: __ephemeral_asset_job__")
        assert result.run_id in embed["description"] and "broken" in embed["description"]
        assert dc.token not in "\n".join(r.getMessage() for r in caplog.records)


def test_demo_ingestion_then_report_through_the_definitions(home, monkeypatch):
    """The real code location on the demo profile: ingest, then the report says what is
    missing; publishing stays off without its environment variables."""
    from trading_assets.definitions import build_definitions
    from trading_assets.runner import dagster_instance, materialize

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # restored after the test
    for name in ("WORDPRESS_URL", "WORDPRESS_USER", "WORDPRESS_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DISCORD_WEBHOOK_URL", raising=False)
    project = ProjectHome.from_env()
    instance = dagster_instance(project)
    defs = build_definitions()
    summary = materialize(
        defs,
        instance,
        selection='key:"raw/source_bars" or key:"staging/bars" or key:"reports/report" '
        'or key:"reports/published"',
    )
    assert summary.ok, summary.failures
    assert summary.outcomes["reports/report"].materializations == 1
    event = instance.get_latest_materialization_event(REPORT_KEY)
    meta = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    assert meta["sections_present"] == ["quality"]
    assert meta["summary"]["symbols"] == 2 and meta["summary"]["failed_checks"] == 0
    html = (project.reports_dir / "latest.html").read_text()
    assert "^GSPC" in html and "2018-12-31 00:00" in html
    assert "<td>staging/bars</td><td>ohlc_consistent</td><td>passed</td>" in html
    assert "No predictions yet: the models have not been trained." in html
    published_event = instance.get_latest_materialization_event(PUBLISHED_KEY)
    status = published_event.asset_materialization.metadata["status"].value
    assert status["publishing"].startswith("publishing is off")
    graph = defs.resolve_asset_graph()
    assert {"staging/bars", "raw/news", "features/labels"} <= {
        k.to_user_string() for k in graph.get(REPORT_KEY).parent_keys
    }


def test_a_failing_publisher_does_not_lose_the_other(project, shared_data):
    with connect(project.warehouse_path) as con:
        fixtures.replace_scope(con, "staging.bars", fixtures.real_bars(shared_data), {})
    with FakeWordPress() as wp, FakeDiscord() as dc, dg.instance_for_test() as instance:
        res = resources(project, wp, dc)
        res["wordpress"] = WordPressResource(
            url=wp.url, user=wp.user, app_password=wp.app_password, attempts=2
        )
        wp.fail_next = [unavailable(), unavailable()]
        failed = dg.materialize(
            [REPORT, published], instance=instance, resources=res, raise_on_error=False
        )
        assert not failed.success
        (failure,) = [e for e in failed.all_events if e.is_step_failure]
        assert "wordpress: find post trading-report-" in str(failure.step_failure_data.error)
        assert wp.app_password not in str(failure.step_failure_data.error)
        assert len(dc.messages) == 1 and not wp.posts  # Discord went out and is recorded

        retried = dg.materialize([published], instance=instance, resources=res)
        _, pub = _meta(retried, PUBLISHED_KEY)
        assert pub["status"]["wordpress"] == "created post 101"
        assert pub["status"]["discord"].startswith("unchanged")
        assert len(wp.posts) == 1 and len(dc.messages) == 1


def test_report_depends_on_the_producers_of_its_tables():
    @dg.asset(key=["signals", "signals"])
    def signals_asset() -> None: ...

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(["trade", "equity"], metadata={"table": "signals.backtest_equity"}),
            dg.AssetSpec(["trade", "other"], metadata={"table": "signals.elsewhere"}),
        ]
    )
    def backtest_assets(): ...

    report = report_asset_for([staging_bars, signals_asset, backtest_assets])
    assert report.asset_deps[REPORT_KEY] == {
        STAGING_BARS,
        dg.AssetKey(["signals", "signals"]),
        dg.AssetKey(["trade", "equity"]),
    }
