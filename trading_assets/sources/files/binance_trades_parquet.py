"""Binance trade ticks in Parquet (``timestamp, trade_id, price, quantity, buyer_maker``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    check_columns,
    with_rows,
)
from trading_assets.sources.files._parquet import (
    has_parquet_columns,
    parquet_rows_text,
    read_parquet,
    utc_times,
)
from trading_assets.sources.validate import ROW, validate_ticks

_REQUIRED = ["timestamp", "trade_id", "price", "quantity", "buyer_maker"]


class BinanceTradesParquetReader(FileReader):
    """Trade ticks from a Parquet file of Binance trades (as nautilus_trader's test data
    ``btcusdt-trades.parquet``: the columns of Binance's ``/api/v3/trades``).

    Input columns: ``timestamp`` (datetime, or integer epoch s/ms/us/ns; naive times are
    taken as UTC), ``trade_id`` (integer or text), ``price``, ``quantity`` (base asset),
    ``buyer_maker`` (booleans, or the strings ``"True"``/``"False"`` as in the shared file).
    ``buyer_maker`` true means the buyer was the resting order, i.e. the taker **sold**:
    ``side = "sell"``; false -> ``"buy"``. Symbol from the file name
    (``binance_BTCUSDT_trades_2021-01-08.parquet`` -> ``BTC/USDT``).

    Output (:meth:`read`): canonical ``ticks`` (:data:`~trading_assets.schemas.TICKS_SCHEMA`)
    sorted by ts: ``trade_id`` as text, ``price`` float64 in the quote currency, ``size``
    float64 in the base asset, ``source`` = ``"binance_trades_parquet"``. Rows in errors are
    1-based row positions in the file.

    Raises:
        SourceDataError: unreadable/corrupt Parquet, a missing column, a ``buyer_maker`` value
            other than true/false, bad timestamps, and the checks of
            :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "binance_trades_parquet"
    kind = "ticks"
    extensions = (".parquet",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.parquet`` file whose schema has the Binance trade columns."""
        return Sniffed() if has_parquet_columns(path, _REQUIRED) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        frame = read_parquet(self.path, self.origin)
        check_columns(self.origin, frame.columns, _REQUIRED, "Binance trades")
        frame = with_rows(frame, 1)
        maker = frame["buyer_maker"]
        if maker.dtype != pl.Boolean:
            text = maker.cast(pl.String).str.strip_chars().str.to_lowercase()
            maker = text.replace_strict(
                {"true": True, "false": False, "1": True, "0": False},
                default=None,
                return_dtype=pl.Boolean,
            )
        bad = maker.is_null()
        if bad.any() and self.rejects is not None:
            self.rejects.add(frame[ROW].filter(bad), "buyer_maker", "not True or False")
        elif bad.any():
            idx = int(bad.arg_max())
            raise SourceDataError(
                self.origin,
                f"{frame['buyer_maker'][idx]!r} is not True or False",
                row=int(frame[ROW][idx]),
                field="buyer_maker",
            )
        ts = utc_times(frame, "timestamp", self.origin, self.rejects)
        frame = frame.with_columns(maker.alias("_maker")).select(
            pl.lit(symbol).alias("symbol"),
            pl.lit(self.format).alias("source"),
            pl.col("trade_id").cast(pl.String).alias("trade_id"),
            ts.alias("ts"),
            pl.col("price").cast(pl.Float64, strict=False),
            pl.col("quantity").cast(pl.Float64, strict=False).alias("size"),
            pl.when(pl.col("_maker")).then(pl.lit("sell")).otherwise(pl.lit("buy")).alias("side"),
            ROW,
        )
        null_ids = frame["trade_id"].is_null()
        if null_ids.any() and self.rejects is not None:
            self.rejects.add(frame[ROW].filter(null_ids), "trade_id", "missing trade id")
            frame = frame.filter(~null_ids)
        elif null_ids.any():
            raise SourceDataError(
                self.origin,
                "missing trade id",
                row=int(frame[ROW][int(null_ids.arg_max())]),
                field="trade_id",
            )
        return validate_ticks(frame, self.origin, self.rejects)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the Parquet row (1-based) as JSON text."""
        return parquet_rows_text(self.path, rows)
