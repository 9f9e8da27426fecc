"""The warehouse resource: every asset gets its DuckDB connections from here."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from trading_assets.warehouse.connection import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse.

    Attributes:
        path: the DuckDB database file (default ``$TRADING_ASSETS_HOME/warehouse.duckdb``).
        lock_timeout_s: how long a connection waits for another process's lock.
    """

    path: str
    lock_timeout_s: float = 120.0

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection (UTC session time zone); see
        :func:`trading_assets.warehouse.connection.connect`."""
        with connect(self.path, read_only=read_only, timeout_s=self.lock_timeout_s) as con:
            yield con
