"""One DuckDB writer: two runs in two processes at once never fail on the file lock, and
SDK reads made while they write succeed.

DuckDB lets one process write a file at a time. The runs here are what ``dagster dev``
launches (each run its own process, the project's in-process executor inside): two
``trading-assets run`` processes, one per symbol, ingesting and staging bars at the same
time, while this process keeps reading through :class:`trading_assets.sdk.Warehouse`.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from trading_assets import Warehouse
from trading_assets.home import ProjectHome
from trading_assets.runner import dagster_instance, materialize

SELECT = 'key:"raw/source_bars" or key:"staging/bars"'


def test_two_concurrent_runs_and_sdk_reads_never_hit_a_lock_error(
    home: Path, monkeypatch, shared_data: Path
):
    data = home.parent / "data"
    data.mkdir()
    for name in ("ETH_USDT-1h.json", "BTC_USDT-1h.json", "ETH_USDT-5m.json"):
        (data / name).symlink_to(shared_data / "crypto" / "binance_spot_2023" / name)
    monkeypatch.setenv("TRADING_PROFILE", "local")
    monkeypatch.setenv("TRADING_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    from trading_assets.definitions import build_definitions

    # the warehouse exists (one symbol's 1h bars) before the concurrent part
    (data / "ETH_USDT-5m.json").rename(home.parent / "ETH_USDT-5m.json")
    first = materialize(
        build_definitions(), dagster_instance(ProjectHome.from_env()), selection=SELECT
    )
    assert first.ok, first.failures
    (home.parent / "ETH_USDT-5m.json").rename(data / "ETH_USDT-5m.json")  # new ETH data

    cli = [sys.executable, "-c", "from trading_assets.cli import main; main()", "run"]
    procs = [
        subprocess.Popen(
            [*cli, "--select", SELECT, "--symbol", symbol],
            env={**os.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for symbol in ("ETH/USDT", "BTC/USDT")
    ]
    reads: list[int] = []
    wh = Warehouse(lock_timeout_s=120)
    while any(p.poll() is None for p in procs):
        reads.append(wh.sql("SELECT count(*) AS n FROM raw.bars")["n"][0])
        time.sleep(0.05)
    outputs = [p.communicate()[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out
        assert "lock" not in out.lower(), out
    assert len(reads) >= 3, "too few reads happened while the runs were writing"
    assert reads == sorted(reads)  # reads see committed states only, never a torn one
    final = wh.sql("SELECT symbol, timeframe, count(*) AS n FROM raw.bars GROUP BY ALL")
    counts = {(s, tf): n for s, tf, n in final.iter_rows()}
    assert counts[("ETH/USDT", "1h")] == counts[("BTC/USDT", "1h")] == 719
    assert counts[("ETH/USDT", "5m")] > 8000


def test_the_home_instance_serializes_writers_and_starts_queued_runs_quickly(home: Path):
    instance = dagster_instance(ProjectHome.from_env())
    concurrency = instance.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 1  # one DuckDB writer at a time
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert instance.run_coordinator.dequeue_interval_seconds == 1
    sensors = instance.get_settings("sensors")
    assert sensors["use_threads"] and sensors["num_workers"] >= 2  # inbox beside automation


def test_an_older_generated_dagster_yaml_is_updated_and_a_users_own_is_kept(home: Path):
    project = ProjectHome.from_env()
    config = project.ensure().dagster_home / "dagster.yaml"
    ours = config.read_text()
    config.write_text(
        "# Written by trading-assets. (an older version)\ntelemetry:\n  enabled: false\n"
    )
    project.ensure()
    assert config.read_text() == ours
    config.write_text("telemetry:\n  enabled: false\n")  # the user's own
    project.ensure()
    assert config.read_text() == "telemetry:\n  enabled: false\n"
