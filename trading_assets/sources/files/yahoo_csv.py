"""Yahoo Finance CSV downloads (``Date,Open,High,Low,Close,Adj Close,Volume``)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    file_suffix,
    first_line,
    parse_datetime_column,
    read_bytes,
    read_delimited,
)
from trading_assets.sources.validate import validate_bars

_REQUIRED = ("date", "open", "high", "low", "close", "volume")
_CLASSIC = {*_REQUIRED, "adj close"}
_ISO_DATE = re.compile(rb"^\s*\d{4}-\d{2}-\d{2}")


def _header(line: str) -> list[str]:
    return [name.strip().strip('"').lower() for name in line.split(",")]


class YahooCsvReader(FileReader):
    """Daily bars from a Yahoo Finance CSV (the classic "Download" layout, as in backtrader's
    ``datas/orcl-1995-2014.txt``).

    Input: a header line ``Date,Open,High,Low,Close,Adj Close,Volume`` (column order free,
    ``Adj Close`` optional and ignored), then one line per session, ``Date`` as ``YYYY-MM-DD``
    (a time suffix such as ``" 00:00:00-05:00"`` is ignored: the date is the session date).
    Open/High/Low/Close are used as given — in these files they are already split-adjusted;
    ``Adj Close`` is additionally dividend-adjusted and is not used. Yahoo's ``null`` cells are
    reported as missing values. Symbol from the file name (``orcl-1995-2014.txt`` -> ``ORCL``);
    timeframe from the name, else ``1d``.

    Output (:meth:`read`): canonical ``bars``; ``ts`` = 00:00 UTC of the session date;
    prices float64 in the listing currency; ``volume`` float64 in shares; ``source`` =
    ``"yahoo_csv"``. Rows in errors are file line numbers (the header is line 1).

    Raises:
        SourceDataError: empty file, a missing column, non-UTF-8 bytes, a value that is not a
            number or date, and every check of
            :func:`~trading_assets.sources.validate.validate_bars`.
    """

    format = "yahoo_csv"
    kind = "bars"
    extensions = (".csv", ".txt")

    def __init__(
        self, path: str | Path, *, symbol: str | None = None, timeframe: str | None = None
    ) -> None:
        super().__init__(path, symbol=symbol, timeframe=timeframe)
        self.timeframe = self.timeframe or "1d"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.csv``/``.txt`` file whose header is Date, Open, High, Low, Close, Volume (and
        Adj Close), any order, and whose first row starts with a ``YYYY-MM-DD`` date."""
        if file_suffix(path) not in cls.extensions:
            return None
        names = _header(first_line(head))
        if not names or names[0] != "date" or not set(_REQUIRED) <= set(names) <= _CLASSIC:
            return None  # other columns or date layouts: the header-driven ohlcv_csv reader
        rows = head.split(b"\n", 2)
        return Sniffed() if len(rows) > 1 and _ISO_DATE.match(rows[1]) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        timeframe = self.require_timeframe()
        data = read_bytes(self.path, self.origin)
        names = _header(first_line(data[:4096]))
        for name in _REQUIRED:
            if name not in names:
                raise SourceDataError(
                    self.origin, f"the header has no {name!r} column", row=1, field=name
                )
        if len(set(names)) != len(names):
            raise SourceDataError(self.origin, "the header repeats a column name", row=1)
        columns: dict[str, pl.DataType] = {
            name: (pl.Float64() if name in _REQUIRED[1:] else pl.String()) for name in names
        }
        frame = read_delimited(
            data, self.origin, columns, skip_lines=1, null_values=["null"], rejects=self.rejects
        )
        frame = frame.with_columns(pl.col("date").str.slice(0, 10))
        dates = parse_datetime_column(
            frame, "date", "%Y-%m-%d", self.origin, field="Date", rejects=self.rejects
        )
        frame = frame.select(
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            dates.dt.replace_time_zone("UTC").alias("ts"),
            "open",
            "high",
            "low",
            "close",
            "volume",
            pl.lit(self.format).alias("source"),
            "_row",
        )
        return validate_bars(frame, self.origin, self.rejects)
