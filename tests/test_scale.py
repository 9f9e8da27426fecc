"""The ``scale`` configuration, started for real: Dagster and MLflow on a throwaway Postgres
cluster, per-symbol runs in worker processes, and the same warehouse as an in-process run.

Inputs: the real ETH/USDT and BTC/USDT 1h bars re-based into four distinct symbols. The
baseline is ``trading-assets run`` with the embedded defaults (SQLite, in-process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from benchmarks.common import rebased_symbols
from tests.postgres import PASSWORD, throwaway_cluster
from tests.processes import free_port, running_server
from trading_assets import scale
from trading_assets.warehouse.catalog import existing_tables, read_table
from trading_assets.warehouse.connection import connect

#: columns that hold measurements of the run itself (clock times, resource use, run ids)
MEASURED = {"predicted_at", "ingested_at", "run_id", "started_at", "wall_s", "cpu_s",
            "peak_rss_mb", "cost_usd", "created_at", "submitted_at", "updated_at",
            "as_of"}  # fmt: skip
PER_SYMBOL = ["raw.bars", "staging.bars", "features.alpha158", "features.classic",
              "features.labels", "features.regime"]  # fmt: skip
#: asset keys of those tables (the table raw.bars is the asset raw/source_bars)
PER_SYMBOL_KEYS = [{"raw.bars": "raw/source_bars"}.get(t, t.replace(".", "/")) for t in PER_SYMBOL]
PER_SYMBOL_SELECT = " or ".join(f'key:"{k}"' for k in PER_SYMBOL_KEYS)
CLI = [sys.executable, "-c", "from trading_assets.cli import main; main()"]


def run_env(home: Path, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "ALPACA_"))}
    env.pop("DAGSTER_HOME", None)
    env.update(
        TRADING_ASSETS_HOME=str(home), TRADING_PROFILE="local", TRADING_DATA_DIR=str(data),
        **extra,
    )  # fmt: skip
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout,
        start_new_session=True,
    )  # fmt: skip


def tables(warehouse: Path, names: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """Every table (or ``names``) without the measured columns, rows in a canonical order
    (a baseline's ``run-<id>`` version, which names the run in its own MLflow store, as
    ``run-*``)."""
    out = {}
    with connect(warehouse, read_only=True) as con:
        for name in sorted(existing_tables(con) if names is None else names):
            frame = read_table(con, name)
            frame = frame.select([c for c in frame.columns if c not in MEASURED])
            if name == "ops.series_state":  # hashes of inputs that hold measured columns
                frame = frame.drop("digest")
            if "model_version" in frame.columns:  # a baseline's version names its MLflow run
                frame = frame.with_columns(
                    pl.when(pl.col("model_version").str.starts_with("run-"))
                    .then(pl.lit("run-*"))
                    .otherwise(pl.col("model_version"))
                    .alias("model_version")
                )
            out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with throwaway_cluster(tmp_path_factory.mktemp("pg")) as running:
        yield running


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data) -> Path:
    return rebased_symbols(shared_data, tmp_path_factory.mktemp("data"), per_base=2)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, inputs) -> Path:
    """A full in-process run with the embedded stores: the warehouse to compare with."""
    home = tmp_path_factory.mktemp("baseline") / "home"
    done = cli(run_env(home, inputs), "run")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / "warehouse.duckdb"


def test_settings_choose_the_stores_and_executor_and_urls_are_shown_without_password(
    home, monkeypatch
):
    from trading_assets.home import dagster_yaml_text

    url = "postgresql://trader:pa%40ss@db.example:5432/dagster"
    assert scale.redact_url(url) == "postgresql://trader:***@db.example:5432/dagster"
    assert scale.with_driver(url).startswith("postgresql+psycopg2://trader:pa%40ss@db.example")
    assert scale.libpq_url(scale.with_driver(url)) == url
    assert "storage" not in dagster_yaml_text() and "default_limit: 1" in dagster_yaml_text()
    monkeypatch.setenv("TRADING_POSTGRES_URL", url)
    monkeypatch.setenv("TRADING_EXECUTOR", "multiprocess")
    monkeypatch.setenv("TRADING_WORKERS", "3")
    text = dagster_yaml_text()
    assert "env: TRADING_POSTGRES_URL" in text and "pa%40ss" not in text
    assert "default_limit: 3" in text and "granularity: run" in text
    from trading_assets.definitions import executor

    assert executor().name == "multiprocess"
    monkeypatch.setenv("TRADING_EXECUTOR", "k8s")  # dagster-k8s is not installed here
    with pytest.raises(scale.ConfigurationError, match="needs dagster-k8s"):
        executor()
    monkeypatch.setenv("TRADING_EXECUTOR", "threads")
    with pytest.raises(scale.ConfigurationError, match="TRADING_EXECUTOR"):
        scale.executor()


@pytest.mark.parametrize("problem", ["wrong password", "unreachable"])
def test_a_bad_postgres_is_a_clear_error_at_start_and_nothing_is_written(
    problem, cluster, inputs, tmp_path
):
    url = (
        cluster.url(password="not-the-password")
        if problem == "wrong password"
        else f"postgresql://trading:{PASSWORD}@127.0.0.1:{free_port()}/postgres"
    )
    home = tmp_path / "home"
    for command in ("run", "refresh", "ui"):
        done = cli(run_env(home, inputs, TRADING_POSTGRES_URL=url), command, timeout=120)
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        assert f"cannot connect to Postgres at {scale.redact_url(url)}" in output, output
        assert "TRADING_POSTGRES_URL" in output
        assert PASSWORD not in output and "not-the-password" not in output
        assert not home.exists()  # no warehouse, no Dagster storage, no MLflow store


def test_parallel_run_on_postgres_equals_the_in_process_run_then_refresh_ui_and_mlflow(
    cluster, inputs, baseline, tmp_path, monkeypatch
):
    import psycopg2

    home = tmp_path / "home"
    dagster_url = cluster.create_database("dagster")
    mlflow_url = cluster.create_database("mlflow")
    env = run_env(
        home, inputs, TRADING_POSTGRES_URL=dagster_url, TRADING_MLFLOW_TRACKING_URI=mlflow_url,
        TRADING_EXECUTOR="multiprocess", TRADING_WORKERS="2", TRADING_SENSOR_INTERVAL_S="1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [*CLI, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    # the SDK reads throughout: every read made while the workers write succeeds
    monkeypatch.setenv("TRADING_ASSETS_HOME", str(home))
    from trading_assets import Warehouse

    reads, counts = 0, []
    while proc.poll() is None:
        if (home / "warehouse.duckdb").exists():
            try:
                read = Warehouse(lock_timeout_s=120).sql("SELECT count(*) AS n FROM raw.bars")
                counts.append(read["n"][0])
                reads += 1
            except Exception as exc:  # only a table not created yet is expected
                assert "does not exist" in str(exc), exc
        time.sleep(0.1)
    output = proc.communicate()[0]
    assert proc.returncode == 0, output[-4000:]
    assert "4 symbols in 2 processes" in output
    assert "lock" not in output.lower(), output[-4000:]
    assert reads >= 3 and counts == sorted(counts)  # committed states only, never torn

    # table by table, the parallel run wrote what the in-process run wrote
    ours, theirs = tables(home / "warehouse.duckdb"), tables(baseline)
    assert sorted(ours) == sorted(theirs)
    for name, frame in theirs.items():
        assert ours[name].equals(frame), name
    assert ours["raw.bars"].height == 4 * 719

    # Dagster's runs and MLflow's registry are on the server, not in the home
    with psycopg2.connect(dagster_url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        # one per symbol, then the unpartitioned stage(s): those of raw/news and the sentiment
        # model have no source here and are not run
        assert cur.fetchone()[0] >= 4 + 1
    with psycopg2.connect(mlflow_url) as con, con.cursor() as cur:
        cur.execute("SELECT name FROM registered_models")
        models = {row[0] for row in cur.fetchall()}
    assert "fwd_ret_1-1h-lightgbm" in models
    assert not (home / "dagster" / "history").exists() and not (home / "mlflow.db").exists()

    done = cli(env, "refresh", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"executed": [], "failures": []}

    # a run Dagster launches itself uses its multiprocess executor: every step its own process
    dagster = str(Path(sys.executable).parent / "dagster")
    launched = subprocess.run(
        [dagster, "asset", "materialize", "-m", "trading_assets.definitions",
         "--select", "raw/source_bars,staging/bars,features/labels", "--partition", "ET01/USDT"],
        env={**env, "DAGSTER_HOME": str(home / "dagster"),
             "TRADING_POSTGRES_URL": scale.with_driver(dagster_url),
             "TRADING_MLFLOW_TRACKING_URI": scale.with_driver(mlflow_url)},
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    log = launched.stdout + launched.stderr
    assert launched.returncode == 0, log[-4000:]
    assert "Executing steps using multiprocess executor" in log
    assert "could not set lock" not in log.lower() and "blocked by limit" not in log
    again = tables(home / "warehouse.duckdb", PER_SYMBOL)
    for name in ("raw.bars", "staging.bars", "features.labels"):
        assert again[name].equals(theirs[name]), name  # the re-run changed nothing

    # dagster dev with its sensors against the server: their ticks land in Postgres
    port = free_port()
    with running_server(
        [*CLI, "ui", "--port", str(port)], env, f"http://127.0.0.1:{port}/server_info",
        "dagster dev", timeout_s=300,
    ):  # fmt: skip
        deadline = time.monotonic() + 300
        ticked: set[str] = set()
        while not {"automation", "inbox"} <= ticked:
            assert time.monotonic() < deadline, f"sensor ticks seen: {ticked}"
            time.sleep(2)
            with psycopg2.connect(dagster_url) as con, con.cursor() as cur:
                cur.execute("SELECT DISTINCT selector_id, tick_body FROM job_ticks")
                ticked = {json.loads(body)["job_name"] for _, body in cur.fetchall()}

    # mlflow ui against the same server, artifacts in the home
    port = free_port()
    mlflow_ui = [
        str(Path(sys.executable).parent / "mlflow"), "ui",
        "--backend-store-uri", scale.with_driver(mlflow_url),
        "--default-artifact-root", str(home / "mlartifacts"), "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    with running_server(mlflow_ui, env, f"http://127.0.0.1:{port}/health", "mlflow ui"):
        found = httpx.get(
            f"http://127.0.0.1:{port}/api/2.0/mlflow/registered-models/search", timeout=30
        ).json()
    assert {m["name"] for m in found["registered_models"]} == models


#: the worker transaction that kills its process mid-write (a features write: by then every
#: symbol's raw and staging bars are committed; see tests/kill_mid_write/sitecustomize.py)
KILL_AT_TRANSACTION = 11


def test_a_worker_killed_while_writing_leaves_all_or_nothing_and_a_rerun_completes(
    inputs, baseline, tmp_path
):
    home = tmp_path / "home"
    env = run_env(home, inputs, TRADING_EXECUTOR="multiprocess", TRADING_WORKERS="2")
    counter = tmp_path / "transactions"
    hook = str(Path(__file__).parent / "kill_mid_write")
    killing_env = {
        **env, "PYTHONPATH": os.pathsep.join(filter(None, [hook, env.get("PYTHONPATH")])),
        "TRADING_TEST_KILL_COUNTER": str(counter), "TRADING_TEST_KILL_AT": str(KILL_AT_TRANSACTION),
    }  # fmt: skip
    args = ["run", "--select", PER_SYMBOL_SELECT]
    proc = subprocess.run(
        [*CLI, *args], env=killing_env, capture_output=True, text=True, timeout=600
    )
    output = proc.stdout + proc.stderr
    killed = counter.with_suffix(".killed")
    assert killed.exists(), f"transaction {KILL_AT_TRANSACTION} never came: {counter.read_text()}"
    assert proc.returncode == 1, output[-3000:]
    assert "a worker process died" in output

    # every symbol's rows of every table: all of the in-process run's, or none
    expected = tables(baseline, PER_SYMBOL)
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        present = existing_tables(con)
    partial = tables(home / "warehouse.duckdb", [t for t in PER_SYMBOL if t in present])
    complete = 0
    for name, frame in partial.items():
        for symbol in expected[name]["symbol"].unique():
            rows = frame.filter(pl.col("symbol") == symbol)
            if rows.height:
                assert rows.equals(expected[name].filter(pl.col("symbol") == symbol)), name
                complete += 1
    assert 0 < complete < 4 * len(PER_SYMBOL)

    done = cli(env, *args)
    assert done.returncode == 0, done.stdout[-3000:]
    rerun = tables(home / "warehouse.duckdb", PER_SYMBOL)
    for name, frame in expected.items():
        assert rerun[name].equals(frame), name
