"""When a bar is known: its close, from the exchange calendar for equities.

A bar's ``ts`` is its open time (UTC). The bar is known at its close:

- crypto (always open): ``ts + timeframe``;
- equity daily (and coarser) bars: the close of the exchange session the bar stands for, from
  ``exchange_calendars`` (holidays and early closes included): 16:00 New York on a regular
  day (20:00 or 21:00 UTC), 13:00 on the day after Thanksgiving. The bar's trading date is
  its exchange-local date when ``ts`` is local midnight (Alpaca's and yfinance's stamp), else
  its UTC date (00:00 UTC files, Yahoo's session-open stamps). A bar of ``n`` days stands
  for the last session in ``[date, date + n days)``; a bar dated on no session (a holiday
  row in a file) is known at the close of the next session;
- equity intraday bars: ``ts + timeframe``, but a bar that opens inside a regular session and
  would end after that session's close ends at the close (Yahoo's 15:30 hourly bar is known
  at 16:00; on an early-close day the 12:30 bar at 13:00). Extended-hours bars (outside the
  regular session) end at ``ts + timeframe``.

Every "known at" rule (sentiment as-of joins, multi-timeframe context, prediction
``available_at``, signal ``as_of``, pending live bars) goes through :func:`bar_closes` or
:func:`with_bar_close`, so they agree with each other.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from trading_assets.errors import ConfigurationError
from trading_assets.home import ProjectHome
from trading_assets.markets import Market, exchange_calendar, market_of
from trading_assets.schemas import UTC_TS
from trading_assets.timeframes import timeframe_seconds

_DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Sessions:
    """The sessions of one exchange over whole years.

    Attributes:
        exchange: the MIC (``XNYS``).
        days: session dates, ``datetime64[D]``, ascending.
        opens / closes: each session's open and close, int64 microseconds since the epoch
            (UTC), early closes included.
    """

    exchange: str
    days: np.ndarray
    opens: np.ndarray
    closes: np.ndarray

    def close_on(self, first: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Close (int64 us UTC) of the last session in ``[first, end)`` (``datetime64[D]``
        arrays), else of the first session on or after ``first``."""
        last = np.searchsorted(self.days, end, side="left") - 1
        inside = (last >= 0) & (self.days[np.clip(last, 0, None)] >= first)
        following = np.searchsorted(self.days, first, side="left")
        idx = np.where(inside, last, following)
        return self.closes[np.clip(idx, 0, self.days.size - 1)]

    def between(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Sessions strictly between the dates ``first`` and ``last`` (``datetime64[D]``)."""
        return np.searchsorted(self.days, last, side="left") - np.searchsorted(
            self.days, first, side="right"
        )

    def bounds_on(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(is_session, open, close)`` of each date of ``days`` (``datetime64[D]``); open
        and close are int64 us UTC, undefined where the date has no session."""
        idx = np.clip(np.searchsorted(self.days, days, side="left"), 0, self.days.size - 1)
        return self.days[idx] == days, self.opens[idx], self.closes[idx]

    def session_of(self, us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For instants ``us`` (int64 us UTC): whether each lies in a regular session
        (open <= t < close), and that session's close (undefined where not)."""
        idx = np.clip(np.searchsorted(self.closes, us, side="right"), 0, self.days.size - 1)
        inside = (self.opens[idx] <= us) & (us < self.closes[idx])
        return inside, self.closes[idx]


@functools.lru_cache(maxsize=16)
def _sessions(exchange: str, first_year: int, last_year: int) -> Sessions:
    """The sessions of ``exchange`` over whole years: from the home's cache folder when this
    ``exchange_calendars`` version computed them before (building a calendar takes about half
    a second per exchange and decade, in every process), else from the library (stored)."""
    cached = _cache_file(exchange, first_year, last_year)
    if cached is not None and cached.exists():
        try:
            with np.load(cached) as stored:
                return Sessions(exchange, stored["days"], stored["opens"], stored["closes"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable: computed again below
    calendar = exchange_calendar(exchange, None, f"{first_year}-01-01", f"{last_year}-12-31")
    schedule = calendar.schedule

    def utc_us(column: str) -> np.ndarray:
        naive = schedule[column].dt.tz_convert(None).to_numpy()
        return naive.astype("datetime64[us]").astype(np.int64)

    found = Sessions(
        exchange,
        schedule.index.to_numpy().astype("datetime64[D]"),
        utc_us("open"),
        utc_us("close"),
    )
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.npz")
        np.savez(partial, days=found.days, opens=found.opens, closes=found.closes)
        partial.replace(cached)
    return found


def _cache_file(exchange: str, first_year: int, last_year: int) -> Path | None:
    """``<home>/cache/sessions/<MIC>-<first>-<last>-<library version>.npz``, or None when the
    library's version is unknown."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        library = version("exchange_calendars")
    except PackageNotFoundError:
        return None
    folder = ProjectHome.from_env().root / "cache" / "sessions"
    return folder / f"{exchange}-{first_year}-{last_year}-{library}.npz"


def market_sessions(market: Market, start: date, end: date, symbol: str | None = None) -> Sessions:
    """The sessions of ``market``'s exchange covering ``start`` to ``end`` (whole decades,
    cached; one more year after ``end``).

    Raises:
        ConfigurationError: the calendar cannot reach the dates (naming ``symbol`` if given).
        ValueError: ``market`` trades around the clock (no sessions).
    """
    exchange = market.exchange
    if exchange is None:
        raise ValueError(f"{symbol or market.asset_class!r} trades around the clock: no sessions")
    last = (end.year + 1) // 10 * 10 + 9
    try:
        return _sessions(exchange, start.year // 10 * 10, last)
    except ConfigurationError:
        pass  # a calendar that starts later than the decade (XTKS: 1997) may cover the dates
    try:
        return _sessions(exchange, start.year, last)
    except ConfigurationError as exc:
        if symbol:
            raise ConfigurationError(f"symbol {symbol!r}: {exc}") from None
        raise


def sessions(symbol: str, start: date, end: date) -> Sessions:
    """The sessions of ``symbol``'s exchange covering ``start`` to ``end``
    (:func:`market_sessions`).

    Raises:
        ConfigurationError: the exchange has no calendar in ``exchange_calendars``, or the
            calendar cannot reach the dates (the message names the symbol).
        ValueError: ``symbol`` is a crypto pair (always open, no sessions).
    """
    return market_sessions(market_of(symbol), start, end, symbol)


def trading_dates(symbol: str, timeframe: str, ts: pl.Series) -> pl.Series:
    """The trading date (``Date``) of each bar of ``symbol`` and ``timeframe`` opening at
    ``ts`` (UTC): for daily and coarser equity bars the exchange-local date when ``ts`` is
    local midnight, else the UTC date (see the module docstring); for intraday equity bars the
    exchange-local date; for crypto the UTC date."""
    ts = ts.cast(UTC_TS)
    market = market_of(symbol)
    if market.always_open:
        return ts.dt.date().alias("trading_date")
    local = ts.dt.convert_time_zone(market.timezone.key)
    if timeframe_seconds(timeframe) * 1_000_000 < _DAY_US:
        return local.dt.date().alias("trading_date")
    return pl.select(
        pl.when(local.dt.time() == time(0))
        .then(local.dt.date())
        .otherwise(ts.dt.date())
        .alias("trading_date")
    ).to_series()


def bar_closes(symbol: str, timeframe: str, ts: pl.Series) -> pl.Series:
    """The close (UTC) of each bar of ``symbol`` and ``timeframe`` opening at ``ts``.

    Args:
        ts: bar open times, ``Datetime("us", "UTC")`` (any order, no NULLs).

    Returns:
        ``Datetime("us", "UTC")`` Series named ``bar_close``, same length and order (see the
        module docstring for the rules).

    Raises:
        ConfigurationError: no calendar for the symbol's exchange (see :func:`sessions`).
    """
    ts = ts.cast(UTC_TS)
    step_us = timeframe_seconds(timeframe) * 1_000_000
    market = market_of(symbol)
    if market.always_open or ts.len() == 0:
        return (ts + timedelta(microseconds=step_us)).alias("bar_close")
    us = ts.dt.epoch("us").to_numpy()
    if step_us >= _DAY_US:
        day = trading_dates(symbol, timeframe, ts).to_numpy().astype("datetime64[D]")
        span = -(-step_us // _DAY_US)
        known = sessions(symbol, day.min().item(), day.max().item())
        close = known.close_on(day, day + np.timedelta64(span, "D"))
    else:
        start = ts.min().date()
        known = sessions(symbol, start, ts.max().date())
        inside, session_close = known.session_of(us)
        close = np.where(inside, np.minimum(us + step_us, session_close), us + step_us)
    return _utc(close, "bar_close")


def _utc(us: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def in_regular_session(market: Market, ts: pl.Series) -> pl.Series:
    """Whether each instant of ``ts`` (UTC) lies in a regular session of ``market`` (open <=
    t < close; holidays and early closes from the calendar). Always True for crypto."""
    if market.always_open or ts.len() == 0:
        return pl.Series("in_session", [True] * ts.len(), dtype=pl.Boolean)
    ts = ts.cast(UTC_TS)
    known = market_sessions(market, ts.min().date(), ts.max().date())
    return pl.Series("in_session", known.session_of(ts.dt.epoch("us").to_numpy())[0])


def session_bounds(market: Market, days: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The UTC open and close of ``market``'s session on each date of ``days`` (``Date``);
    NULL on dates without a session (weekends, holidays)."""
    if days.len() == 0:
        empty = pl.Series([], dtype=UTC_TS)
        return empty.alias("open"), empty.alias("close")
    day = days.to_numpy().astype("datetime64[D]")
    known = market_sessions(market, days.min(), days.max())
    is_session, opens, closes = known.bounds_on(day)
    none = pl.Series([None] * len(day), dtype=UTC_TS)
    mask = pl.Series(is_session)
    return _utc(opens, "open").zip_with(mask, none), _utc(closes, "close").zip_with(mask, none)


def with_bar_close(frame: pl.DataFrame, name: str = "bar_close") -> pl.DataFrame:
    """``frame`` (``symbol, timeframe, ts``, any symbols and timeframes, any order) with a
    ``name`` column: each bar's close (UTC, :func:`bar_closes`). Row order is kept.

    Raises:
        ConfigurationError: no calendar for an equity symbol's exchange.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=UTC_TS).alias(name))
    indexed = frame.select("symbol", "timeframe", "ts").with_row_index("_row")
    parts = [
        rows.select("_row", bar_closes(str(symbol), str(timeframe), rows["ts"]).alias(name))
        for (symbol, timeframe), rows in indexed.group_by("symbol", "timeframe")
    ]
    closes = pl.concat(parts).sort("_row")[name]
    return frame.with_columns(closes.alias(name))


def bar_close_of(frame: pl.DataFrame) -> pl.Series:
    """Each row's bar close (UTC Series ``bar_close``, in ``frame``'s row order) for a frame
    with ``symbol, timeframe, ts`` (see :func:`with_bar_close`)."""
    return with_bar_close(frame.select("symbol", "timeframe", "ts"))["bar_close"]
