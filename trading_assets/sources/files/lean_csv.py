"""QuantConnect Lean equity data files (header-less CSV, prices in deci-cents)."""

from __future__ import annotations

import re
from datetime import date, datetime
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
from trading_assets.sources.files._naming import (
    infer_from_name,
    strip_extensions,
    timeframe_from_token,
)
from trading_assets.sources.validate import ROW, validate_bars, validate_quote_bars

#: ``20131004_spy_minute_trade`` (the member name inside Lean's minute/second zips).
_INTRADAY_NAME = re.compile(
    r"^(?P<date>\d{8})_(?P<symbol>[A-Za-z0-9.\-]+)_(?P<res>minute|second)_(?P<type>trade|quote)$",
    re.I,
)
_DATETIME_LINE = re.compile(r"^\d{8} \d{2}:\d{2}(,-?\d+(\.\d+)?)+$")
_MS_LINE = re.compile(r"^\d{1,8}(,-?\d+(\.\d+)?)+$")
_BAR_FIELDS = ["open", "high", "low", "close", "volume"]
_QUOTE_FIELDS = [
    "bid_open",
    "bid_high",
    "bid_low",
    "bid_close",
    "bid_size",
    "ask_open",
    "ask_high",
    "ask_low",
    "ask_close",
    "ask_size",
]
_PRICE_FIELDS = [f for f in _BAR_FIELDS + _QUOTE_FIELDS if not f.endswith(("volume", "size"))]
_RESOLUTION_DIRS = {"daily": "1d", "hour": "1h", "minute": "1m", "second": "1s"}


def _variant(line: str) -> tuple[str, int] | None:
    """('datetime' | 'ms', field count) of a Lean data line, or None."""
    line = line.strip()
    if _DATETIME_LINE.match(line):
        kind = "datetime"
    elif _MS_LINE.match(line):
        kind = "ms"
    else:
        return None
    fields = line.count(",") + 1
    return (kind, fields) if fields in (6, 11) else None


def _folder_timeframe(path: Path) -> str | None:
    """Lean's resolution folder (``.../equity/usa/daily/spy.zip``) as a timeframe."""
    for part in reversed(path.parts[:-1]):
        if part.lower() in _RESOLUTION_DIRS:
            return _RESOLUTION_DIRS[part.lower()]
    return None


def _times_timeframe(text: str) -> str:
    """``1d`` if every ``YYYYMMDD HH:MM`` time in ``text`` is 00:00, else ``1h``."""
    times = re.findall(r"^\d{8} (\d{2}:\d{2}),", text, re.M)
    return "1d" if all(t == "00:00" for t in times) else "1h"


class LeanCsvReader(FileReader):
    """Trade or quote bars from a QuantConnect Lean equity data CSV (unzipped).

    Input, no header, prices as integers in deci-cents (x10,000: ``973600`` = $97.36):
      * daily/hour files (``daily/spy.zip`` -> ``spy.csv``; here ``lean_spy_daily.csv``):
        ``YYYYMMDD HH:MM, open, high, low, close, volume`` (exchange time);
      * minute/second files ``YYYYMMDD_<sym>_minute_trade.csv``:
        ``ms_since_midnight, open, high, low, close, volume``, the date only in the file name;
      * quote files ``…_quote.csv``: ``time, bid open, high, low, close, bid size, ask open,
        high, low, close, ask size`` -> kind ``quote_bars``.

    Times are exchange-local (America/New_York for US equities) and converted to UTC with
    the IANA time-zone rules (DST-correct: 09:30 is 13:30Z in summer, 14:30Z in winter).
    Daily bars get ``ts`` = 00:00 UTC of the session date. Timeframe from the file name or
    Lean's resolution folder (``daily``/``hour``/``minute``/``second``); for a daily/hour
    layout without either, ``1d`` if every time is 00:00, else ``1h``.

    Args:
        path, symbol, timeframe: see :class:`~trading_assets.sources.files._common.FileReader`.
        kind: ``bars`` or ``quote_bars`` (default: ``quote_bars`` when the name says
            ``quote``; the field count must agree).
        trade_date: session date of a minute/second file (default: from its name).
        tz: exchange time zone of the file's times.
        price_scale: divisor of the stored prices (10,000 for Lean equities; 1 for Lean
            crypto/forex data, which are stored unscaled).

    Output (:meth:`read`): canonical ``bars`` (volume float64 in shares, ``source`` =
    ``"lean_csv"``) or ``quote_bars`` (sizes in shares), prices float64 in USD, ``ts`` the bar
    open in UTC. Rows in errors are file line numbers.

    Raises:
        SourceDataError: empty file, non-UTF-8 bytes, a line that is not a Lean row, a
            minute file without a date in its name, ms outside the day, a non-existent local
            time, and the checks of ``validate_bars`` / ``validate_quote_bars``.
    """

    format = "lean_csv"
    kind = "bars"
    extensions = (".csv",)

    def __init__(
        self,
        path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        kind: str | None = None,
        trade_date: date | str | None = None,
        tz: str = "America/New_York",
        price_scale: float = 10_000.0,
    ) -> None:
        super().__init__(path, symbol=symbol, timeframe=timeframe)
        stem = strip_extensions(self.path.name)
        self._name = _INTRADAY_NAME.match(stem)
        if self.timeframe is None:
            self.timeframe = _folder_timeframe(self.path)
        if kind is None:
            kind = "quote_bars" if re.search(r"(^|_)quote($|_)", stem, re.I) else "bars"
        if kind not in ("bars", "quote_bars"):
            raise ValueError(f"kind must be 'bars' or 'quote_bars', got {kind!r}")
        self.kind = kind
        if isinstance(trade_date, str):
            trade_date = datetime.strptime(trade_date.replace("-", ""), "%Y%m%d").date()
        self.trade_date = trade_date
        self.tz = tz
        self.price_scale = float(price_scale)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A header-less ``.csv`` whose first line is a Lean row; minute files need the Lean
        file name (``YYYYMMDD_<sym>_<minute|second>_<trade|quote>.csv``) for their date."""
        if file_suffix(path) != ".csv":
            return None
        variant = _variant(first_line(head))
        if variant is None:
            return None
        layout, fields = variant
        kind = "quote_bars" if fields == 11 else "bars"
        if layout == "ms":
            match = _INTRADAY_NAME.match(strip_extensions(path.name))
            if match is None:
                return None
            return Sniffed(kind=kind, timeframe=timeframe_from_token(match.group("res")))
        timeframe = (
            infer_from_name(path)[1]
            or _folder_timeframe(path)
            or _times_timeframe(head.decode("utf-8", errors="replace"))
        )
        return Sniffed(kind=kind, timeframe=timeframe)

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        data = read_bytes(self.path, self.origin)
        variant = _variant(first_line(data[:4096]))
        if variant is None:
            raise SourceDataError(
                self.origin, "the first line is not a QuantConnect Lean data row", row=1
            )
        layout, fields = variant
        file_kind = "quote_bars" if fields == 11 else "bars"
        if file_kind != self.kind:
            raise SourceDataError(
                self.origin,
                f"the file holds {fields} fields per row ({file_kind}) but {self.kind} was "
                "expected from its name or the mapping file",
                row=1,
            )
        names = _QUOTE_FIELDS if fields == 11 else _BAR_FIELDS
        time_col = "time"
        columns: dict[str, pl.DataType] = {
            time_col: pl.String() if layout == "datetime" else pl.Int64(),
            **{n: pl.Float64() for n in names},
        }
        frame = read_delimited(data, self.origin, columns, rejects=self.rejects)
        if layout == "datetime":
            local = parse_datetime_column(
                frame, time_col, "%Y%m%d %H:%M", self.origin, rejects=self.rejects
            )
            timeframe = self.timeframe or _times_timeframe(data.decode("utf-8"))
            if timeframe == "1d":
                ts = local.dt.replace_time_zone("UTC")
            else:
                ts = local_to_utc(local, self.tz, frame, self.origin, time_col, self.rejects)
        else:
            timeframe = self.require_timeframe()
            ts = self._intraday_ts(frame, time_col)
        # NumPy division is correctly rounded; Polars multiplies by the reciprocal, which
        # turns 1674200 / 10000 into 167.42000000000002 instead of 167.42.
        scaled = [
            pl.Series(n, frame[n].to_numpy() / self.price_scale, dtype=pl.Float64)
            for n in names
            if n in _PRICE_FIELDS
        ]
        frame = frame.with_columns(
            *scaled,
            ts.alias("ts"),
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit(self.format).alias("source"),
        )
        if self.kind == "quote_bars":
            return validate_quote_bars(frame, self.origin, self.rejects)
        return validate_bars(frame, self.origin, self.rejects)

    def _intraday_ts(self, frame: pl.DataFrame, time_col: str) -> pl.Series:
        day = self.trade_date
        if day is None:
            if self._name is None:
                raise SourceDataError(
                    self.origin,
                    "a Lean minute/second file takes its date from its name "
                    "(YYYYMMDD_<symbol>_minute_trade.csv); rename the file or set "
                    'options = { trade_date = "YYYY-MM-DD" } in the mapping file',
                )
            day = datetime.strptime(self._name.group("date"), "%Y%m%d").date()
        ms = frame[time_col]
        bad = ms.is_null() | (ms < 0) | (ms >= 86_400_000)
        if bad.any() and self.rejects is not None:
            self.rejects.add(
                frame[ROW].filter(bad),
                time_col,
                "not a time of day in milliseconds since midnight",
            )
        elif bad.any():
            idx = int(bad.arg_max())
            raise SourceDataError(
                self.origin,
                f"{ms[idx]} is not a time of day in milliseconds since midnight",
                row=int(frame[ROW][idx]),
                field=time_col,
            )
        local = pl.lit(datetime(day.year, day.month, day.day), dtype=pl.Datetime("us")) + (
            pl.duration(milliseconds=pl.col(time_col))
        )
        naive = frame.select(local.alias("ts"))["ts"]
        return local_to_utc(naive, self.tz, frame, self.origin, time_col, self.rejects)
