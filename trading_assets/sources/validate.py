"""Validation shared by all readers: epoch units, ordering, duplicates, grid, price sanity.

Readers build a frame in the canonical schema plus an ``_row`` column (the 1-based row of the
input the bar came from) and call :func:`validate_bars` or :func:`validate_ticks`, which return
the cleaned frame without ``_row`` or raise :class:`SourceDataError` naming file, row and field.
"""

from __future__ import annotations

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.schemas import conform
from trading_assets.timeframes import timeframe_seconds

ROW = "_row"

# Magnitude bounds of epoch integers for dates between 1973 and 2286.
_EPOCH_UNITS: tuple[tuple[str, float, float], ...] = (
    ("s", 1e8, 1e10),
    ("ms", 1e11, 1e13),
    ("us", 1e14, 1e16),
    ("ns", 1e17, 1e19),
)


def epoch_to_utc(values: pl.Series, origin: str, rows: pl.Series, field: str) -> pl.Series:
    """Convert integer epoch timestamps to ``Datetime("us", "UTC")``, detecting the unit.

    The unit (s, ms, us or ns) is inferred from the magnitude of each value and must be the
    same for the whole input.

    Raises:
        SourceDataError: a null or out-of-range value, or a unit that switches within the
            input (names the first row whose unit differs from the first row's).
    """
    vals = values.cast(pl.Float64, strict=False)
    # One pass: the magnitude ranges are disjoint, so a when/then chain labels each value.
    chain = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for unit, low, high in _EPOCH_UNITS:
        chain = chain.when((vals >= low) & (vals < high)).then(pl.lit(unit))
    unit_col = pl.select(chain.otherwise(pl.lit(None, dtype=pl.String)).alias("unit")).to_series()
    missing = unit_col.is_null()
    if missing.any():
        idx = int(missing.arg_max())
        raise SourceDataError(
            origin,
            f"timestamp {values[idx]!r} is not an epoch time in s, ms, us or ns",
            row=int(rows[idx]),
            field=field,
        )
    first = unit_col[0]
    differs = unit_col != first
    if differs.any():
        idx = int(differs.arg_max())
        raise SourceDataError(
            origin,
            f"epoch unit switches from {first} (row {int(rows[0])}) to {unit_col[idx]} "
            f"(value {values[idx]})",
            row=int(rows[idx]),
            field=field,
        )
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[first]
    ints = values.cast(pl.Int64)
    micros = ints // 1_000 if scale is None else ints * scale
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(values.name)


def _check_numbers(frame: pl.DataFrame, origin: str, columns: list[str]) -> None:
    for col in columns:
        bad = frame.filter(pl.col(col).is_null() | pl.col(col).is_nan())
        if bad.height:
            raise SourceDataError(
                origin, "missing or non-numeric value", row=int(bad[ROW][0]), field=col
            )


def _all_clear(frame: pl.DataFrame, conditions: list[pl.Expr]) -> bool:
    """True when no row meets any of ``conditions`` (one pass over the frame; null counts as
    a hit). Validators use it to skip their row-by-row-precise checks on clean input."""
    hit = pl.any_horizontal(conditions).fill_null(True).any()
    return not frame.select(hit).item()


def _first_bad(frame: pl.DataFrame, condition: pl.Expr) -> int | None:
    bad = frame.filter(condition)
    return int(bad[ROW][0]) if bad.height else None


def _sorted_dedup(frame: pl.DataFrame, key: list[str], origin: str) -> pl.DataFrame:
    """Sort by key; drop exact duplicate rows; raise on same key with different values."""
    frame = frame.sort([*key, ROW])
    # Fast path (same result): after the sort equal keys are adjacent; none -> nothing to do.
    same_as_previous = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key])
    if not frame.select(same_as_previous.fill_null(False).any()).item():
        return frame
    value_cols = [c for c in frame.columns if c != ROW]
    frame = frame.unique(subset=value_cols, keep="first", maintain_order=True)
    dup = frame.filter(pl.struct(key).is_duplicated())
    if dup.height:
        rows = dup[ROW].to_list()
        raise SourceDataError(
            origin,
            f"rows {rows[0]} and {rows[1]} have the same key "
            f"({', '.join(f'{k}={dup[k][0]}' for k in key)}) but different values",
            row=int(rows[1]),
        )
    return frame


def validate_bars(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check and clean a frame of bars; returns it in canonical schema, sorted by key.

    Accepts newest-first input (sorts it) and exact duplicate rows (keeps one).
    ``frame`` must hold the canonical bar columns plus ``_row``.

    Raises:
        SourceDataError: empty input; missing or non-numeric price or volume; price <= 0;
            negative volume; high below low; a timestamp off the timeframe's grid (intraday
            bars must start on a multiple of their timeframe, daily bars at 00:00 UTC); the
            same (symbol, timeframe, ts) twice with different values.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no bars")
    timeframes = frame["timeframe"].unique().to_list()
    epoch_us = pl.col("ts").dt.epoch("us")
    quick = [
        *[pl.col(c).is_null() | pl.col(c).is_nan() for c in ("open", "high", "low", "close")],
        pl.col("volume").is_null() | pl.col("volume").is_nan(),
        *[pl.col(c) <= 0 for c in ("open", "high", "low", "close")],
        pl.col("volume") < 0,
        pl.col("high") < pl.col("low"),
        *[
            (pl.col("timeframe") == tf)
            & (epoch_us % min(timeframe_seconds(tf) * 1_000_000, 86_400_000_000) != 0)
            for tf in timeframes
        ],
    ]
    if not _all_clear(frame, quick):
        _bar_checks(frame, origin, timeframes)
    frame = _sorted_dedup(frame, ["symbol", "timeframe", "ts"], origin)
    return conform(frame, "bars")


def _bar_checks(frame: pl.DataFrame, origin: str, timeframes: list[str]) -> None:
    """The precise checks of validate_bars, in order; raise on the first problem found."""
    _check_numbers(frame, origin, ["open", "high", "low", "close", "volume"])
    for col in ("open", "high", "low", "close"):
        row = _first_bad(frame, pl.col(col) <= 0)
        if row is not None:
            value = frame.filter(pl.col(ROW) == row)[col][0]
            raise SourceDataError(origin, f"price must be > 0, got {value}", row=row, field=col)
    row = _first_bad(frame, pl.col("volume") < 0)
    if row is not None:
        raise SourceDataError(origin, "volume must be >= 0", row=row, field="volume")
    row = _first_bad(frame, pl.col("high") < pl.col("low"))
    if row is not None:
        bad = frame.filter(pl.col(ROW) == row)
        raise SourceDataError(
            origin, f"high {bad['high'][0]} is below low {bad['low'][0]}", row=row, field="high"
        )
    _check_grid(frame, origin, timeframes)


def validate_ticks(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check and clean a frame of trade ticks; returns it in canonical schema sorted by ts.

    Raises:
        SourceDataError: empty input; missing price or size; price <= 0; size < 0; a side
            other than buy/sell/null; the same trade id twice with different values.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no trades")
    quick = [
        pl.col("price").is_null() | pl.col("price").is_nan(),
        pl.col("size").is_null() | pl.col("size").is_nan(),
        pl.col("price") <= 0,
        pl.col("size") < 0,
    ]
    if "side" in frame.columns:
        quick.append(pl.col("side").is_not_null() & ~pl.col("side").is_in(["buy", "sell"]))
    if not _all_clear(frame, quick):
        _tick_checks(frame, origin)
    frame = _sorted_dedup(frame, ["symbol", "source", "trade_id"], origin)
    return conform(frame.sort(["ts", ROW]), "ticks")


def _tick_checks(frame: pl.DataFrame, origin: str) -> None:
    """The precise checks of validate_ticks, in order; raise on the first problem found."""
    _check_numbers(frame, origin, ["price", "size"])
    row = _first_bad(frame, pl.col("price") <= 0)
    if row is not None:
        raise SourceDataError(origin, "price must be > 0", row=row, field="price")
    row = _first_bad(frame, pl.col("size") < 0)
    if row is not None:
        raise SourceDataError(origin, "size must be >= 0", row=row, field="size")
    if "side" in frame.columns:
        row = _first_bad(
            frame, pl.col("side").is_not_null() & ~pl.col("side").is_in(["buy", "sell"])
        )
        if row is not None:
            raise SourceDataError(origin, "side must be buy, sell or empty", row=row, field="side")


def _check_grid(frame: pl.DataFrame, origin: str, timeframes: list[str] | None = None) -> None:
    """Every ts on its timeframe's grid (intraday: a multiple of the timeframe; daily and
    longer: 00:00 UTC)."""
    if timeframes is None:
        timeframes = frame["timeframe"].unique().to_list()
    for timeframe in timeframes:
        step_us = timeframe_seconds(timeframe) * 1_000_000
        epoch_us = pl.col("ts").dt.epoch("us")
        row = _first_bad(
            frame,
            (pl.col("timeframe") == timeframe) & (epoch_us % min(step_us, 86_400_000_000) != 0),
        )
        if row is not None:
            ts = frame.filter(pl.col(ROW) == row)["ts"][0]
            raise SourceDataError(
                origin, f"timestamp {ts} is off the {timeframe} grid", row=row, field="ts"
            )


def validate_quote_bars(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check and clean a frame of bid/ask bars; returns it in canonical schema, sorted by key.

    Same rules as :func:`validate_bars`, per side: newest-first input is sorted, exact
    duplicate rows are dropped. ``frame`` must hold the canonical quote-bar columns plus
    ``_row``. A crossed market (bid above ask) is not an error: it happens in real data.

    Raises:
        SourceDataError: empty input; a missing or non-numeric value; a price <= 0; a size < 0;
            a side's high below its low; a timestamp off the timeframe's grid; the same
            (symbol, timeframe, ts) twice with different values.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no quote bars")
    prices = [f"{side}_{p}" for side in ("bid", "ask") for p in ("open", "high", "low", "close")]
    sizes = ["bid_size", "ask_size"]
    timeframes = frame["timeframe"].unique().to_list()
    epoch_us = pl.col("ts").dt.epoch("us")
    quick = [
        *[pl.col(c).is_null() | pl.col(c).is_nan() for c in [*prices, *sizes]],
        *[pl.col(c) <= 0 for c in prices],
        *[pl.col(c) < 0 for c in sizes],
        *[pl.col(f"{s}_high") < pl.col(f"{s}_low") for s in ("bid", "ask")],
        *[
            (pl.col("timeframe") == tf)
            & (epoch_us % min(timeframe_seconds(tf) * 1_000_000, 86_400_000_000) != 0)
            for tf in timeframes
        ],
    ]
    if not _all_clear(frame, quick):
        _quote_bar_checks(frame, origin, prices, sizes)
    frame = _sorted_dedup(frame, ["symbol", "timeframe", "ts"], origin)
    return conform(frame, "quote_bars")


def _quote_bar_checks(
    frame: pl.DataFrame, origin: str, prices: list[str], sizes: list[str]
) -> None:
    """The precise checks of validate_quote_bars, in order; raise on the first problem."""
    _check_numbers(frame, origin, [*prices, *sizes])
    for col in prices:
        row = _first_bad(frame, pl.col(col) <= 0)
        if row is not None:
            value = frame.filter(pl.col(ROW) == row)[col][0]
            raise SourceDataError(origin, f"price must be > 0, got {value}", row=row, field=col)
    for col in sizes:
        row = _first_bad(frame, pl.col(col) < 0)
        if row is not None:
            raise SourceDataError(origin, "size must be >= 0", row=row, field=col)
    for side in ("bid", "ask"):
        row = _first_bad(frame, pl.col(f"{side}_high") < pl.col(f"{side}_low"))
        if row is not None:
            bad = frame.filter(pl.col(ROW) == row)
            raise SourceDataError(
                origin,
                f"{side} high {bad[f'{side}_high'][0]} is below {side} low {bad[f'{side}_low'][0]}",
                row=row,
                field=f"{side}_high",
            )
    _check_grid(frame, origin)


def validate_quotes(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check and clean best bid/ask updates; returns the canonical ``quotes`` frame by (ts, seq).

    ``frame`` holds symbol, source, ts, bid, bid_size, ask, ask_size and ``_row`` (no
    ``seq``). A file that is entirely newest-first is reversed first; rows are then stably
    sorted by ts, an update identical to the one before it (same ts and values) is dropped as
    an exact duplicate, and ``seq`` numbers the remaining updates sharing a timestamp
    (0, 1, ...) in file order. A crossed quote (bid above ask) is kept.

    Raises:
        SourceDataError: empty input; a missing or non-numeric bid/ask/size; a price <= 0;
            a size < 0.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no quotes")
    numbers = ["bid", "bid_size", "ask", "ask_size"]
    quick = [
        *[pl.col(c).is_null() | pl.col(c).is_nan() for c in numbers],
        pl.col("bid") <= 0,
        pl.col("ask") <= 0,
        pl.col("bid_size") < 0,
        pl.col("ask_size") < 0,
    ]
    if not _all_clear(frame, quick):
        _check_numbers(frame, origin, numbers)
        for col in ("bid", "ask"):
            row = _first_bad(frame, pl.col(col) <= 0)
            if row is not None:
                raise SourceDataError(origin, "price must be > 0", row=row, field=col)
        for col in ("bid_size", "ask_size"):
            row = _first_bad(frame, pl.col(col) < 0)
            if row is not None:
                raise SourceDataError(origin, "size must be >= 0", row=row, field=col)
    frame = _file_order(frame)
    values = ["symbol", "source", "ts", "bid", "bid_size", "ask", "ask_size"]
    repeat = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in values]).fill_null(False)
    frame = frame.filter(~repeat)
    frame = frame.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64).over(["symbol", "source", "ts"])).alias("seq")
    )
    return conform(frame, "quotes")


def _file_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by (ts, file order); a wholly newest-first file is reversed first."""
    frame = frame.sort(ROW)
    ts = frame["ts"]
    steps = ts.diff().drop_nulls().dt.total_microseconds()
    if frame.height > 1 and ts[0] > ts[-1] and (steps <= 0).all():
        frame = frame.reverse()
    return (
        frame.with_columns(pl.int_range(pl.len()).alias("_order"))
        .sort(["ts", "_order"])
        .drop("_order")
    )
