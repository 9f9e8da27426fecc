"""Connections wait for another process's lock instead of failing."""

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from trading_assets.warehouse.connection import WarehouseLockedError, connect, held

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE IF NOT EXISTS t AS SELECT 42 AS x").fetchall()
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("UPDATE t SET x = 43").fetchall()  # the last thing before releasing the lock
    con.close()
    """
)


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_reader_waits_for_writer_in_another_process(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    proc = _hold(db, 1.5)
    try:
        with connect(db, read_only=True, timeout_s=30) as con:
            # 43 is written just before the writer lets go: the reader waited for it
            assert con.sql("SELECT x FROM t").fetchall() == [(43,)]
    finally:
        proc.wait(timeout=30)


def test_gives_up_with_a_clear_error(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    proc = _hold(db, 5)
    try:
        with (
            pytest.raises(WarehouseLockedError, match="locked by another process"),
            connect(db, timeout_s=0.3),
        ):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_read_only_on_missing_file_says_what_to_do(tmp_path: Path):
    with (
        pytest.raises(FileNotFoundError, match="trading-assets run"),
        connect(tmp_path / "nope.duckdb", read_only=True),
    ):
        pass


OPEN_READ_ONLY = textwrap.dedent(
    """
    import sys
    from trading_assets.warehouse.connection import WarehouseLockedError, connect
    try:
        with connect(sys.argv[1], read_only=True, timeout_s=0.3) as con:
            print(con.sql("SELECT count(*) FROM t").fetchall()[0][0])
    except WarehouseLockedError:
        print("locked")
    """
)


def _other_process_reads(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_READ_ONLY, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _instance_memory_limit(con) -> str:
    return con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]


def test_a_held_warehouse_serves_every_connect_from_one_open_instance(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        default_limit = _instance_memory_limit(con)
    with held(db):
        with connect(db) as con:
            # a database-wide setting: it lives exactly as long as the open instance
            con.execute("SET GLOBAL memory_limit = '123MB'")
            con.execute("CREATE TABLE t AS SELECT range AS x FROM range(5)")
        other_spelling = tmp_path / "sub" / ".." / "w.duckdb"
        (tmp_path / "sub").mkdir()
        with held(db), connect(other_spelling, read_only=True) as con:  # nested, read-only
            assert _instance_memory_limit(con) != default_limit
            assert con.sql("SELECT count(*) FROM t").fetchall() == [(5,)]
        # other processes wait as for a writer: here they give up after 0.3 s
        assert _other_process_reads(db) == "locked"
    assert _other_process_reads(db) == "5"  # committed, and the file is free again
    with connect(db) as con:  # a new instance: the held one was closed
        assert _instance_memory_limit(con) == default_limit


def test_a_failed_transaction_in_a_held_block_rolls_back_alone(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    with held(db):
        with connect(db) as con:
            con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            con.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(duckdb.ConstraintException), connect(db) as con:
            con.execute("BEGIN")
            con.execute("INSERT INTO t VALUES (2)")
            con.execute("INSERT INTO t VALUES (1)")  # duplicate key: the transaction fails
        with connect(db) as con:  # the next connection starts clean
            con.execute("INSERT INTO t VALUES (3)")
    with connect(db, read_only=True) as con:
        assert con.sql("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (3,)]


def test_a_held_block_leaves_a_small_log_for_later_and_folds_a_large_one(
    tmp_path: Path, monkeypatch
):
    """A short held block (a new bar) closes without DuckDB's checkpoint while the log is
    small: its writes are committed in the log, which every later opener replays. A plain
    writer's close, or a held block that ends with the log past the size, folds it into the
    file."""
    import trading_assets.warehouse.connection as connection

    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(100000)")
    assert connection.wal_bytes(db) == 0  # a plain writer's close checkpoints
    with held(db), connect(db) as con:
        con.execute("INSERT INTO t SELECT range FROM range(10)")
    assert 0 < connection.wal_bytes(db) < connection.DEFERRED_CHECKPOINT_BYTES
    assert _other_process_reads(db) == "100010"  # another process replays the log
    with held(db), connect(db) as con:  # the next block replays it too, and adds to it
        assert con.sql("SELECT count(*) FROM t").fetchall() == [(100010,)]
        con.execute("INSERT INTO t SELECT range FROM range(5)")
    assert connection.wal_bytes(db) > 0
    with connect(db) as con:  # any other writer folds the log
        con.execute("INSERT INTO t SELECT range FROM range(5)")
    assert connection.wal_bytes(db) == 0
    with held(db), connect(db) as con:
        con.execute("INSERT INTO t SELECT range FROM range(5)")
    grown = connection.wal_bytes(db)
    assert grown > 0
    monkeypatch.setattr(connection, "DEFERRED_CHECKPOINT_BYTES", grown)  # now past the size
    with held(db), connect(db) as con:
        con.execute("INSERT INTO t SELECT range FROM range(5)")
    assert connection.wal_bytes(db) == 0
    with connect(db, read_only=True) as con:
        assert con.sql("SELECT count(*) FROM t").fetchall() == [(100030,)]
