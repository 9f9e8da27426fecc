"""Validation shared by all readers: epoch units, ordering, duplicates, grid, price sanity.

Readers build a frame in the canonical schema plus an ``_row`` column (the 1-based row of the
input the bar came from) and call :func:`validate_bars` or :func:`validate_ticks`, which return
the cleaned frame without ``_row`` or raise :class:`SourceDataError` naming file, row and field.
Given a :class:`~trading_assets.sources.rejects.RowRejects`, they are lenient instead: the
rows breaking a rule are recorded there and left out, the others returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.markets import market_of
from trading_assets.schemas import conform
from trading_assets.sources.rejects import ROW, RowRejects, check
from trading_assets.timeframes import timeframe_seconds

__all__ = [
    "ROW",
    "epoch_to_utc",
    "on_grid",
    "validate_bars",
    "validate_quote_bars",
    "validate_quotes",
    "validate_ticks",
]

#: a row rule: (bad-row condition, field at fault, reason text or expression)
Rule = tuple[pl.Expr, str | None, pl.Expr | str]

# Magnitude bounds of epoch integers for dates between 1973 and 2286.
_EPOCH_UNITS: tuple[tuple[str, float, float], ...] = (
    ("s", 1e8, 1e10),
    ("ms", 1e11, 1e13),
    ("us", 1e14, 1e16),
    ("ns", 1e17, 1e19),
)
_SCALE = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
#: how timestamps read in reasons
_STAMP = "%Y-%m-%d %H:%M:%S%.f UTC"


def epoch_to_utc(
    values: pl.Series,
    origin: str,
    rows: pl.Series,
    field: str,
    rejects: RowRejects | None = None,
) -> pl.Series:
    """Convert epoch timestamps to ``Datetime("us", "UTC")``, detecting the unit (s, ms, us
    or ns) from the magnitude of each value (dates between 1973 and 2286).

    Strict (``rejects`` None): integer values whose unit is the same for the whole input.
    Lenient: the unit is detected per row (files mixing ``1513555200.0`` seconds and
    millisecond rows), values may be decimal; a value that is no epoch time is recorded in
    ``rejects`` and gives null, as does a null value.

    Raises:
        SourceDataError: strict mode: a null or out-of-range value, or a unit that switches
            within the input (names the first row whose unit differs from the first row's).
    """
    vals = values.cast(pl.Float64, strict=False)
    # One pass: the magnitude ranges are disjoint, so a when/then chain labels each value.
    chain = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for unit, low, high in _EPOCH_UNITS:
        chain = chain.when((vals >= low) & (vals < high)).then(pl.lit(unit))
    unit_col = pl.select(chain.otherwise(pl.lit(None, dtype=pl.String)).alias("unit")).to_series()
    missing = unit_col.is_null()
    if rejects is not None:
        bad = missing & values.is_not_null()
        if bad.any():
            texts = values.filter(bad).cast(pl.String)
            rejects.add(
                rows.filter(bad),
                field,
                "timestamp " + texts + " is not an epoch time in s, ms, us or ns",
            )
        factor = unit_col.replace_strict(_SCALE, default=None, return_dtype=pl.Float64)
        micros = (vals * factor).round().cast(pl.Int64)
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(values.name)
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


def _missing(columns: Sequence[str]) -> list[Rule]:
    return [
        (pl.col(c).is_null() | pl.col(c).is_nan(), c, "missing or non-numeric value")
        for c in columns
    ]


def _positive(columns: Sequence[str]) -> list[Rule]:
    return [(pl.col(c) <= 0, c, pl.format("price must be > 0, got {}", pl.col(c))) for c in columns]


def _sizes(columns: Sequence[str], what: str) -> list[Rule]:
    return [(pl.col(c) < 0, c, f"{what} must be >= 0") for c in columns]


def _high_low(prefix: str = "") -> list[Rule]:
    high, low, open_, close = (pl.col(f"{prefix}{p}") for p in ("high", "low", "open", "close"))
    side = f"{prefix.rstrip('_')} " if prefix else ""
    return [
        (
            high < low,
            f"{prefix}high",
            pl.format(f"{side}high {{}} is below {side}low {{}}", high, low),
        ),
        (
            high < pl.max_horizontal(open_, close),
            f"{prefix}high",
            pl.format(
                f"OHLC inconsistent: {side}high {{}} is below {side}open {{}} or close {{}}",
                high,
                open_,
                close,
            ),
        ),
        (
            low > pl.min_horizontal(open_, close),
            f"{prefix}low",
            pl.format(
                f"OHLC inconsistent: {side}low {{}} is above {side}open {{}} or close {{}}",
                low,
                open_,
                close,
            ),
        ),
    ]


def on_grid(timeframe: str, symbol: str | None) -> pl.Expr:
    """True where ``ts`` is on the grid of ``timeframe``: intraday bars start on a multiple of
    the timeframe (UTC clock), daily and longer at 00:00 UTC. Intraday bars of an equity
    (:func:`~trading_assets.markets.market_of`) may instead be anchored on the regular
    session's open: hourly bars at 09:30, 10:30... New York, as Yahoo and brokers deliver
    them (the session open is the same on early-close days)."""
    market = market_of(symbol) if symbol else None
    step_us = min(timeframe_seconds(timeframe) * 1_000_000, 86_400_000_000)
    on = pl.col("ts").dt.epoch("us") % step_us == 0
    if market is None or market.always_open or step_us >= 86_400_000_000:
        return on
    local = pl.col("ts").dt.convert_time_zone(market.timezone.key)
    opens = market.session_open
    since_open = (
        local.dt.hour().cast(pl.Int64) * 3600
        + local.dt.minute().cast(pl.Int64) * 60
        + local.dt.second().cast(pl.Int64)
        - (opens.hour * 3600 + opens.minute * 60)
    ) * 1_000_000 + local.dt.microsecond().cast(pl.Int64)
    return on | (since_open % step_us == 0)


def _grid(timeframes: list[str], symbol: str | None) -> list[Rule]:
    """One rule per timeframe: the bar is on its grid (:func:`on_grid`)."""
    market = market_of(symbol) if symbol else None
    rules: list[Rule] = []
    for tf in timeframes:
        where = f"the {tf} grid"
        if market is not None and not market.always_open and timeframe_seconds(tf) < 86_400:
            where += (
                f" (UTC clock, or sessions opening {market.session_open:%H:%M} "
                f"{market.timezone.key})"
            )
        off = (pl.col("timeframe") == tf) & ~on_grid(tf, symbol)
        stamp = pl.col("ts").dt.to_string(_STAMP)
        rules.append((off, "ts", pl.format(f"timestamp {{}} is off {where}", stamp)))
    return rules


def _clear(frame: pl.DataFrame, rules: Sequence[Rule]) -> bool:
    """True when no row breaks any rule (one pass; the fast path of clean input)."""
    hit = pl.any_horizontal([bad.fill_null(False) for bad, _, _ in rules]).any()
    return not frame.select(hit).item()


def _validated(
    frame: pl.DataFrame, rules: Sequence[Rule], origin: str, rejects: RowRejects | None
) -> pl.DataFrame:
    if rejects is not None:
        frame = rejects.exclude(frame)
    if _clear(frame, rules):
        return frame
    return check(frame, rules, origin, rejects)


def _sorted_dedup(
    frame: pl.DataFrame, key: list[str], origin: str, rejects: RowRejects | None = None
) -> pl.DataFrame:
    """Sort by key; drop exact duplicate rows; the same key with different values raises
    (strict) or keeps the first row in file order and rejects the others (lenient)."""
    frame = frame.sort([*key, ROW])
    # Fast path (same result): after the sort equal keys are adjacent; none -> nothing to do.
    same_as_previous = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key])
    if not frame.select(same_as_previous.fill_null(False).any()).item():
        return frame
    value_cols = [c for c in frame.columns if c != ROW]
    frame = frame.unique(subset=value_cols, keep="first", maintain_order=True)
    dup = frame.filter(pl.struct(key).is_duplicated())
    if not dup.height:
        return frame
    if rejects is None:
        rows = dup[ROW].to_list()
        raise SourceDataError(
            origin,
            f"rows {rows[0]} and {rows[1]} have the same key "
            f"({', '.join(f'{k}={dup[k][0]}' for k in key)}) but different values",
            row=int(rows[1]),
        )
    stamp = key[-1]
    frame = frame.with_columns(pl.col(ROW).min().over(key).alias("_first"))
    return rejects.take(
        frame,
        pl.struct(key).is_duplicated() & (pl.col(ROW) != pl.col("_first")),
        stamp,
        pl.format(
            f"duplicate stamp: same {stamp} {{}} as row {{}} but different values",
            pl.col(stamp).dt.to_string(_STAMP) if stamp == "ts" else pl.col(stamp).cast(pl.String),
            pl.col("_first"),
        ),
    ).drop("_first")


def validate_bars(
    frame: pl.DataFrame, origin: str, rejects: RowRejects | None = None
) -> pl.DataFrame:
    """Check and clean a frame of bars; returns it in canonical schema, sorted by key.

    Accepts newest-first input (sorts it) and exact duplicate rows (keeps one).
    ``frame`` must hold the canonical bar columns plus ``_row``.

    Rules, in order: price or volume missing or not a number; price <= 0; volume < 0; high
    below low; OHLC inconsistent (high below open or close, low above them); a timestamp off
    the timeframe's grid (intraday bars start on a multiple of their timeframe, or for
    equities on the regular session's open, e.g. 09:30 New York for hourly bars; daily bars
    at 00:00 UTC); the same (symbol, timeframe, ts) twice with different values.

    Args:
        rejects: lenient mode: every row breaking a rule is recorded there and left out
            (of a duplicate stamp, the first row in file order is kept); rows recorded
            before (e.g. unparseable cells) are left out too. None: strict mode.

    Raises:
        SourceDataError: empty input; strict mode: the first row breaking a rule.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no bars")
    symbol = frame["symbol"][0]
    rules = [
        *_missing(["open", "high", "low", "close", "volume"]),
        *_positive(["open", "high", "low", "close"]),
        *_sizes(["volume"], "volume"),
        *_high_low(),
        *_grid(frame["timeframe"].unique().to_list(), symbol),
    ]
    frame = _validated(frame, rules, origin, rejects)
    frame = _sorted_dedup(frame, ["symbol", "timeframe", "ts"], origin, rejects)
    return conform(frame, "bars")


def validate_ticks(
    frame: pl.DataFrame, origin: str, rejects: RowRejects | None = None
) -> pl.DataFrame:
    """Check and clean a frame of trade ticks; returns it in canonical schema sorted by ts.

    Rules: price or size missing; price <= 0; size < 0; a side other than buy/sell/null;
    the same trade id twice with different values. ``rejects``: lenient mode, as in
    :func:`validate_bars`.

    Raises:
        SourceDataError: empty input; strict mode: the first row breaking a rule.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no trades")
    rules = [*_missing(["price", "size"]), *_positive(["price"]), *_sizes(["size"], "size")]
    if "side" in frame.columns:
        rules.append(
            (
                pl.col("side").is_not_null() & ~pl.col("side").is_in(["buy", "sell"]),
                "side",
                "side must be buy, sell or empty",
            )
        )
    frame = _validated(frame, rules, origin, rejects)
    frame = _sorted_dedup(frame, ["symbol", "source", "trade_id"], origin, rejects)
    return conform(frame.sort(["ts", ROW]), "ticks")


def validate_quote_bars(
    frame: pl.DataFrame, origin: str, rejects: RowRejects | None = None
) -> pl.DataFrame:
    """Check and clean a frame of bid/ask bars; returns it in canonical schema, sorted by key.

    Same rules as :func:`validate_bars`, per side: newest-first input is sorted, exact
    duplicate rows are dropped. ``frame`` must hold the canonical quote-bar columns plus
    ``_row``. A crossed market (bid above ask) is not an error: it happens in real data.

    Raises:
        SourceDataError: empty input; strict mode: a missing or non-numeric value; a price
            <= 0; a size < 0; a side's high below its low or OHLC inconsistent; a timestamp
            off the timeframe's grid; the same (symbol, timeframe, ts) twice with different
            values.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no quote bars")
    prices = [f"{side}_{p}" for side in ("bid", "ask") for p in ("open", "high", "low", "close")]
    sizes = ["bid_size", "ask_size"]
    rules = [
        *_missing([*prices, *sizes]),
        *_positive(prices),
        *_sizes(sizes, "size"),
        *_high_low("bid_"),
        *_high_low("ask_"),
        *_grid(frame["timeframe"].unique().to_list(), frame["symbol"][0]),
    ]
    frame = _validated(frame, rules, origin, rejects)
    frame = _sorted_dedup(frame, ["symbol", "timeframe", "ts"], origin, rejects)
    return conform(frame, "quote_bars")


def validate_quotes(
    frame: pl.DataFrame, origin: str, rejects: RowRejects | None = None
) -> pl.DataFrame:
    """Check and clean best bid/ask updates; returns the canonical ``quotes`` frame by (ts, seq).

    ``frame`` holds symbol, source, ts, bid, bid_size, ask, ask_size and ``_row`` (no
    ``seq``). A file that is entirely newest-first is reversed first; rows are then stably
    sorted by ts, an update identical to the one before it (same ts and values) is dropped as
    an exact duplicate, and ``seq`` numbers the remaining updates sharing a timestamp
    (0, 1, ...) in file order. A crossed quote (bid above ask) is kept. ``rejects``: lenient
    mode, as in :func:`validate_bars`.

    Raises:
        SourceDataError: empty input; strict mode: a missing or non-numeric bid/ask/size; a
            price <= 0; a size < 0.
    """
    if frame.height == 0:
        raise SourceDataError(origin, "no rows: the file is empty or holds no quotes")
    numbers = ["bid", "bid_size", "ask", "ask_size"]
    rules = [
        *_missing(numbers),
        *_positive(["bid", "ask"]),
        *_sizes(["bid_size", "ask_size"], "size"),
    ]
    frame = _validated(frame, rules, origin, rejects)
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
