"""NinjaTrader text exports (``yyyyMMdd HHmmss;open;high;low;close;volume``)."""

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
    local_to_utc,
    parse_datetime_column,
    read_bytes,
    read_delimited,
)
from trading_assets.sources.validate import validate_bars
from trading_assets.timeframes import timeframe_seconds

_NUM = r"-?\d+(\.\d+)?"
_INTRADAY_LINE = re.compile(rf"^\d{{8}} \d{{6}}(;{_NUM}){{5}}$")
_DAILY_LINE = re.compile(rf"^\d{{8}}(;{_NUM}){{5}}$")
_COLUMNS: dict[str, pl.DataType] = {
    "time": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}


class NinjaTraderReader(FileReader):
    """Bars from a NinjaTrader historical-data export (as in pyalgotrade's
    ``testcases/data/nt-spy-minute-2011.csv``).

    Input: no header, semicolon-separated, CRLF or LF; intraday lines
    ``yyyyMMdd HHmmss;open;high;low;close;volume``, daily lines ``yyyyMMdd;open;…``. Symbol
    and timeframe from the file name (``nt-spy-minute-2011.csv`` -> ``SPY``, ``1m``); daily
    layout -> ``1d``; an intraday file whose name gives no bar size needs a mapping entry.

    Bar time convention — decision: NinjaTrader stamps intraday bars with their **close**
    (end) time, so by default ``ts = stamp - timeframe`` (the canonical open time). The data
    agree: in nt-spy-minute-2011 the busiest minute of each session (the 09:30 ET opening
    minute) is stamped 14:31 UTC, while the 14:30 stamp holds only the pre-open minute plus
    the opening print at exactly 09:30:00; the last regular minute is stamped 21:00. With the
    shift, the first regular bar opens at 14:30 UTC = 09:30 EST. Pass ``bar_time="open"`` for
    exports that stamp the open. Daily bars are never shifted.

    Time zone: NinjaTrader writes the exporting PC's local time; the shared test file is UTC
    (bulk volume 14:30–21:00 in January = 09:30–16:00 EST), hence ``tz="UTC"`` by default.

    Args:
        path, symbol, timeframe: see :class:`~trading_assets.sources.files._common.FileReader`.
        tz: IANA time zone of the stamps (DST-correct conversion to UTC).
        bar_time: ``"end"`` (NinjaTrader's convention) or ``"open"``.

    Output (:meth:`read`): canonical ``bars``; ``ts`` bar open in UTC; prices float64 in the
    instrument's currency; volume float64 (shares/contracts); ``source`` = ``"ninjatrader"``.
    Rows in errors are file line numbers.

    Raises:
        SourceDataError: empty file, non-UTF-8 bytes, a malformed line or time, unknown
            timeframe, and the checks of :func:`~trading_assets.sources.validate.validate_bars`.
    """

    format = "ninjatrader"
    kind = "bars"
    extensions = (".csv", ".txt")

    def __init__(
        self,
        path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        tz: str = "UTC",
        bar_time: str = "end",
    ) -> None:
        super().__init__(path, symbol=symbol, timeframe=timeframe)
        if bar_time not in ("end", "open"):
            raise ValueError(f"bar_time must be 'end' or 'open', got {bar_time!r}")
        self.tz = tz
        self.bar_time = bar_time

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.csv``/``.txt`` file whose first line is a NinjaTrader bar line."""
        if file_suffix(path) not in cls.extensions:
            return None
        line = first_line(head).strip()
        if _INTRADAY_LINE.match(line):
            return Sniffed()
        if _DAILY_LINE.match(line):
            return Sniffed(timeframe="1d")
        return None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        data = read_bytes(self.path, self.origin)
        line = first_line(data[:4096]).strip()
        daily = bool(_DAILY_LINE.match(line))
        if not daily and not _INTRADAY_LINE.match(line):
            raise SourceDataError(self.origin, "the first line is not a NinjaTrader bar", row=1)
        frame = read_delimited(data, self.origin, _COLUMNS, separator=";", rejects=self.rejects)
        if daily:
            timeframe = self.require_timeframe("1d") if self._timeframe_explicit else "1d"
            stamps = parse_datetime_column(
                frame, "time", "%Y%m%d", self.origin, rejects=self.rejects
            )
            ts = stamps.dt.replace_time_zone("UTC")
        else:
            timeframe = self.require_timeframe()
            stamps = parse_datetime_column(
                frame, "time", "%Y%m%d %H%M%S", self.origin, rejects=self.rejects
            )
            ts = local_to_utc(stamps, self.tz, frame, self.origin, "time", self.rejects)
            if self.bar_time == "end":
                ts = ts.dt.offset_by(f"-{timeframe_seconds(timeframe)}s")
        frame = frame.with_columns(
            ts.alias("ts"),
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit(self.format).alias("source"),
        )
        return validate_bars(frame, self.origin, self.rejects)
