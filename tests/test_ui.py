"""The Dagster UI from the README: `dagster dev` loads the code location on 127.0.0.1."""

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port, running_server
from trading_assets.home import ProjectHome

QUERY = """
{
  assetNodes { assetKey { path } }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { sensors { name sensorState { status } } } }
  }
}
"""


@pytest.fixture
def dagster_dev(home: Path):
    project_home = ProjectHome.from_env().ensure()
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(project_home.dagster_home)}
    cmd = [
        "env", "--default-signal=INT,TERM,HUP",
        sys.executable, "-m", "dagster", "dev", "-m", "trading_assets.definitions",
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running_server(cmd, env, f"{url}/server_info", "dagster dev"):
        yield url


def test_dagster_dev_serves_the_asset_graph_and_running_sensors(dagster_dev: str):
    data = None
    for _ in range(60):  # the code location may still be loading
        body = httpx.post(f"{dagster_dev}/graphql", json={"query": QUERY}, timeout=30).json()
        data = body.get("data") or {}
        if data.get("assetNodes"):
            break
        time.sleep(1)
    keys = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
    assert {"raw/bars", "raw/ticks", "staging/bars", "staging/universal_stream"} <= keys
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
