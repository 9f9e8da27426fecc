"""Connections wait for another process's lock instead of failing."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trading_assets.warehouse.connection import WarehouseLockedError, connect

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
