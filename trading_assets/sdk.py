"""A small Python SDK over the warehouse: queries return Polars DataFrames.

Each call opens a short read-only DuckDB connection and closes it, retrying while a Dagster run
holds the write lock, so it is safe to use while assets materialize. It never imports Dagster
or any asset module.

Example::

    from trading_assets import Warehouse
    wh = Warehouse()
    wh.bars("ETH/USDT", "1h", start="2023-04-01")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from trading_assets.errors import TradingAssetsError, UnknownSymbolError
from trading_assets.home import ProjectHome
from trading_assets.warehouse.catalog import existing_tables
from trading_assets.warehouse.connection import connect

TimeLike = str | date | datetime | None


def _to_utc(value: TimeLike, name: str) -> datetime | None:
    """A naive/aware datetime, date or ISO string as an aware UTC datetime (naive = UTC)."""
    if value is None:
        return None
    try:
        parsed = (
            datetime.fromisoformat(value)
            if isinstance(value, str)
            else value
            if isinstance(value, datetime)
            else datetime(value.year, value.month, value.day)
        )
    except ValueError as exc:
        raise TradingAssetsError(f"{name}={value!r} is not an ISO date or datetime") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Warehouse:
    """Read access to the trading-assets warehouse.

    Args:
        path: the DuckDB file; default ``$TRADING_ASSETS_HOME/warehouse.duckdb``.
        lock_timeout_s: how long to wait while a writer holds the file.

    Raises (from every query):
        FileNotFoundError: the warehouse does not exist yet (run ``trading-assets run``).
        trading_assets.warehouse.connection.WarehouseLockedError: locked for too long.
    """

    def __init__(self, path: str | Path | None = None, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path) if path else ProjectHome.from_env().warehouse_path
        self.lock_timeout_s = lock_timeout_s

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run one read-only SQL query with bound parameters (``$1``/``?`` or ``$name``).

        Values must be passed as ``params``, never formatted into ``query``.
        """
        with connect(self.path, read_only=True, timeout_s=self.lock_timeout_s) as con:
            return con.sql(query, params=params).pl()

    def _tables(self) -> set[str]:
        """``schema.table`` names of every table and view in the warehouse."""
        with connect(self.path, read_only=True, timeout_s=self.lock_timeout_s) as con:
            return existing_tables(con)

    def symbols(self) -> list[str]:
        """Every symbol with bars or ticks in the warehouse, sorted."""
        tables = self._tables()
        parts = [
            f"SELECT DISTINCT symbol FROM {t}"
            for t in ("staging.bars", "raw.bars", "raw.ticks")
            if t in tables
        ]
        if not parts:
            return []
        return sorted(self.sql(" UNION ".join(parts))["symbol"].to_list())

    def _range(self, start: TimeLike, end: TimeLike) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if (s := _to_utc(start, "start")) is not None:
            clauses.append("ts >= ?")
            params.append(s)
        if (e := _to_utc(end, "end")) is not None:
            clauses.append("ts < ?")
            params.append(e)
        return "".join(f" AND {c}" for c in clauses), params

    def bars(
        self, symbol: str, timeframe: str, start: TimeLike = None, end: TimeLike = None
    ) -> pl.DataFrame:
        """OHLCV bars of ``symbol`` at ``timeframe``, oldest first, with ``start <= ts < end``.

        Returns:
            Columns symbol, timeframe, ts (``Datetime("us", "UTC")``, bar open time), open,
            high, low, close (float64, quote currency), volume (float64, base units), trades
            (Int64, nullable), vwap (nullable), source (``resampled:<tf>`` for derived bars),
            n_parts. Read from ``staging.bars`` (source + resampled bars).

        Raises:
            UnknownSymbolError: the warehouse holds no bars for ``symbol``.
            TradingAssetsError: the symbol has no bars at ``timeframe`` (names the ones it has).
        """
        have = (
            self.sql("SELECT DISTINCT timeframe FROM staging.bars WHERE symbol = ?", [symbol])[
                "timeframe"
            ].to_list()
            if "staging.bars" in self._tables()
            else []
        )
        if not have:
            raise UnknownSymbolError(symbol, self.symbols(), where=str(self.path))
        if timeframe not in have:
            raise TradingAssetsError(
                f"{symbol} has no {timeframe} bars; it has {', '.join(sorted(have))}"
            )
        where, params = self._range(start, end)
        return self.sql(
            f"SELECT * FROM staging.bars WHERE symbol = ? AND timeframe = ?{where} ORDER BY ts",
            [symbol, timeframe, *params],
        )

    def ticks(self, symbol: str, start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        """Trade ticks of ``symbol``, oldest first, with ``start <= ts < end``.

        Returns:
            Columns symbol, source, trade_id (str), ts (UTC), price (float64, quote currency),
            size (float64, base units), side (``buy``/``sell``/null: the taker's side).

        Raises:
            UnknownSymbolError: the warehouse holds no ticks for ``symbol``.
        """
        tables = self._tables()
        known = (
            self.sql("SELECT DISTINCT symbol FROM raw.ticks")["symbol"].to_list()
            if "raw.ticks" in tables
            else []
        )
        if symbol not in known:
            raise UnknownSymbolError(symbol, sorted(known), where=f"{self.path} (ticks)")
        where, params = self._range(start, end)
        return self.sql(
            f"SELECT * FROM raw.ticks WHERE symbol = ?{where} ORDER BY ts, trade_id",
            [symbol, *params],
        )

    def universal_stream(
        self, start: TimeLike = None, end: TimeLike = None, streams: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """The universal data stream (ETH ticks, ETH 1m/1h/1d, BTC ticks) as one frame.

        Returns:
            Columns stream, symbol, timeframe (``tick`` for ticks), ts (UTC), open, high, low,
            close (trade price for ticks), volume (trade size for ticks), side; sorted by ts
            then stream. ``streams`` keeps only the named series (e.g. ``["ETH 1m"]``).

        Raises:
            TradingAssetsError: the stream has not been materialized yet.
        """
        if "staging.universal_stream" not in self._tables():
            raise TradingAssetsError(
                "staging.universal_stream does not exist yet: materialize it with "
                "`trading-assets run`"
            )
        where, params = self._range(start, end)
        if streams:
            where += " AND list_contains(?, stream)"
            params.append(list(streams))
        return self.sql(
            f"SELECT * FROM staging.universal_stream WHERE TRUE{where} ORDER BY ts, stream",
            params,
        )

    def latest_signals(self, symbol: str | None = None) -> pl.DataFrame:
        """The newest signal of every series (or of ``symbol``'s series), for the newest bar.

        Returns:
            One row per (symbol, timeframe), sorted: symbol, timeframe, ts (bar open, UTC),
            bar_close (UTC), age_hours (float64, hours since the bar closed), direction
            (``long``/``short``/``flat``), position (target, signed fraction of equity),
            confidence ([0, 1]), agreeing_models (families, comma-separated), kind (``live``:
            from live predictions of the champions; ``walk_forward``), explanation. Read from
            ``signals.signals``; empty when there are no signals yet.
        """
        from trading_assets.trading.signals_run import NEWEST_SIGNALS_SCHEMA, newest_signals

        if "signals.signals" not in self._tables():
            return pl.DataFrame(schema=NEWEST_SIGNALS_SCHEMA)
        where, params = ("WHERE symbol = ?", [symbol]) if symbol else ("", [])
        newest = self.sql(
            f"SELECT * FROM signals.signals {where} "
            "QUALIFY row_number() OVER (PARTITION BY symbol, timeframe ORDER BY ts DESC) = 1",
            params,
        )
        return newest_signals(newest)
