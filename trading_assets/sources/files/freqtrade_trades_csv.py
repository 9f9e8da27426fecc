"""freqtrade trade lists saved as CSV (``,timestamp,id,type,side,price,amount,cost,date``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    file_suffix,
    first_line,
    read_bytes,
    read_delimited,
)
from trading_assets.sources.files._trades import finish_trades

_REQUIRED = ("timestamp", "id", "side", "price", "amount")
_TYPES: dict[str, pl.DataType] = {
    "timestamp": pl.Int64(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
    "cost": pl.Float64(),
}


def _header(line: str) -> list[str]:
    return [name.strip().strip('"').lower() for name in line.split(",")]


class FreqtradeTradesCsvReader(FileReader):
    """Trade ticks from a CSV of freqtrade public trades (a pandas ``DataFrame.to_csv`` of
    freqtrade's trades list, as freqtrade's ``tests/testdata/orderflow/public_trades_list.csv``).

    Input: a header with ``timestamp`` (epoch ms), ``id``, ``side`` (buy/sell: the taker's
    side), ``price``, ``amount`` (base asset) and optionally an unnamed pandas index,
    ``type``, ``cost``, ``date`` (ignored: ``timestamp`` is authoritative). Symbol from the
    file name (``ETHUSDT_trades_2023-02-02.csv`` -> ``ETH/USDT``).

    Output (:meth:`read`): canonical ``ticks`` sorted by ts: ``trade_id`` = ``id`` as text,
    ``price`` float64 in the quote currency, ``size`` float64 in the base asset, ``side``
    buy/sell/null, ``source`` = ``"freqtrade_trades_csv"``. Rows in errors are file lines.

    Raises:
        SourceDataError: empty file, a missing column, non-UTF-8 bytes, a non-number, epoch
            units that switch, and the checks of
            :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "freqtrade_trades_csv"
    kind = "ticks"
    extensions = (".csv",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.csv`` whose header has timestamp, id, side, price, amount."""
        if file_suffix(path) not in cls.extensions:
            return None
        names = _header(first_line(head))
        if "local_timestamp" in names or "exchange" in names:
            return None  # a Tardis export: the header-driven trades_csv reader
        return Sniffed() if all(n in names for n in _REQUIRED) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        data = read_bytes(self.path, self.origin)
        names = _header(first_line(data[:4096]))
        for name in _REQUIRED:
            if name not in names:
                raise SourceDataError(
                    self.origin, f"the header has no {name!r} column", row=1, field=name
                )
        columns: dict[str, pl.DataType] = {}
        for index, name in enumerate(names):
            key = name or f"_unnamed_{index}"
            if key in columns:
                raise SourceDataError(self.origin, f"the header repeats {name!r}", row=1)
            columns[key] = _TYPES.get(key, pl.String())
        frame = read_delimited(data, self.origin, columns, skip_lines=1, rejects=self.rejects)
        return finish_trades(frame, symbol, self.format, self.origin, self.rejects)
