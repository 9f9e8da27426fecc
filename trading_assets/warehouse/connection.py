"""Short-lived DuckDB connections that wait politely for the single-writer lock.

DuckDB lets one process open a database file read-write, or several processes open it
read-only, never both. Every connection here is short (opened for one read or one write
transaction) and retried with exponential backoff while another process holds the lock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from trading_assets.errors import TradingAssetsError

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")


class WarehouseLockedError(TradingAssetsError):
    """The warehouse stayed locked by another process for longer than the timeout."""


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
