"""freqtrade trade files in JSON (``<PAIR>-trades.json[.gz]``: arrays of 7 values)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    file_suffix,
    json_element_of,
    json_elements_text,
    json_rows_to_lines,
    read_bytes,
    read_delimited,
)
from trading_assets.sources.files._trades import finish_trades

_VALUE = rb'\s*("[^"]*"|-?[0-9][0-9.eE+\-]*|null)\s*'
_FIRST_ROW = re.compile(
    rb"^\s*\[\s*\[\s*\d+\s*," + _VALUE + rb"," + _VALUE + rb",\s*(\"(buy|sell)\"|null)\s*,"
)
_COLUMNS: dict[str, pl.DataType] = {
    "timestamp": pl.Int64(),
    "id": pl.String(),
    "type": pl.String(),
    "side": pl.String(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
    "cost": pl.Float64(),
}


class FreqtradeTradesJsonReader(FileReader):
    """Trade ticks from a freqtrade trades file in JSON, plain or gzipped
    (``user_data/data/<exchange>/XRP_ETH-trades.json.gz``, freqtrade's ``jsongz`` format).

    Input: a JSON array of ``[timestamp_ms, id, type, side, price, amount, cost]`` rows
    (``id`` text, ``type`` usually null, ``side`` buy/sell = taker side, ``amount`` in the base
    asset, ``cost`` in the quote currency, ignored). Several fills may share a millisecond;
    they are distinct trades (different ids). Symbol from the file name
    (``binance_XRP_ETH-trades_2019-10.json.gz`` -> ``XRP/ETH``).

    Output (:meth:`read`): canonical ``ticks`` sorted by ts: ``trade_id`` = ``id``; prices
    float64 in the quote currency; ``size`` float64 in the base asset; ``source`` =
    ``"freqtrade_trades_json"``. Rows in errors are 1-based array elements.

    Raises:
        SourceDataError: empty file, corrupt gzip, invalid or truncated JSON, non-UTF-8
            bytes, a non-number, epoch units that switch, and the checks of
            :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "freqtrade_trades_json"
    kind = "ticks"
    extensions = (".json", ".json.gz")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.json``/``.json.gz`` array whose first row looks like ``[ts, id, type, side, …``."""
        if file_suffix(path) not in cls.extensions:
            return None
        return Sniffed() if _FIRST_ROW.match(head) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        data = read_bytes(self.path, self.origin, row_of=json_element_of)
        lines = json_rows_to_lines(data, self.origin)
        frame = read_delimited(
            lines, self.origin, _COLUMNS, first_row=1, null_values=["null"], rejects=self.rejects
        )
        return finish_trades(frame, symbol, self.format, self.origin, self.rejects)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the JSON array element (1-based) as compact JSON text."""
        return json_elements_text(self.path, self.origin, rows)
