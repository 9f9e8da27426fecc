"""The Dagster UI from the README: `dagster dev` loads the code location on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from trading_assets.home import ProjectHome

QUERY = """
{
  assetNodes { assetKey { path } }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { sensors { name sensorState { status } } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dagster_dev(home: Path):
    project_home = ProjectHome.from_env().ensure()
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(project_home.dagster_home)}
    cmd = [
        "env", "--default-signal=INT,TERM,HUP",
        sys.executable, "-m", "dagster", "dev", "-m", "trading_assets.definitions",
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("dagster dev did not answer within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
    (repo,) = data["repositoriesOrError"]["nodes"]
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors["automation"] == "RUNNING"
    assert sensors["symbol_discovery"] == "RUNNING"
    assert sensors["inbox"] == "RUNNING"
