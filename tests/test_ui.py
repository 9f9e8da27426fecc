"""The Dagster and MLflow UIs on a finished demo home, as a new user opens them: `dagster dev`
(the README's `trading-assets ui` command) and `mlflow ui` on 127.0.0.1, read over GraphQL,
through `MlflowClient` and in headless Chromium. What they show must be true: nothing green
that did nothing, champions that mean something, lineage grouped by stage, checks with
figures."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser import launch_chromium
from tests.processes import free_port, running_server

STAGES = {"prices", "news", "features", "ml", "signals", "trading", "reports", "ops"}
BASELINES = ("zero", "last", "moving_average")
#: an HTML-like tag, which Markdown rendering would swallow (`<target>`)
TAG = re.compile(r"<[A-Za-z/][^<>]*>")
NUMERIC = ("IntMetadataEntry", "FloatMetadataEntry")

SENSORS_QUERY = """
{
  workspaceOrError { ... on Workspace { locationEntries { name } } }
  assetNodes { assetKey { path } }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { sensors { name sensorState { status } } } }
  }
}
"""

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path } groupName description isPartitioned
    assetMaterializations(limit: 10) {
      partition
      metadataEntries { label __typename
        ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } }
    }
    assetObservations(limit: 10) {
      partition description
      metadataEntries { label ... on TextMetadataEntry { text } }
    }
    assetChecksOrError { ... on AssetChecks { checks { name description
      executionForLatestMaterialization { evaluation { success description
        metadataEntries { label __typename
          ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue }
          ... on TextMetadataEntry { text } ... on BoolMetadataEntry { boolValue } } } }
    } } }
  }
}
"""


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    """A project home after the README's main command on the `demo` profile (every asset
    materialized in-process), with no network source switched on."""
    from trading_assets.definitions import build_definitions
    from trading_assets.runner import dagster_instance, materialize

    path = tmp_path_factory.mktemp("ui") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRADING_ASSETS_HOME", str(path))
        mp.setenv("DAGSTER_HOME", str(path / "dagster"))
        for name in ("TRADING_PROFILE", "TRADING_DATA_DIR", "TRADING_NEWS_FEEDS",
                     "TRADING_SENTIMENT_CORPUS", "TRADING_SYMBOL_MAP", "ALPACA_API_KEY",
                     "ALPACA_SECRET_KEY", "ALPACA_DATA_URL"):  # fmt: skip
            mp.delenv(name, raising=False)
        from trading_assets.home import ProjectHome

        summary = materialize(build_definitions(), dagster_instance(ProjectHome.from_env()))
        assert summary.ok, summary.failures
        yield path


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "ALPACA_"))}
    return {**env, "TRADING_ASSETS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}


@pytest.fixture(scope="module")
def dagster_dev(demo_home: Path):
    """`trading-assets ui`'s command (the `trading_assets` code location) on the demo home."""
    from trading_assets.cli import dagster_dev_command

    port = free_port()
    cmd = ["env", "--default-signal=INT,TERM,HUP",
           *dagster_dev_command(demo_home / "dagster", port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running_server(cmd, _env(demo_home), f"{url}/server_info", "dagster dev"):
        yield url


@pytest.fixture(scope="module")
def mlflow_ui(demo_home: Path):
    """The README's `mlflow ui` on the demo home's store."""
    port = free_port()
    cmd = [
        "env", "--default-signal=INT,TERM,HUP", sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", f"sqlite:///{demo_home / 'mlflow.db'}",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running_server(cmd, _env(demo_home), f"{url}/health", "mlflow ui"):
        yield url


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


def _graphql(url: str, query: str, ready: str) -> dict:
    """``query``'s data once the code location answers with ``ready`` in it."""
    data: dict = {}
    for _ in range(90):  # the code location may still be loading
        body = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
        data = body.get("data") or {}
        if data.get(ready):
            return data
        time.sleep(1)
    pytest.fail(f"no {ready} from {url}/graphql: {body}")


def _meta(entries: list[dict]) -> dict[str, dict]:
    return {e["label"]: e for e in entries}


def test_dagster_dev_serves_the_asset_graph_and_running_sensors(dagster_dev: str):
    data = _graphql(dagster_dev, SENSORS_QUERY, "assetNodes")
    assert [e["name"] for e in data["workspaceOrError"]["locationEntries"]] == ["trading_assets"]
    keys = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
    assert {"raw/source_bars", "raw/ticks", "staging/bars", "staging/universal_stream"} <= keys
    assert {"ml/models", "ml/predictions", "signals/signals", "signals/backtest"} <= keys
    assert {"reports/report", "reports/published", "ops/cost_metrics"} <= keys
    assert {"trading/orders", "trading/positions", "trading/costs"} <= keys
    (repo,) = data["repositoriesOrError"]["nodes"]
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors["automation"] == "RUNNING"
    assert sensors["symbol_discovery"] == "RUNNING"
    assert sensors["inbox"] == "RUNNING"
    assert sensors["publish_on_report"] == "RUNNING"
    assert sensors["alert_on_run_failure"] == "RUNNING"
    assert sensors["alert_on_failed_reconciliation"] == "RUNNING"


@pytest.fixture(scope="module")
def asset_nodes(dagster_dev: str) -> dict[str, dict]:
    nodes = _graphql(dagster_dev, ASSETS_QUERY, "assetNodes")["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}


#: assets that may do their work on `demo` and hold 0 rows, each with the reason
LEGITIMATELY_EMPTY = {
    "features/context": "the last closed 1h/1d bar joined onto finer bars: the demo's symbols "
    "have daily bars only",
    "staging/daily_bars_from_intraday": "daily bars resampled from intraday ones: the demo "
    "has none",
    "ops/source_files": "the files of the data folder and the inbox no symbol owns: the demo "
    "reads no files",
    "trading/costs": "the costs of paper-trading fills: paper trading is off by default",
    "reports/published": "where the report was published: no publishing target is configured",
}
#: (asset, partition) with no source on `demo`: daily index bars only, no ticks, quotes,
#: ETH/BTC series, news or labelled sentiment corpus
NO_SOURCE_ON_DEMO = {
    *{(f"raw/{kind}", symbol) for kind in ("ticks", "quotes", "quote_bars")
      for symbol in ("^GSPC", "^IXIC")},
    ("staging/universal_stream", None),
    ("raw/news", None),
    ("ml/sentiment_model", None),
    ("ml/sentiment_scores", None),
    ("features/sentiment_agg", None),
    ("features/news_daily", None),
}  # fmt: skip


def test_nothing_reads_as_work_done_that_was_not(asset_nodes):
    # no materialization holds 0 rows, except of the few assets that can be empty
    empty = {
        key
        for key, node in asset_nodes.items()
        for mat in node["assetMaterializations"]
        if _meta(mat["metadataEntries"]).get("rows", {}).get("intValue") == 0
    }
    assert empty <= set(LEGITIMATELY_EMPTY), sorted(empty - set(LEGITIMATELY_EMPTY))
    # what has no source on the profile was never materialized (Dagster shows it grey, not
    # green); a "no source" observation says why
    observed = {
        (key, obs["partition"]): obs
        for key, node in asset_nodes.items()
        for obs in node["assetObservations"]
        if "no_source" in _meta(obs["metadataEntries"])
    }
    assert set(observed) == NO_SOURCE_ON_DEMO
    materialized = {
        (key, mat["partition"])
        for key, node in asset_nodes.items()
        for mat in node["assetMaterializations"]
    }
    assert materialized.isdisjoint(NO_SOURCE_ON_DEMO)
    for key in ("raw/ticks", "raw/news", "ml/sentiment_model", "staging/universal_stream"):
        assert asset_nodes[key]["assetMaterializations"] == [], key
    why = _meta(observed[("raw/ticks", "^GSPC")]["metadataEntries"])["no_source"]["text"]
    assert why == "no ticks source for ^GSPC on the demo profile"
    assert observed[("raw/ticks", "^GSPC")]["description"] == f"No source: {why}."
    why = _meta(observed[("ml/sentiment_model", None)]["metadataEntries"])["no_source"]["text"]
    assert why.startswith("not trained: no labelled corpus")
    # their checks never ran: none shows as passed
    checks = _checks(asset_nodes)
    assert not [k for k in checks if (k[0], None) in NO_SOURCE_ON_DEMO]
    assert ("raw/ticks", "sources_loaded") not in checks
    evaluation, _ = checks[("raw/source_bars", "sources_loaded")]
    assert evaluation["success"] is True
    # a check of an asset left empty says so rather than pass
    evaluation, meta = checks[("features/context", "missing_share")]
    assert evaluation["success"] is False and "no_source" in meta
    assert evaluation["description"].startswith("No source")


def _checks(asset_nodes: dict) -> dict[tuple[str, str], tuple[dict, dict]]:
    """(asset, check) -> (latest evaluation, its metadata by label)."""
    out = {}
    for key, node in asset_nodes.items():
        for check in (node["assetChecksOrError"] or {}).get("checks", []):
            execution = check["executionForLatestMaterialization"]
            if execution and execution["evaluation"]:
                evaluation = execution["evaluation"]
                out[(key, check["name"])] = (evaluation, _meta(evaluation["metadataEntries"]))
    return out


def test_freshness_on_historical_data_is_stated_not_passed(asset_nodes):
    evaluation, meta = _checks(asset_nodes)[("staging/bars", "fresh")]
    assert evaluation["success"] is False and meta["historical"]["boolValue"] is True
    assert evaluation["description"].startswith("Historical data: the newest bar of ^")
    assert "2018-12-31" in evaluation["description"]
    assert meta["lag_hours"]["__typename"] == "FloatMetadataEntry"
    assert meta["lag_hours"]["floatValue"] > 24 * 365 * 7  # the demo ends in 2018
    assert meta["partition"]["text"] in ("^GSPC", "^IXIC")


def test_checks_carry_figures_and_partitioned_checks_name_their_partition(asset_nodes):
    checks = _checks(asset_nodes)
    assert len(checks) >= 30
    without_numbers = [
        k for k, (_, meta) in checks.items()
        if not any(e["__typename"] in NUMERIC for e in meta.values())
    ]  # fmt: skip
    assert without_numbers == []
    for (key, name), (_, meta) in checks.items():
        if asset_nodes[key]["isPartitioned"]:
            assert meta.get("partition", {}).get("text") in ("^GSPC", "^IXIC"), (key, name)


def test_lineage_is_grouped_by_stage_and_descriptions_render(asset_nodes):
    assert {n["groupName"] for n in asset_nodes.values()} == STAGES
    # the graph labels a node with the last part of its key alone: no two may share it
    labels = [key.rsplit("/", 1)[1] for key in asset_nodes]
    assert len(labels) == len(set(labels)), sorted(labels)
    # a SQL model joins the group of the schema it writes
    assert asset_nodes["staging/daily_bars_from_intraday"]["groupName"] == "prices"
    assert asset_nodes["features/training_table"]["groupName"] == "features"
    assert asset_nodes["reports/signal_performance"]["groupName"] == "reports"
    for key, node in asset_nodes.items():
        assert not TAG.search(node["description"] or ""), key
        for check in (node["assetChecksOrError"] or {}).get("checks", []):
            assert not TAG.search(check["description"] or ""), (key, check["name"])
    assert "`champion`" in asset_nodes["ml/models"]["description"]


def test_mlflow_champions_mean_something(demo_home: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{demo_home / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    models = client.search_registered_models()
    names = {m.name for m in models}
    # the demo trains the families on daily bars; baselines are never registered
    assert {f"fwd_ret_1-1d-{f}" for f in ("lightgbm", "svm", "mlp", "arima")} <= names
    assert not [n for n in names if n.endswith(tuple(f"-{b}" for b in BASELINES))]
    experiment = client.get_experiment_by_name("trading-models")
    baseline_runs = client.search_runs([experiment.experiment_id], "tags.role = 'baseline'")
    assert {r.data.tags["family"] for r in baseline_runs} == set(BASELINES)
    # exactly one `best` per (target, timeframe), on that model's champion version
    pairs: dict[tuple[str, str], list[str]] = {}
    for model in models:
        target, timeframe, _ = model.name.split("-", 2)
        pairs.setdefault((target, timeframe), [])
        assert "champion" in model.aliases, model.name
        if "best" in model.aliases:
            pairs[(target, timeframe)].append(model.name)
            assert model.aliases["best"] == model.aliases["champion"]
        assert model.description and "Predicts `fwd_ret_1`" in model.description
        for version in client.search_model_versions(f"name = '{model.name}'"):
            assert version.description and "Trained on" in version.description
    assert pairs and all(len(best) == 1 for best in pairs.values()), pairs
    # every experiment opens in MLflow's model-training view
    experiments = client.search_experiments()
    assert {"trading-models", "reports", "Default"} <= {e.name for e in experiments}
    for each in experiments:
        assert each.tags.get("mlflow.experimentKind") == "custom_model_development", each.name


def _open(browser, url: str, ready: str, shot: Path) -> dict:
    """Open ``url`` in Chromium, wait for the text ``ready``, dismiss a welcome dialog if one
    shows, and save a screenshot; returns the console messages, page errors and failed
    responses seen."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    seen: dict[str, list] = {"console": [], "errors": [], "bad": []}
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("response", lambda r: seen["bad"].append(r.url) if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.get_by_text(ready, exact=True).first.wait_for(timeout=90_000)
    skip = page.get_by_role("button", name="Skip")  # Dagster's community dialog
    if skip.count():
        skip.first.click()
    page.keyboard.press("Escape")  # MLflow's "new model registry UI" dialog
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shot))
    page.close()
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    return seen


def test_lineage_and_model_registry_render_in_chromium(
    browser, dagster_dev: str, mlflow_ui: str, tmp_path: Path
):
    lineage = _open(browser, f"{dagster_dev}/asset-groups", "signals", tmp_path / "lineage.png")
    assert lineage["errors"] == [] and lineage["bad"] == []
    assert [m for m in lineage["console"] if m[0] == "error"] == []
    registry = _open(
        browser, f"{mlflow_ui}/#/models", "fwd_ret_1-1d-lightgbm", tmp_path / "registry.png"
    )
    assert registry["errors"] == []
    # MLflow's UI asks for the signed-in user of its optional auth plugin; a plain
    # `mlflow ui` answers 404 and the browser logs that one failed request
    expected = [u for u in registry["bad"] if u.endswith("/ajax-api/2.0/mlflow/users/current")]
    assert registry["bad"] == expected
    errors = [m for m in registry["console"] if m[0] == "error"]
    assert all(m[1].startswith("Failed to load resource") for m in errors), errors
    assert len(errors) <= len(expected)
