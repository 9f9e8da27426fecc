"""Short-lived DuckDB connections that wait politely for the single-writer lock.

DuckDB lets one process open a database file read-write, or several processes open it
read-only, never both. Every connection here is short (opened for one read or one write
transaction) and retried with exponential backoff while another process holds the lock.

Writers of this package also queue on a writer lock beside the file
(``<warehouse>.writer.lock``, an OS file lock that dies with its process): a read-write
connection is opened only while holding it, so writers from parallel worker processes wait
their turn in order instead of polling DuckDB's lock, and whatever they compute between two
connections runs in parallel. A process killed while holding it frees it at once; DuckDB
rolls its unfinished transaction back when the file is next opened.

Opening a DuckDB database costs about 10 ms whatever its size (the instance builds its
catalog of built-in functions). A process that runs many short steps back to back, such as
a refresh's in-process run for a new bar, can hold the warehouse for a block
(:func:`held`): the writer lock and one open connection, so every :func:`connect` of that
thread in the block is a new connection to the same instance (microseconds) with the same
transaction semantics. Other processes wait for the block to end, as they wait for a writer.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from trading_assets.errors import TradingAssetsError

_WRITER_LOCKS: dict[str, FileLock] = {}
#: resolved warehouse path -> (thread id, open connection) of a :func:`held` block
_HELD: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}
_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")


class WarehouseLockedError(TradingAssetsError):
    """The warehouse stayed locked by another process for longer than the timeout."""


def writer_lock_path(path: str | Path) -> Path:
    """The writer lock file of the warehouse at ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".writer.lock")


@contextmanager
def writer_lock(path: str | Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold the warehouse's writer lock (see the module docstring) for the ``with`` block.

    Raises:
        WarehouseLockedError: another writer held it for more than ``timeout_s``.
    """
    lock_path = str(writer_lock_path(path))
    # one lock object per file and process: re-entrant within a thread (a nested write
    # connection never waits for itself), exclusive between threads and processes
    lock = _WRITER_LOCKS.setdefault(lock_path, FileLock(lock_path))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout as exc:
        raise WarehouseLockedError(
            f"{path}: another writer held the writer lock for {timeout_s:.0f}s"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _LOCK_MARKERS)


@contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, timeout_s: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path`` (a DuckDB file), retrying on lock conflicts; closes it on exit.

    The session time zone is UTC, so ``TIMESTAMPTZ`` columns come back as
    ``Datetime("us", "UTC")`` in Polars.

    A read-write connection holds the writer lock (:func:`writer_lock`) while open.

    Raises:
        WarehouseLockedError: another process held the file for more than ``timeout_s``.
        FileNotFoundError: ``read_only`` and the file does not exist yet.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"warehouse {path} does not exist yet: run `trading-assets run` first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if _held_here(path):
        # the instance is open in this thread's held block: a read-write connection to it
        # (DuckDB refuses a read-only one beside it), under the writer lock the block holds,
        # by the same path string the block opened (DuckDB's instance cache key)
        with _connect(path.resolve(), False, timeout_s) as con:
            yield con
        return
    if read_only:
        with _connect(path, True, timeout_s) as con:
            yield con
        return
    with writer_lock(path, timeout_s), _connect(path, False, timeout_s) as con:
        yield con


#: write-ahead log size up to which a :func:`held` block leaves DuckDB's checkpoint to later
DEFERRED_CHECKPOINT_BYTES = 2 * 1024 * 1024


def wal_bytes(path: str | Path) -> int:
    """Size of the warehouse's DuckDB write-ahead log (``<file>.wal``; 0 without one): the
    committed writes not yet folded into the database file."""
    wal = Path(path).with_name(Path(path).name + ".wal")
    try:
        return wal.stat().st_size
    except FileNotFoundError:
        return 0


def _held_here(path: Path) -> bool:
    held_by = _HELD.get(str(path.resolve()))
    return held_by is not None and held_by[0] == threading.get_ident()


@contextmanager
def held(path: str | Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Keep the warehouse at ``path`` open read-write in this process for the ``with`` block,
    holding its writer lock (see the module docstring).

    Within the block, :func:`connect` from this thread opens no file; other threads and
    processes wait for the block's end as for any writer, so hold it only for short work (a
    new bar's run), never around a user's interactive session. Re-entrant: a nested block
    of the same path does nothing.

    Closing the file normally folds its write-ahead log into it (a DuckDB checkpoint, which
    rewrites every row group a write touched: about 0.45 s after a new bar's run here). A
    block that leaves less than :data:`DEFERRED_CHECKPOINT_BYTES` of log closes without it:
    the writes are committed and durable in the log, the next process to open the file
    replays the log, and the checkpoint comes with the first close past that size (any
    other writer, or a block that found the log larger), so a run of new bars pays one
    checkpoint every few dozen bars instead of one each.

    Raises:
        WarehouseLockedError: another process held the file for more than ``timeout_s``.
    """
    path = Path(path)
    key = str(path.resolve())
    if _held_here(path):
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(path, timeout_s), _connect(Path(key), False, timeout_s) as con:
        _HELD[key] = (threading.get_ident(), con)
        try:
            yield
        finally:
            del _HELD[key]
            if wal_bytes(path) < DEFERRED_CHECKPOINT_BYTES:
                con.execute("PRAGMA disable_checkpoint_on_shutdown")


def utc_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor of ``con`` (its own connection to the same open database, for another
    thread) in UTC, as every connection here is; close it when done."""
    cursor = con.cursor()
    cursor.execute("SET TimeZone = 'UTC'")  # a cursor does not inherit the session's zone
    return cursor


@contextmanager
def _connect(path: Path, read_only: bool, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"{path} stayed locked by another process for {timeout_s:.0f}s: {exc}"
                ) from exc
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
