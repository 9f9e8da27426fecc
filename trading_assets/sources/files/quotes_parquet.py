"""Best bid/ask updates in Parquet (``timestamp, [symbol], bid, bid_size, ask, ask_size``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    check_columns,
    with_rows,
)
from trading_assets.sources.files._parquet import (
    has_parquet_columns,
    parquet_rows_text,
    read_parquet,
    utc_times,
)
from trading_assets.sources.validate import ROW, validate_quotes

_REQUIRED = ["timestamp", "bid", "bid_size", "ask", "ask_size"]


class QuotesParquetReader(FileReader):
    """Top-of-book quote updates from Parquet (as nautilus_trader's Binance test data
    ``btcusdt-quotes.parquet``).

    Input columns: ``timestamp`` (datetime or epoch integer, naive = UTC), optional ``symbol``
    (one value for the whole file, e.g. ``BTC/USDT``), ``bid``, ``bid_size``, ``ask``,
    ``ask_size``; other columns are ignored. Symbol from the ``symbol`` column, else the file
    name (``binance_BTCUSDT_quotes_2021-01-08`` -> ``BTC/USDT``); a given symbol must agree.

    Output (:meth:`read`): canonical ``quotes`` (:data:`~trading_assets.schemas.QUOTES_SCHEMA`)
    sorted by (ts, seq): ``seq`` numbers updates sharing a timestamp (0, 1, …) in file order;
    prices float64 in the quote currency, sizes float64 in the base asset; ``source`` =
    ``"quotes_parquet"``. Rows in errors are 1-based row positions.

    Raises:
        SourceDataError: unreadable Parquet, a missing column, several symbols in one file,
            a symbol that contradicts the given one, and the checks of
            :func:`~trading_assets.sources.validate.validate_quotes`.
    """

    format = "quotes_parquet"
    kind = "quotes"
    extensions = (".parquet",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.parquet`` file whose schema has timestamp, bid, bid_size, ask, ask_size."""
        return Sniffed() if has_parquet_columns(path, _REQUIRED) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        frame = read_parquet(self.path, self.origin)
        check_columns(self.origin, frame.columns, _REQUIRED, "quotes")
        content_symbol = None
        if "symbol" in frame.columns:
            symbols = frame["symbol"].drop_nulls().cast(pl.String).unique().sort()
            if symbols.len() > 1:
                raise SourceDataError(
                    self.origin,
                    f"the file holds several symbols ({', '.join(symbols.head(5))}); "
                    "one file must hold one symbol",
                    field="symbol",
                )
            content_symbol = symbols[0] if symbols.len() else None
        symbol = self.require_symbol(content_symbol)
        frame = with_rows(frame, 1)
        ts = utc_times(frame, "timestamp", self.origin, self.rejects)
        frame = frame.select(
            pl.lit(symbol).alias("symbol"),
            pl.lit(self.format).alias("source"),
            ts.alias("ts"),
            *[pl.col(c).cast(pl.Float64, strict=False) for c in _REQUIRED[1:]],
            ROW,
        )
        return validate_quotes(frame, self.origin, self.rejects)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the Parquet row (1-based) as JSON text."""
        return parquet_rows_text(self.path, rows)
