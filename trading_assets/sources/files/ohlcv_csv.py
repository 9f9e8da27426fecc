"""Any OHLCV CSV whose header names its columns: a header-driven bar reader.

Covers the layouts traders export most: yfinance's ``DataFrame.to_csv`` (``Datetime`` with
time-zone offsets, ``Adj Close``, ``Dividends``, ``Stock Splits``, ``Capital Gains``), pandas
and backtesting.py index CSVs (first header cell empty), CryptoDataDownload exports (a banner
line above the header, newest first, unix times in ms and s mixed), Google Finance
(``31-Dec-10``, ``-`` for a missing value), and any CSV whose columns carry common names
(:data:`ALIASES`) in any order, separated by ``,``, ``;``, tab or ``|``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    drop_blank_rows,
    ensure_timeframe,
    file_suffix,
    read_bytes,
    with_rows,
)
from trading_assets.sources.files._naming import KNOWN_QUOTES, normalize_symbol
from trading_assets.sources.files._times import parse_times
from trading_assets.sources.validate import ROW, validate_bars
from trading_assets.timeframes import timeframe_delta

#: role -> lower-cased header names that give it (``volume`` also takes ``Volume <base>``)
ALIASES: dict[str, tuple[str, ...]] = {
    "time": (
        *("unix", "unix timestamp", "timestamp", "open time", "open_time", "opentime", "ts"),
        *("datetime", "date", "date/time", "time", "gmt time", "local time", "dt", "day"),
    ),
    "open": ("open", "o", "open price", "opening price", "first"),
    "high": ("high", "h", "high price", "max"),
    "low": ("low", "l", "low price", "min"),
    "close": ("close", "c", "close price", "closing price", "last", "price"),
    "volume": ("volume", "vol", "v", "base volume", "volume_base", "volume (base)"),
    "quote_volume": ("quote volume", "quote_volume", "quote asset volume", "volume_quote"),
    "trades": ("tradecount", "trades", "trade count", "trade_count", "number of trades", "count"),
    "vwap": ("vwap", "average", "wap"),
    "symbol": ("symbol", "ticker", "pair", "instrument", "asset"),
    "adj_close": ("adj close", "adj_close", "adjclose", "adjusted close", "adj. close"),
    "dividend": ("dividends", "dividend"),
    "split": ("stock splits", "stock split", "splits", "split"),
    "capital_gain": ("capital gains", "capital gain"),
}
_EPOCH_NAMES = ("unix", "unix timestamp", "timestamp", "open time", "open_time", "opentime", "ts")
_ROLE_OF = {name: role for role, names in ALIASES.items() for name in names}
_SEPARATORS = (",", ";", "\t", "|")
#: values taken as missing
MISSING = ["", "-", "null", "NULL", "None", "NaN", "nan", "N/A", "n/a", "#N/A"]
#: timeframes a bar spacing may give (anything else must be named)
_SPACINGS = {
    s: tf
    for tf, s in (
        *(("1s", 1), ("5s", 5), ("15s", 15), ("30s", 30), ("1m", 60), ("3m", 180)),
        *(("5m", 300), ("15m", 900), ("30m", 1800), ("1h", 3600), ("2h", 7200)),
        *(("4h", 14400), ("6h", 21600), ("8h", 28800), ("12h", 43200), ("1d", 86400)),
        ("1w", 604800),
    )
}
#: a last bar whose volume is below this share of the median of the bars before it is taken
#: for a still-forming candle (the file was saved while it traded)
PARTIAL_VOLUME_SHARE = 0.05
_ACTIONS = ("dividend", "split", "capital_gain")
_PRICES = ("open", "high", "low", "close")


def _cells(line: str, separator: str) -> list[str]:
    return [c.strip().strip('"').strip("'").strip().lower() for c in line.split(separator)]


def _roles(names: list[str]) -> dict[str, int]:
    """Role -> column index for the header ``names`` (first column wins; an empty first
    cell is the pandas index, i.e. the time)."""
    roles: dict[str, int] = {}
    for index, name in enumerate(names):
        role = _ROLE_OF.get(name)
        if role is None and name.startswith(("volume ", "volume_", "vol ")):
            role = "volume"
        if role is None and index == 0 and name in ("", "unnamed: 0", "index"):
            role = "time"
        if role is not None:
            roles.setdefault(role, index)
    return roles


def find_header(text: str, max_lines: int = 10) -> tuple[int, str, list[str]] | None:
    """``(line index, separator, lower-cased names)`` of the first of the first ``max_lines``
    lines that names a time column and open, high, low and close; None if there is none."""
    for index, line in enumerate(text.split("\n")[:max_lines]):
        line = line.rstrip("\r").lstrip("\ufeff")
        for separator in _SEPARATORS:
            if separator not in line:
                continue
            names = _cells(line, separator)
            roles = _roles(names)
            if all(r in roles for r in ("time", "open", "high", "low", "close")):
                return index, separator, names
    return None


class OhlcvCsvReader(FileReader):
    """Bars from a CSV whose header names its columns (see the module docstring).

    Input: optional banner lines, then a header with a time column (``Date``, ``Datetime``,
    ``unix``, ``timestamp``, an empty first cell...) and open, high, low, close (any order,
    common aliases, :data:`ALIASES`); optional volume (``Volume``, or ``Volume <base>`` next
    to ``Volume <quote>``: the base one is the volume, the quote one gives ``vwap``), trade
    count, vwap, symbol, ``Adj Close``, ``Dividends``, ``Stock Splits``, ``Capital Gains``.
    Other columns are ignored.

    Times, per row: epoch numbers in s, ms, us or ns (detected per row; ``1513555200.0``
    too), or dates and times in any of :data:`~trading_assets.sources.files._times.FORMATS`,
    mixed within one column; a numeric offset (``-05:00``) or ``Z`` is honoured, times
    without one are UTC (or local times in ``tz``, an IANA zone, given as a mapping-file
    option). Rows may come newest first; blank lines are skipped.

    Symbol: given, else a single value of the ``symbol`` column, else the file name.
    Timeframe: given, else the file name (``_d``, ``day``, ``1h``, ``15m``...), else the
    most common spacing of the bars (1s ... 1w).

    Output (:meth:`read`): canonical ``bars``; ``ts`` = bar open in UTC, for daily and longer
    bars 00:00 UTC of the date as written (the session date, also for ``2022-01-03
    00:00:00-05:00``); prices float64 as written (``Adj Close`` is not stored: it is derived
    from dividends and splits, which are kept, and restated by Yahoo after each dividend);
    ``volume`` float64 (0 when the file has no volume); ``trades`` from a trade count;
    ``vwap`` = quote volume / base volume when both exist; ``source`` = ``"ohlcv_csv"``.
    Non-zero dividends, splits and capital gains become :attr:`actions`
    (:data:`~trading_assets.schemas.CORPORATE_ACTIONS_SCHEMA`). Rows in errors are file
    lines. Lenient reading (:meth:`read_checked`) sets aside rows with a missing or
    unparseable value or time, and holds back a still-forming last candle (volume below
    :data:`PARTIAL_VOLUME_SHARE` of the median of the 20 bars before it).

    Raises:
        SourceDataError: empty file, non-UTF-8 bytes, no header naming time and OHLC, a
            repeated column, several symbols in one file, an unknown symbol or timeframe,
            and (strict mode) every row check of
            :func:`~trading_assets.sources.validate.validate_bars`.
    """

    format = "ohlcv_csv"
    kind = "bars"
    extensions = (".csv", ".txt", ".tsv")

    def __init__(
        self,
        path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        tz: str | None = None,
    ) -> None:
        super().__init__(path, symbol=symbol, timeframe=timeframe)
        self.tz = tz

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A CSV whose header (within its first 10 lines) names a time column and open,
        high, low and close; reads the symbol from a ``symbol`` column's first value."""
        if file_suffix(path) not in cls.extensions:
            return None
        text = head.decode("utf-8", errors="replace")
        found = find_header(text)
        if found is None:
            return None
        index, separator, names = found
        roles = _roles(names)
        symbol = None
        if "symbol" in roles:
            rows = [line for line in text.split("\n")[index + 1 :] if line.strip()]
            if rows:
                cells = rows[0].rstrip("\r").split(separator)
                if len(cells) > roles["symbol"]:
                    symbol = cells[roles["symbol"]].strip().strip('"') or None
        return Sniffed(symbol=symbol)

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        data = read_bytes(self.path, self.origin)
        text = data.decode("utf-8")
        found = find_header(text)
        if found is None:
            raise SourceDataError(
                self.origin,
                "no header line naming a time column and open, high, low, close in the "
                "first 10 lines",
                row=1,
            )
        index, separator, names = found
        frame = self._table(data, index, separator, names)
        roles = _roles(names)
        symbol = self.require_symbol(self._content_symbol(frame, roles, names))
        base = symbol.split("/")[0].lower() if "/" in symbol else None
        columns = {role: names[i] for role, i in roles.items()}
        columns.update(self._volumes(names, base))
        times = parse_times(frame, columns["time"], self.origin, self.tz, self.rejects)
        frame = frame.with_columns(times.instant.alias("_instant"), times.wall.alias("_wall"))
        timeframe = self._timeframe(frame)
        daily = timeframe.endswith(("d", "w"))
        ts = (
            pl.col("_wall").dt.truncate("1d").dt.replace_time_zone("UTC")
            if daily
            else pl.col("_instant")
        )
        frame = frame.with_columns(ts.alias("ts"))
        numbers = self._numbers(frame, columns)
        bars = frame.with_columns(numbers).select(
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            "ts",
            *[n.name for n in numbers],
            pl.lit(self.format).alias("source"),
            ROW,
        )
        bars = self._hold_back_partial(bars, _created_on(text.split("\n")[:index]))
        self.actions = self._actions(frame, columns, symbol)
        return validate_bars(bars, self.origin, self.rejects)

    # -- parsing -------------------------------------------------------------------------
    def _table(self, data: bytes, index: int, separator: str, names: list[str]) -> pl.DataFrame:
        if len(set(names)) != len(names):
            repeated = next(n for n, c in Counter(names).items() if c > 1)
            raise SourceDataError(
                self.origin, f"the header repeats the column {repeated!r}", row=index + 1
            )
        try:
            frame = pl.read_csv(
                data,
                skip_lines=index,
                has_header=True,
                new_columns=[n or "_index" for n in names],
                infer_schema=False,
                separator=separator,
                truncate_ragged_lines=True,
            )
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().split("\n", 1)[0]
            raise SourceDataError(self.origin, f"cannot parse the file: {first}") from exc
        frame = frame.rename({"_index": ""}) if "_index" in frame.columns else frame
        frame = with_rows(frame, index + 2).with_columns(
            pl.col(c).str.strip_chars().str.strip_chars('"') for c in frame.columns
        )
        frame = frame.with_columns(
            pl.when(pl.col(c).is_in(MISSING)).then(None).otherwise(pl.col(c)).alias(c)
            for c in frame.columns
            if c != ROW
        )
        frame = drop_blank_rows(frame)
        if frame.height == 0:
            raise SourceDataError(self.origin, "no rows: the file holds a header but no bars")
        self._field_counts(data, index, separator, len(names))
        return frame

    def _field_counts(self, data: bytes, index: int, separator: str, expected: int) -> None:
        """Rows with more or fewer fields than the header are bad rows (unquoted lines;
        a quoted field may hold the separator)."""
        lines = pl.Series(data.decode("utf-8").split("\n")[index + 1 :]).str.strip_chars("\r")
        counts = lines.str.count_matches(separator, literal=True) + 1
        wrong = (
            (counts != expected)
            & (lines.str.strip_chars().str.len_chars() > 0)
            & ~lines.str.contains('"', literal=True)
        )
        if not wrong.any():
            return
        rows = pl.int_range(index + 2, index + 2 + lines.len(), eager=True).filter(wrong)
        reasons = f"expected {expected} fields like the header, found " + counts.filter(wrong).cast(
            pl.String
        )
        if self.rejects is None:
            raise SourceDataError(self.origin, reasons[0], row=int(rows[0]))
        self.rejects.add(rows, None, reasons)

    def _content_symbol(
        self, frame: pl.DataFrame, roles: dict[str, int], names: list[str]
    ) -> str | None:
        if "symbol" not in roles:
            return None
        values = frame[names[roles["symbol"]]].drop_nulls()
        found = sorted({normalize_symbol(v) for v in values.unique().to_list()})
        if len(found) > 1:
            raise SourceDataError(
                self.origin,
                f"the file holds several symbols ({', '.join(found[:5])}); one file must hold "
                "one symbol: split it per symbol",
                field=names[roles["symbol"]],
            )
        return found[0] if found else None

    @staticmethod
    def _volumes(names: list[str], base: str | None) -> dict[str, str]:
        """The base volume column (``Volume ETH`` for ETH/USDT, else the first volume
        column) and the quote volume column (another ``Volume <X>``, or a named one)."""
        plain = [n for n in names if _ROLE_OF.get(n) == "volume"]
        suffixed = [
            n for n in names if n.startswith(("volume ", "volume_", "vol ")) and n not in plain
        ]
        out: dict[str, str] = {}
        quote_named = [n for n in names if _ROLE_OF.get(n) == "quote_volume"]
        if plain:
            out["volume"] = plain[0]
        elif suffixed:
            by_base = [
                n for n in suffixed if base and n.split(" ", 1)[-1].split("_", 1)[-1] == base
            ]
            out["volume"] = (by_base or suffixed)[0]
        others = [n for n in suffixed if n != out.get("volume")]
        quote = quote_named or [n for n in others if n.split(" ", 1)[-1].upper() in KNOWN_QUOTES]
        if quote:
            out["quote_volume"] = quote[0]
        return out

    def _timeframe(self, frame: pl.DataFrame) -> str:
        if self.timeframe is not None:
            return self.timeframe
        steps = (
            frame["_instant"].drop_nulls().unique().sort().diff().dt.total_seconds().drop_nulls()
        )
        steps = steps.filter(steps > 0)
        if steps.len() == 0:
            return self.require_timeframe()  # raises: nothing to measure
        spacing = int(steps.mode().sort()[0])
        if spacing not in _SPACINGS:
            raise SourceDataError(
                self.origin,
                "cannot tell the bar timeframe: the file name does not say it and the bars "
                f"are mostly {timedelta(seconds=spacing)} apart, not a timeframe this "
                "platform stores (1s ... 1w); if they are, add an entry with "
                '`timeframe = "1d"` (or 1h...) to the mapping file',
                field="timeframe",
            )
        return ensure_timeframe(_SPACINGS[spacing], self.origin)

    def _numbers(self, frame: pl.DataFrame, columns: dict[str, str]) -> list[pl.Series]:
        """OHLC, volume, trades and vwap as numbers; a value that is not a number is set
        aside (lenient) or raises (strict)."""
        out = [self._number(frame, columns[role]).alias(role) for role in _PRICES]
        volume = columns.get("volume")
        has_volume = volume is not None and frame[volume].drop_nulls().len() > 0
        base = self._number(frame, volume) if has_volume else pl.Series([0.0] * frame.height)
        out.append(base.alias("volume"))
        trades = columns.get("trades")
        counts = (
            self._number(frame, trades).round().cast(pl.Int64)
            if trades
            else pl.Series([None] * frame.height, dtype=pl.Int64)
        )
        out.append(counts.alias("trades"))
        vwap = pl.Series([None] * frame.height, dtype=pl.Float64)
        if "vwap" in columns:
            vwap = self._number(frame, columns["vwap"])
        elif has_volume and "quote_volume" in columns:
            quote = self._number(frame, columns["quote_volume"])
            vwap = pl.select(pl.when(base > 0).then(quote / base)).to_series()
        out.append(vwap.alias("vwap"))
        return out

    def _number(self, frame: pl.DataFrame, column: str) -> pl.Series:
        text = frame[column]
        values = text.cast(pl.Float64, strict=False)
        bad = text.is_not_null() & values.is_null()
        if bad.any():
            rows = frame[ROW].filter(bad)
            reasons = "'" + text.filter(bad) + "' is not a number"
            if self.rejects is None:
                raise SourceDataError(self.origin, reasons[0], row=int(rows[0]), field=column)
            self.rejects.add(rows, column, reasons)
        return values

    # -- held back and actions -----------------------------------------------------------
    def _hold_back_partial(self, bars: pl.DataFrame, created: date | None) -> pl.DataFrame:
        """The newest bar, when it was still forming when the file was written: it closes
        after the day a banner says the file was created, or its volume is a sliver of the
        usual (below :data:`PARTIAL_VOLUME_SHARE` of the median of the 20 bars before)."""
        recent = bars.drop_nulls("ts").sort("ts", descending=True).head(21)
        if recent.height == 0:
            return bars
        newest_ts = recent["ts"][0]
        closes = newest_ts + timeframe_delta(recent["timeframe"][0])
        reason = None
        if created is not None and closes.date() > created:
            reason = f"partial last candle: the file was created on {created}, before it closed"
        elif recent.height == 21:
            last, before = recent["volume"][0], recent["volume"][1:]
            median = before.filter(before > 0).median()
            if last is not None and median and 0 < last < PARTIAL_VOLUME_SHARE * median:
                reason = (
                    f"partial last candle: volume {last:g} is {last / median:.1%} of the median "
                    "of the 20 bars before it (the file was saved while the bar traded)"
                )
        if reason is None:
            return bars
        newest = pl.col("ts") == newest_ts
        if self.rejects is not None:
            return self.rejects.take(bars, newest, "volume", reason, held_back=True)
        return bars.filter(~newest)

    def _actions(
        self, frame: pl.DataFrame, columns: dict[str, str], symbol: str
    ) -> pl.DataFrame | None:
        present = [a for a in _ACTIONS if a in columns]
        if not present:
            return None
        if self.rejects is not None:  # rows that do not parse carry no action either
            frame = self.rejects.exclude(frame)
        day = pl.col("_wall").dt.truncate("1d").dt.replace_time_zone("UTC")
        parts = [
            frame.select(
                pl.lit(symbol).alias("symbol"),
                day.alias("ts"),
                pl.lit(action).alias("action"),
                pl.col(columns[action]).cast(pl.Float64, strict=False).alias("value"),
                pl.lit(self.format).alias("source"),
                pl.lit(self.origin).alias("origin"),
            ).filter(
                pl.col("value").is_not_null() & (pl.col("value") != 0) & pl.col("ts").is_not_null()
            )
            for action in present
        ]
        return (
            pl.concat(parts).unique(["symbol", "ts", "action"], keep="first").sort("ts", "action")
        )


_CREATED = re.compile(r"created[^0-9]*(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})", re.IGNORECASE)


def _created_on(banner: list[str]) -> date | None:
    """The creation date a banner line states (``Created on 09-07-2020``: month first, as
    CryptoDataDownload writes it; or ``2020-09-07``), else None."""
    for line in banner:
        match = _CREATED.search(line)
        if match is None:
            continue
        a, b, c = (int(g) for g in match.groups())
        year, month, day = (a, b, c) if a > 31 else (c, a, b)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None
