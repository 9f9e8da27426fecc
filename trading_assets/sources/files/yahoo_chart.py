"""Yahoo Finance chart snapshots saved as JSON (``{symbol, interval, bars: [{t,o,h,l,c,v}]}``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    RAW_CHARS,
    FileReader,
    Sniffed,
    file_suffix,
    json_error,
    read_bytes,
    with_rows,
)
from trading_assets.sources.validate import ROW, on_grid, validate_bars
from trading_assets.timeframes import timeframe_seconds

_BARS_KEY = re.compile(rb'"bars"\s*:\s*\[')
_SYMBOL = re.compile(rb'"symbol"\s*:\s*"([^"]{1,32})"')
_INTERVAL = re.compile(rb'"interval"\s*:\s*"([^"]{1,8})"')
_EXCHANGE_TZ = "America/New_York"
_BAR_SCHEMA = {
    "t": pl.String(),
    "o": pl.Float64(),
    "h": pl.Float64(),
    "l": pl.Float64(),
    "c": pl.Float64(),
    "v": pl.Float64(),
}
_FIELDS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}


def _bar_of(data: bytes, offset: int) -> int | None:
    start = _BARS_KEY.search(data)
    if start is None or offset < start.end():
        return None
    return max(1, data.count(b"{", start.end(), offset))


class YahooChartReader(FileReader):
    """Bars from a saved Yahoo Finance chart response (as hapticPaper/charlie-technicals stores
    ``content/data/<SYM>/<interval>/<date>.json``).

    Input: a JSON object ``{"symbol", "interval", "fetchedAt"?, "bars": [{"t", "o", "h", "l",
    "c", "v"}, ...]}``; ``t`` is an ISO-8601 UTC time. Symbol and timeframe come from the
    content (``symbol``, ``interval``: ``1m``, ``60m`` -> ``1h``, ``1d``, ``1wk`` -> ``1w``), else
    from the file name; given values must agree with the content.

    Normalisation:
      * Daily and longer bars: Yahoo stamps them with the session open (``…T14:30:00Z``, or
        13:30Z in summer). ``ts`` becomes 00:00 UTC of the session date in America/New_York
        (00:00 UTC stamps are taken as dates as they are). If ``fetchedAt`` is before 16:00
        New York time of the last bar's last day (its session date for 1d, + 6 days for 1w),
        that bar was still forming and is dropped.
      * Intraday bars: the **last** bar of a snapshot may carry an off-grid time (e.g.
        ``00:59:57``): it is the live, still-forming bar at fetch time and is held back. Real
        snapshots are also merges of several fetches, so an off-grid partial bar can sit
        inside the file; it is held back only when the complete on-grid bar of the same
        minute (period) is also in the file (it is superseded by it). Any other off-grid bar
        is a bad row. Hourly equity bars anchored on the session open (09:30, 10:30... New
        York) are on grid, as are Yahoo's extended-hours bars on the clock hour. Held-back
        bars are listed by :meth:`read_checked` (``bad`` false).

    Output (:meth:`read`): canonical ``bars``: ``ts`` the bar open in UTC; prices float64 in
    USD (Yahoo's float32 noise such as 193.61000061035156 is kept as delivered); ``volume``
    float64 in shares (0 for extended-hours bars); ``source`` = ``"yahoo_chart"``. Rows in
    errors are 1-based elements of ``bars``.

    Raises:
        SourceDataError: empty file, invalid or truncated JSON, no ``bars`` array, a value
            that is not a number or time, non-UTF-8 bytes, an off-grid bar (other than the
            partial bars above), and the checks of
            :func:`~trading_assets.sources.validate.validate_bars`.
    """

    format = "yahoo_chart"
    kind = "bars"
    extensions = (".json",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.json`` object with a ``"bars": [`` key in its first 4 KB; reads ``symbol`` and
        ``interval`` when they come before it (as Yahoo snapshots write them)."""
        if file_suffix(path) != ".json" or not head.lstrip().startswith(b"{"):
            return None
        if not _BARS_KEY.search(head):
            return None
        symbol = _SYMBOL.search(head)
        interval = _INTERVAL.search(head)
        return Sniffed(
            symbol=symbol.group(1).decode() if symbol else None,
            timeframe=interval.group(1).decode() if interval else None,
        )

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        data = read_bytes(self.path, self.origin, row_of=_bar_of)
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            raise json_error(self.origin, data, exc, _bar_of(data, exc.pos)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("bars"), list):
            raise SourceDataError(
                self.origin, "expected a JSON object with a 'bars' array", field="bars"
            )
        content_symbol = doc.get("symbol") if isinstance(doc.get("symbol"), str) else None
        symbol = self.require_symbol(content_symbol)
        interval = doc.get("interval") if isinstance(doc.get("interval"), str) else None
        timeframe = self.require_timeframe(interval)
        bars = doc["bars"]
        if not bars:
            raise SourceDataError(self.origin, "no rows: the 'bars' array is empty", field="bars")
        frame = self._frame(bars)
        ts = (
            frame["t"]
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", strict=False, time_unit="us")
            .dt.replace_time_zone("UTC")
        )
        bad = ts.is_null()
        if bad.any() and self.rejects is not None:
            self.rejects.add(frame[ROW].filter(bad), "t", "not an ISO-8601 UTC time")
        elif bad.any():
            idx = int(bad.arg_max())
            raise SourceDataError(
                self.origin,
                f"{frame['t'][idx]!r} is not an ISO-8601 UTC time",
                row=int(frame[ROW][idx]),
                field="t",
            )
        frame = frame.with_columns(ts.alias("ts"))
        fetched = _fetched_at(doc.get("fetchedAt"))
        if timeframe_seconds(timeframe) >= 86_400:
            frame = self._daily(frame, fetched, timeframe_seconds(timeframe) // 86_400)
        else:
            frame = self._intraday(frame, timeframe, symbol)
        frame = frame.select(
            pl.lit(symbol).alias("symbol"),
            pl.lit(timeframe).alias("timeframe"),
            "ts",
            *[pl.col(k).alias(v) for k, v in _FIELDS.items()],
            pl.lit(self.format).alias("source"),
            ROW,
        )
        return validate_bars(frame, self.origin, self.rejects)

    def _frame(self, bars: list) -> pl.DataFrame:
        try:
            frame = pl.from_dicts(bars, schema=_BAR_SCHEMA)
        except (pl.exceptions.PolarsError, TypeError, ValueError, AttributeError) as exc:
            self._diagnose(bars, exc)
        frame = with_rows(frame, 1)
        for key, name in _FIELDS.items():
            nulls = frame[key].is_null()
            if nulls.any() and self.rejects is not None:
                self.rejects.add(frame[ROW].filter(nulls), key, f"missing value ({name})")
            elif nulls.any():
                raise SourceDataError(
                    self.origin, f"missing value ({name})", row=int(nulls.arg_max()) + 1, field=key
                )
        return frame

    def _diagnose(self, bars: list, exc: Exception) -> None:
        """Error path only: find the bar and key that the typed conversion rejected."""
        for index, bar in enumerate(bars, start=1):
            if not isinstance(bar, dict):
                raise SourceDataError(self.origin, "a bar is not a JSON object", row=index)
            if not isinstance(bar.get("t"), str):
                raise SourceDataError(self.origin, "missing or non-text time", row=index, field="t")
            for key, name in _FIELDS.items():
                value = bar.get(key)
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    raise SourceDataError(
                        self.origin, f"{value!r} is not a number ({name})", row=index, field=key
                    )
        raise SourceDataError(self.origin, f"cannot read the bars: {exc}") from exc

    def _daily(self, frame: pl.DataFrame, fetched: pl.Series | None, days: int) -> pl.DataFrame:
        session = (
            pl.when(pl.col("ts").dt.truncate("1d") == pl.col("ts"))
            .then(pl.col("ts").dt.date())
            .otherwise(pl.col("ts").dt.convert_time_zone(_EXCHANGE_TZ).dt.date())
        )
        frame = frame.with_columns(session.alias("_session")).with_columns(
            pl.col("_session").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("ts")
        )
        if fetched is not None and frame.height:
            last = frame["_session"].max()
            close = (
                pl.Series([last])
                .cast(pl.Datetime("us"))
                .dt.offset_by(f"{days - 1}d")
                .dt.replace_time_zone(_EXCHANGE_TZ)
                .dt.offset_by("16h")
                .dt.convert_time_zone("UTC")
            )
            if fetched[0] < close[0]:
                frame = self._hold_back(
                    frame,
                    pl.col("_session") == last,
                    f"partial last candle: fetched at {fetched[0]}, before the session closed",
                )
        return frame.drop("_session")

    def _intraday(self, frame: pl.DataFrame, timeframe: str, symbol: str) -> pl.DataFrame:
        step = f"{timeframe_seconds(timeframe)}s"
        period = pl.col("ts").dt.truncate(step)
        off_grid = ~on_grid(timeframe, symbol)
        on_grid_periods = frame.filter(~off_grid)["ts"]
        last = pl.col("ts") == pl.col("ts").max()
        superseded = off_grid & period.is_in(on_grid_periods.implode())
        frame = self._hold_back(
            frame, off_grid & last, "partial last candle: off-grid time of a still-forming bar"
        )
        return self._hold_back(
            frame, superseded, "partial bar superseded by the complete bar of the same period"
        )

    def _hold_back(self, frame: pl.DataFrame, rows: pl.Expr, reason: str) -> pl.DataFrame:
        """``frame`` without ``rows``: held back by rule, recorded when reading leniently
        (they do not count as bad rows)."""
        if self.rejects is not None:
            return self.rejects.take(frame, rows, "t", reason, held_back=True)
        return frame.filter(~rows.fill_null(False))

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the element of ``bars`` (1-based) as compact JSON text."""
        try:
            bars = json.loads(read_bytes(self.path, self.origin)).get("bars", [])
        except (SourceDataError, json.JSONDecodeError, AttributeError):
            return {}
        return {
            r: json.dumps(bars[r - 1], separators=(",", ":"))[:RAW_CHARS]
            for r in rows
            if 0 < r <= len(bars)
        }


def _fetched_at(value: object) -> pl.Series | None:
    if not isinstance(value, str):
        return None
    parsed = pl.Series([value]).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.fZ", strict=False, time_unit="us"
    )
    if parsed.null_count():
        return None
    return parsed.dt.replace_time_zone("UTC")
