"""Canonical table schemas (DESIGN.md §4) as Polars schemas.

Timestamps are ``Datetime("us", "UTC")``; prices are float64 in the quote currency; sizes and
volumes are float64 in the base asset (shares for equities). A bar's ``ts`` is its open time;
the bar is known only at ``ts + timeframe``.
"""

from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

#: ``raw.bars``: one OHLCV bar. Key: (symbol, timeframe, ts).
BARS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "trades": pl.Int64(),  # nullable: number of trades in the bar
    "vwap": pl.Float64(),  # nullable
    "source": pl.String(),
}
BARS_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")

#: ``raw.ticks``: one trade. Key: (symbol, source, trade_id).
TICKS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "source": pl.String(),
    "trade_id": pl.String(),  # exchange id as text (ids can exceed 2**53); else "<ts_us>-<seq>"
    "ts": UTC_TS,
    "price": pl.Float64(),
    "size": pl.Float64(),
    "side": pl.String(),  # "buy" | "sell" | null: the taker's side
}
TICKS_KEY: tuple[str, ...] = ("symbol", "source", "trade_id")

#: ``raw.quotes``: one best bid/ask update. Key: (symbol, source, ts, seq).
QUOTES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "source": pl.String(),
    "ts": UTC_TS,
    "seq": pl.Int64(),  # 0, 1, ... among updates sharing a timestamp, in file order
    "bid": pl.Float64(),
    "bid_size": pl.Float64(),
    "ask": pl.Float64(),
    "ask_size": pl.Float64(),
}
QUOTES_KEY: tuple[str, ...] = ("symbol", "source", "ts", "seq")

#: ``raw.quote_bars``: bid and ask OHLC per bar (QuantConnect Lean quote files).
#: Key: (symbol, timeframe, ts).
QUOTE_BARS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,
    "bid_open": pl.Float64(),
    "bid_high": pl.Float64(),
    "bid_low": pl.Float64(),
    "bid_close": pl.Float64(),
    "bid_size": pl.Float64(),
    "ask_open": pl.Float64(),
    "ask_high": pl.Float64(),
    "ask_low": pl.Float64(),
    "ask_close": pl.Float64(),
    "ask_size": pl.Float64(),
    "source": pl.String(),
}
QUOTE_BARS_KEY: tuple[str, ...] = ("symbol", "timeframe", "ts")

#: kind of rows a source item yields -> (schema, key)
KINDS: dict[str, tuple[dict[str, pl.DataType], tuple[str, ...]]] = {
    "bars": (BARS_SCHEMA, BARS_KEY),
    "ticks": (TICKS_SCHEMA, TICKS_KEY),
    "quotes": (QUOTES_SCHEMA, QUOTES_KEY),
    "quote_bars": (QUOTE_BARS_SCHEMA, QUOTE_BARS_KEY),
}


def empty_frame(kind: str) -> pl.DataFrame:
    """An empty DataFrame with the canonical schema of ``kind`` (``bars``, ``ticks``, ...)."""
    schema, _ = KINDS[kind]
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Select and cast ``frame`` to the canonical column order and dtypes of ``kind``.

    Missing nullable columns (``trades``, ``vwap``, ``side``) are added as nulls.

    Raises:
        KeyError: if a required column is missing.
    """
    schema, _ = KINDS[kind]
    optional = {"trades", "vwap", "side"}
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name in optional:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        else:
            raise KeyError(f"canonical {kind} frame is missing column {name!r}")
    return frame.select(exprs)


#: ``staging.bars``: source bars plus bars resampled from finer data where a source does not
#: provide the timeframe. ``source`` is the source format for source bars and
#: ``resampled:<from-timeframe>`` for derived ones. Key: (symbol, timeframe, ts).
STAGING_BARS_SCHEMA: dict[str, pl.DataType] = {**BARS_SCHEMA, "n_parts": pl.Int64()}

#: ``ops.source_items``: one row per ingested file or API request (bookkeeping of what was read).
SOURCE_ITEMS_SCHEMA: dict[str, pl.DataType] = {
    "origin": pl.String(),
    "kind": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "source": pl.String(),
    "fingerprint": pl.String(),
    "status": pl.String(),  # "ok" | "error"
    "rows": pl.Int64(),
    "error": pl.String(),
    "ingested_at": UTC_TS,
}
SOURCE_ITEMS_KEY: tuple[str, ...] = ("origin", "kind")
