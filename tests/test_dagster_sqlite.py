"""Dagster's SQLite stores in the home commit with synchronous=NORMAL and are not
checkpointed on every close (trading_assets.dagster_sqlite)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest
import sqlalchemy as sa

from trading_assets import dagster_sqlite
from trading_assets.errors import ConfigurationError

#: SQLite's codes for PRAGMA synchronous
NORMAL, FULL = 1, 2


def _synchronous(path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    with engine.connect() as con:
        value = con.execute(sa.text("PRAGMA synchronous")).scalar()
    engine.dispose()
    return value


def _write(path) -> None:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    with engine.connect() as con, con.begin():
        con.execute(sa.text("PRAGMA journal_mode=WAL"))
        con.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        con.execute(sa.text("INSERT INTO t VALUES (1)"))
    engine.dispose()


def test_only_files_under_the_dagster_home_commit_without_a_flush(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADING_DAGSTER_SQLITE_SYNC", raising=False)
    home, elsewhere = tmp_path / "dagster", tmp_path / "mlflow"
    home.mkdir()
    elsewhere.mkdir()
    assert dagster_sqlite.install(home)
    _write(home / "events.db")
    _write(elsewhere / "mlflow.db")
    assert _synchronous(home / "events.db") == NORMAL
    assert _synchronous(elsewhere / "mlflow.db") == FULL
    # the keeper stays open: closing the writer was not the last close, so no checkpoint
    # removed the write-ahead log; outside the home the last close checkpointed it away
    assert (home / "events.db-wal").exists()
    assert not (elsewhere / "mlflow.db-wal").exists()


def test_full_keeps_dagsters_defaults_and_a_bad_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADING_DAGSTER_SQLITE_SYNC", "full")
    assert not dagster_sqlite.install(tmp_path / "full")
    monkeypatch.setenv("TRADING_DAGSTER_SQLITE_SYNC", "off")
    with pytest.raises(ConfigurationError, match="TRADING_DAGSTER_SQLITE_SYNC='off'"):
        dagster_sqlite.install(tmp_path)


def test_a_run_on_a_home_instance_stores_and_reads_back_its_events(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADING_DAGSTER_SQLITE_SYNC", raising=False)
    dagster_sqlite.install(tmp_path)

    @dg.asset
    def numbers() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": 3})

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for _ in range(2):
            assert dg.materialize([numbers], instance=instance).success
        events = instance.fetch_materializations(dg.AssetKey("numbers"), limit=10).records
        assert [e.asset_materialization.metadata["rows"].value for e in events] == [3, 3]
    shards = list(tmp_path.rglob("*.db"))
    assert shards and all(_synchronous(p) == NORMAL for p in shards)


def test_the_event_log_keeps_one_engine_per_shard_and_stores_every_event(tmp_path, monkeypatch):
    from dagster._core.storage.event_log.sqlite import sqlite_event_log

    monkeypatch.delenv("TRADING_DAGSTER_SQLITE_SYNC", raising=False)
    assert dagster_sqlite.install(tmp_path)
    created: list[str] = []
    real_create = sqlite_event_log.create_engine

    def counting_create(url, **kwargs):
        created.append(str(url))
        return real_create(url, **kwargs)

    monkeypatch.setattr(sqlite_event_log, "create_engine", counting_create)
    opened: list[str] = []

    def count_open(dbapi_connection, _record) -> None:
        opened.append(dbapi_connection.execute("PRAGMA database_list").fetchall()[0][2])

    sa.event.listen(sa.engine.Engine, "connect", count_open)

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
    def numbers():
        yield dg.MaterializeResult(
            metadata={"rows": 3}, check_results=[dg.AssetCheckResult(passed=True)]
        )

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        runs = [dg.materialize([numbers], instance=instance) for _ in range(2)]
        # another thread uses the same connections (one use at a time: the storage's lock)
        with ThreadPoolExecutor(1) as pool:
            runs.append(pool.submit(dg.materialize, [numbers], instance=instance).result())
        assert all(r.success for r in runs)
        stored = [instance.all_logs(r.run_id) for r in runs]
        events = instance.fetch_materializations(dg.AssetKey("numbers"), limit=10).records
        check = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("numbers"), "positive"), limit=10
        )
    assert len(events) == 3 and len(check) == 3
    # dozens of events per run, each stored through a new connection: one engine per run shard
    assert all(len(logs) > 10 for logs in stored)
    run_shards = [url for url in created if not url.endswith("/index.db")]
    assert sorted(run_shards) == sorted({url for url in run_shards}) and len(run_shards) == 3
    # ... and one open connection per shard, not one per event
    sa.event.remove(sa.engine.Engine, "connect", count_open)
    run_files = [f for f in opened if "/history/runs/" in f and not f.endswith("/index.db")]
    assert len(run_files) == len(set(run_files)) == 3
    # every use committed: a separate connection sees all of a run's events
    for run, logs in zip(runs, stored, strict=True):
        shard = next(f for f in run_files if f.endswith(f"/{run.run_id}.db"))
        with sqlite3.connect(shard) as outside:
            assert outside.execute("SELECT count(*) FROM event_logs").fetchone()[0] == len(logs)
