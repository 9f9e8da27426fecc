"""freqtrade's JSON candle files (``<BASE>_<QUOTE>-<timeframe>.json``)."""

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
from trading_assets.sources.validate import ROW, epoch_to_utc, validate_bars

_NUM = rb"\s*-?[0-9][0-9.eE+\-]*\s*"
_FIRST_ROW = re.compile(rb"^\s*\[\s*\[" + rb",".join([_NUM] * 6) + rb"\]")
# freqtrade stores mark/index prices and funding rates in the same layout; they are not trades.
_NOT_TRADE_CANDLES = re.compile(r"-(mark|index|funding_rate|premiumIndex)\.json$", re.I)

_COLUMNS: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}


class FreqtradeJsonReader(FileReader):
    """Bars from a freqtrade OHLCV JSON file (``freqtrade download-data --data-format json``).

    Input: one JSON array of rows ``[open_time_ms, open, high, low, close, volume]``, as
    freqtrade writes ``user_data/data/<exchange>/ETH_USDT-1m.json``. Symbol and timeframe come
    from the file name (``ETH_USDT-1m`` -> ``ETH/USDT``, ``1m``; futures files
    ``BTC_USDT_USDT-1h-futures`` -> ``BTC/USDT:USDT``) unless given.

    Output (:meth:`read`): the canonical ``bars`` frame
    (:data:`~trading_assets.schemas.BARS_SCHEMA`), sorted by ts, one row per candle:
    ``ts`` = candle open time, ``Datetime("us", "UTC")``; prices float64 in the quote
    currency; ``volume`` float64 in the base asset; ``trades`` and ``vwap`` null;
    ``source`` = ``"freqtrade_json"``. Rows in errors are 1-based array elements.

    The compact JSON is turned into CSV lines by byte replacement and parsed by Polars with
    an explicit schema: on the 3.7 MB ETH/USDT 1m file parsing takes ~20 ms (``json.loads`` +
    NumPy ~130 ms, DuckDB ``read_json`` ~75 ms); parse + validation ~45-65 ms in all.

    Raises:
        SourceDataError: empty file, invalid or truncated JSON, a value that is not a number,
            non-UTF-8 bytes, epoch units that switch (s vs ms), off-grid timestamps, prices
            <= 0, high below low, conflicting duplicate candles, unknown symbol or timeframe
            (see :func:`trading_assets.sources.validate.validate_bars`).
    """

    format = "freqtrade_json"
    kind = "bars"
    extensions = (".json",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.json`` file whose first element is an array of six numbers."""
        if file_suffix(path) != ".json" or _NOT_TRADE_CANDLES.search(path.name):
            return None
        return Sniffed() if _FIRST_ROW.match(head) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        timeframe = self.require_timeframe()
        data = read_bytes(self.path, self.origin, row_of=json_element_of)
        lines = json_rows_to_lines(data, self.origin)
        frame = read_delimited(
            lines, self.origin, _COLUMNS, first_row=1, null_values=["null"], rejects=self.rejects
        )
        frame = frame.with_columns(
            epoch_to_utc(frame["ts"], self.origin, frame[ROW], "ts", self.rejects),
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit(self.format).alias("source"),
        )
        return validate_bars(frame, self.origin, self.rejects)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the JSON array element (1-based) as compact JSON text."""
        return json_elements_text(self.path, self.origin, rows)
