"""Commits without a disk flush each for Dagster's SQLite storages in the project home.

Dagster's SQLite event log, run and schedule storages (``<home>/dagster/history/...``) open a
new connection for every event they store (a run of 20 assets stores about 200), commit
and close it. In WAL mode with SQLite's default ``synchronous=FULL``, every commit flushes
the write-ahead log to disk, and closing the last connection to a database checkpoints it
(another flush). On this project's refresh of one new bar that is thousands of flushes: seconds of
a path whose budget is seconds.

:func:`install` registers a SQLAlchemy ``connect`` listener (a public SQLAlchemy API, applied
to every engine of the process) that, for SQLite files under the Dagster home only:

- sets ``PRAGMA synchronous=NORMAL``, SQLite's recommended setting for WAL mode: a commit is
  durable against a crash of the process; a power loss or OS crash can lose the newest
  transactions since the last checkpoint, but never corrupts the database;
- keeps one extra read connection per database file open for the life of the process
  (at most :data:`MAX_KEEPERS`, the least recently used closed first), so that closing
  Dagster's connection is not "the last connection" and does not checkpoint each time;
  SQLite still checkpoints every 1,000 pages, and once more when the process exits.

It also makes Dagster's SQLite event log storages keep one SQLAlchemy engine and one open
connection per shard instead of creating both for every use
(:func:`trading_assets.defs.dagster_internals.reuse_sqlite_event_log_engines`): the same
transactions, without the set-up cost each time; and remember which index tables exist
(:func:`~trading_assets.defs.dagster_internals.remember_sqlite_event_log_tables`) instead of
asking SQLite on every asset check evaluation.

``TRADING_DAGSTER_SQLITE_SYNC=full`` keeps Dagster's defaults (no listener, engines and
connections as Dagster makes them). Other SQLite
files (MLflow's store, anything outside the Dagster home) and Postgres are left alone.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from trading_assets.errors import ConfigurationError
from trading_assets.settings import DAGSTER_SQLITE_SYNC

#: databases with a keeper connection open at once (one per run shard, plus the index)
MAX_KEEPERS = 64
MODES = ("normal", "full")

_lock = threading.Lock()
_keepers: OrderedDict[str, sqlite3.Connection] = OrderedDict()
_roots: set[str] = set()


def sync_mode() -> str:
    """``TRADING_DAGSTER_SQLITE_SYNC`` (``normal`` or ``full``).

    Raises:
        ConfigurationError: any other value.
    """
    mode = str(DAGSTER_SQLITE_SYNC.read()).strip().lower()
    if mode not in MODES:
        raise ConfigurationError(
            f"{DAGSTER_SQLITE_SYNC.name}={mode!r}: expected one of {', '.join(MODES)}"
        )
    return mode


def install(dagster_home: Path) -> bool:
    """Apply the faster commits to SQLite files under ``dagster_home`` (idempotent; more
    than one home may be registered in a process). Returns False when the setting is
    ``full`` and nothing was installed.

    Raises:
        ConfigurationError: an unknown ``TRADING_DAGSTER_SQLITE_SYNC``.
    """
    if sync_mode() == "full":
        return False
    from trading_assets.defs.dagster_internals import (
        remember_sqlite_event_log_tables,
        reuse_sqlite_event_log_engines,
    )

    reuse_sqlite_event_log_engines()
    remember_sqlite_event_log_tables()
    root = str(Path(dagster_home).resolve())
    with _lock:
        if not _roots:
            event.listen(Engine, "connect", _on_connect)
        _roots.add(root)
    return True


def _under_roots(path: str) -> bool:
    return bool(path) and any(path == r or path.startswith(r + "/") for r in _roots)


def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 (SQLAlchemy's signature)
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    if not _under_roots(path):
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    _keep_open(path)


def _keep_open(path: str) -> None:
    """Open (or touch) the keeper connection of ``path``: a read attaches it to the WAL, so
    later closes of Dagster's connections are not the last one."""
    with _lock:
        keeper = _keepers.pop(path, None)
        try:
            if keeper is None:
                keeper = sqlite3.connect(path, check_same_thread=False)
            keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.Error:
            return  # the database is being created or locked: no keeper this time
        _keepers[path] = keeper
        while len(_keepers) > MAX_KEEPERS:
            _keepers.popitem(last=False)[1].close()
