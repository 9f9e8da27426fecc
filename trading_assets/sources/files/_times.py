"""Time columns as traders' files write them: epochs in any unit, dates and times in many
layouts, with or without a UTC offset, mixed within one column."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.rejects import ROW, RowRejects
from trading_assets.sources.validate import epoch_to_utc

#: date/time layouts tried on every value, in order (a value takes the first that parses
#: it whole). Day-first and month-first slashed dates are told apart per column: the group
#: that parses more of its values is used.
FORMATS: tuple[str, ...] = (
    *("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"),
    *("%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"),
    *("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M"),
    *("%Y%m%d %H%M%S", "%Y%m%d", "%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%b %d %Y"),
    *("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
    *("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y"),
    *("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y"),
)
# a UTC offset after a clock time: 10:00:00-05:00, 10:00+0100, 10:00:00.5Z
_OFFSET = r"^(?<body>.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?<offset>Z|[+-]\d{2}:?\d{2})$"
_EPOCH = r"^\d{9,19}(\.\d*)?$"


@dataclass(frozen=True)
class Times:
    """A parsed time column: ``instant`` (``Datetime("us", "UTC")``) and ``wall``, the
    clock time as written (naive; the UTC clock for epochs), whose date is the session date
    of daily bars. Both null where a value was set aside."""

    instant: pl.Series
    wall: pl.Series


def _layouts(text: pl.Series) -> list[str]:
    """The layouts of :data:`FORMATS` to try on ``text``: one of month-first and day-first."""
    counts = {
        fmt: int(text.str.to_datetime(fmt, strict=False, time_unit="us").is_not_null().sum())
        for fmt in FORMATS
        if fmt.startswith(("%m/", "%d/"))
    }
    month_first = sum(n for f, n in counts.items() if f.startswith("%m/"))
    day_first = sum(n for f, n in counts.items() if f.startswith("%d/"))
    drop = "%d/" if month_first >= day_first else "%m/"
    return [f for f in FORMATS if not f.startswith(drop)]


def parse_times(
    frame: pl.DataFrame,
    column: str,
    origin: str,
    tz: str | None = None,
    rejects: RowRejects | None = None,
) -> Times:
    """Parse the text ``column`` of ``frame`` (which has ``_row``) value by value.

    Numbers of 9 to 19 digits (decimals allowed) are epoch times, unit detected per row
    (:func:`~trading_assets.sources.validate.epoch_to_utc`); other values take the first of
    :data:`FORMATS` that parses them, after a trailing UTC offset (``-05:00``, ``+0100``,
    ``Z``) is split off and applied. Values without an offset are UTC, or local times in
    ``tz`` (an IANA zone; ambiguous times take the earlier instant).

    Raises:
        SourceDataError: a missing value, a value in no known layout, a local time that
            does not exist in ``tz`` (strict mode: the first one; lenient, ``rejects``
            given: recorded there, the time is null).
    """
    found = rejects if rejects is not None else RowRejects()
    text = frame[column].str.strip_chars()
    rows = frame[ROW]
    is_epoch = text.str.contains(_EPOCH).fill_null(False)
    epoch = epoch_to_utc(text.filter(is_epoch), origin, rows.filter(is_epoch), column, found).cast(
        pl.Datetime("us", "UTC")
    )
    parts = text.str.extract_groups(_OFFSET)
    offset = parts.struct.field("offset")
    body = pl.select(pl.coalesce(parts.struct.field("body"), text)).to_series().str.strip_chars()
    parsed = [body.str.to_datetime(f, strict=False, time_unit="us") for f in _layouts(body)]
    wall = pl.select(pl.coalesce(parsed)).to_series() if parsed else body.cast(pl.Datetime("us"))
    minutes = _offset_minutes(offset)
    if tz is None:
        local = wall.dt.replace_time_zone("UTC")
    else:
        local = wall.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        gone = local.is_null() & wall.is_not_null() & offset.is_null()
        found.add(rows.filter(gone), column, f"local time does not exist in {tz}")
        local = local.dt.convert_time_zone("UTC")
    aware = (
        pl.when(minutes.is_not_null())
        .then(wall.dt.replace_time_zone("UTC") - pl.duration(minutes=minutes))
        .otherwise(local)
    )
    instant = pl.select(aware.alias(column)).to_series()
    if is_epoch.any():
        instant = instant.scatter(is_epoch.arg_true(), epoch)
        wall = wall.scatter(is_epoch.arg_true(), epoch.dt.replace_time_zone(None))
    missing = text.is_null()
    found.add(rows.filter(missing), column, "missing date/time")
    bad = instant.is_null() & ~missing & ~is_epoch
    found.add(
        rows.filter(bad),
        column,
        "'" + text.filter(bad) + "' is not a date/time in a known layout",
    )
    if rejects is None and found.first() is not None:
        row, field, reason = found.first()
        raise SourceDataError(origin, reason, row=row, field=field)
    return Times(instant, wall)


def _offset_minutes(offset: pl.Series) -> pl.Series:
    """``-05:00`` -> -300, ``+0100`` -> 60, ``Z`` -> 0, null -> null."""
    digits = offset.str.replace("Z", "+00:00").str.replace(":", "")
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    hours = digits.str.slice(1, 2).cast(pl.Int64, strict=False)
    mins = digits.str.slice(3, 2).cast(pl.Int64, strict=False)
    return pl.select((sign * (hours * 60 + mins)).alias("m")).to_series()
