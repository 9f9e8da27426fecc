"""The universal data stream: named series of ticks and bars as one SQL relation."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from trading_assets.errors import ConfigurationError
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import content_version


@dataclass(frozen=True)
class StreamSeries:
    """One series of the stream: ``name`` (label), ``base`` asset (``ETH``), ``kind``
    (``ticks`` or a bar timeframe such as ``1m``), and the resolved ``symbol`` once known."""

    name: str
    base: str
    kind: str
    symbol: str | None = None

    @classmethod
    def parse(cls, text: str) -> StreamSeries:
        """Parse ``name:base:kind`` (for example ``ETH 1m:ETH:1m``).

        Raises:
            ConfigurationError: not three colon-separated parts.
        """
        parts = text.split(":")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ConfigurationError(f"stream series {text!r}: expected 'name:base:kind'")
        return cls(*(p.strip() for p in parts))


#: The original system's five series.
DEFAULT_STREAM: tuple[StreamSeries, ...] = (
    StreamSeries("ETH ticks", "ETH", "ticks"),
    StreamSeries("ETH 1m", "ETH", "1m"),
    StreamSeries("ETH 1h", "ETH", "1h"),
    StreamSeries("ETH 1d", "ETH", "1d"),
    StreamSeries("BTC ticks", "BTC", "ticks"),
)

#: preferred quote currencies when several pairs of one base exist
_QUOTE_PREFERENCE = ("USDT", "USD", "USDC", "BUSD", "EUR")


def resolve_series(
    con: duckdb.DuckDBPyConnection, wanted: list[StreamSeries]
) -> tuple[list[StreamSeries], list[str]]:
    """Pick, for each series, the ``BASE/QUOTE`` symbol the warehouse holds data for.

    Returns ``(resolved, missing)`` where missing lists the names of series with no data.
    """
    resolved, missing = [], []
    for series in wanted:
        if series.kind == "ticks":
            rows = con.execute(
                "SELECT DISTINCT symbol FROM raw.ticks WHERE symbol LIKE ?", [f"{series.base}/%"]
            ).fetchall()
        else:
            rows = con.execute(
                "SELECT DISTINCT symbol FROM staging.bars WHERE symbol LIKE ? AND timeframe = ?",
                [f"{series.base}/%", series.kind],
            ).fetchall()
        symbols = sorted(r[0] for r in rows)
        if not symbols:
            missing.append(series.name)
            continue
        rank = {f"{series.base}/{q}": i for i, q in enumerate(_QUOTE_PREFERENCE)}
        symbol = min(symbols, key=lambda s: (rank.get(s, len(rank)), s))
        resolved.append(StreamSeries(series.name, series.base, series.kind, symbol))
    return resolved, missing


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def universal_stream_sql(series: list[StreamSeries]) -> str:
    """One ``SELECT`` (a UNION ALL) over ``raw.ticks`` and ``staging.bars`` for ``series``.

    Columns: stream, symbol, timeframe (``tick`` for ticks), ts (UTC), open, high, low, close
    (the trade price for ticks), volume (trade size for ticks), side (ticks only).
    """
    parts = []
    for s in series:
        if s.kind == "ticks":
            parts.append(
                f"SELECT {_quote(s.name)} AS stream, symbol, 'tick' AS timeframe, ts, "
                "price AS open, price AS high, price AS low, price AS close, size AS volume, side "
                f"FROM raw.ticks WHERE symbol = {_quote(s.symbol)}"
            )
        else:
            parts.append(
                f"SELECT {_quote(s.name)} AS stream, symbol, timeframe, ts, open, high, low, "
                "close, volume, NULL::VARCHAR AS side FROM staging.bars "
                f"WHERE symbol = {_quote(s.symbol)} AND timeframe = {_quote(s.kind)}"
            )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS stream, NULL::VARCHAR AS symbol, NULL::VARCHAR AS timeframe, "
            "NULL::TIMESTAMPTZ AS ts, NULL::DOUBLE AS open, NULL::DOUBLE AS high, "
            "NULL::DOUBLE AS low, NULL::DOUBLE AS close, NULL::DOUBLE AS volume, "
            "NULL::VARCHAR AS side WHERE FALSE"
        )
    return "\nUNION ALL\n".join(parts)


VIEW = "staging.universal_stream"


@dataclass(frozen=True)
class StreamView:
    """What :func:`build_universal_stream` made.

    Attributes:
        resolved: the series found, with their symbols.
        missing: names of the series without data.
        rows: rows of the view.
        data_version: content hash of the view (see
            :func:`trading_assets.warehouse.writes.content_version`).
        counts: per series ``stream, symbol, rows, first, last`` (UTC), sorted by stream.
    """

    resolved: list[StreamSeries]
    missing: list[str]
    rows: int
    data_version: str
    counts: pl.DataFrame


def build_universal_stream(
    con: duckdb.DuckDBPyConnection, wanted: list[StreamSeries]
) -> StreamView:
    """(Re)create the view ``staging.universal_stream`` over the ``wanted`` series that have
    data (:func:`resolve_series`, :func:`universal_stream_sql`), creating ``staging.bars`` and
    ``raw.ticks`` first if missing, and measure it."""
    for table in ("staging.bars", "raw.ticks"):
        ensure_table(con, table)
    resolved, missing = resolve_series(con, wanted)
    con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS {universal_stream_sql(resolved)}")
    rows, version = content_version(con, VIEW)
    counts = con.sql(
        "SELECT stream, symbol, count(*) AS rows, min(ts) AS first, max(ts) AS last "
        f"FROM {VIEW} GROUP BY ALL ORDER BY stream"
    ).pl()
    return StreamView(resolved, missing, rows, version, counts)
