"""Trade files in CSV: any header naming time (or a microsecond id), price and amount
(Tardis exports, ``id,price,amount,type`` dumps), and bitcoincharts' headerless
``unix_seconds,price,amount`` files."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    file_suffix,
    read_bytes,
    read_delimited,
)
from trading_assets.sources.files._naming import normalize_symbol
from trading_assets.sources.files._times import parse_times
from trading_assets.sources.files._trades import finish_trades
from trading_assets.sources.files.ohlcv_csv import MISSING
from trading_assets.sources.validate import ROW, epoch_to_utc

#: role -> lower-cased header names that give it
TRADE_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "time", "ts", "datetime", "date", "trade_time", "transact_time"),
    "id": ("id", "trade_id", "tid", "trade id", "tradeid", "agg_trade_id"),
    "price": ("price", "rate", "px"),
    "amount": ("amount", "size", "qty", "quantity", "volume", "base_amount"),
    "side": ("side", "type", "taker_side", "taker side"),
    "buyer_maker": ("is_buyer_maker", "buyer_maker", "isbuyermaker", "m"),
    "symbol": ("symbol", "pair", "market", "instrument"),
}
_ROLE_OF = {name: role for role, names in TRADE_ALIASES.items() for name in names}
_OHLC = {"open", "high", "low", "close"}
#: side spellings -> buy/sell (the taker's side); other values are set aside
SIDES = {"buy": "buy", "b": "buy", "bid": "buy", "sell": "sell", "s": "sell", "ask": "sell"}
_UNKNOWN_SIDES = ("unknown", "")
#: epoch ids in microseconds (2001-2286): the id is the trade time
_MICROSECOND_IDS = (1e15, 1e16)


def _names(line: str) -> list[str]:
    return [c.strip().strip('"').lower() for c in line.rstrip("\r").lstrip("\ufeff").split(",")]


def _roles(names: list[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for name in names:
        role = _ROLE_OF.get(name)
        if role is not None:
            roles.setdefault(role, name)
    return roles


class TradesCsvReader(FileReader):
    """Trade ticks from a CSV whose header names its columns.

    Input: a comma-separated header with ``price`` and ``amount`` (or size, qty,
    quantity...), a time (``timestamp``, ``time``...: epochs in any unit, or dates and times,
    see :func:`~trading_assets.sources.files._times.parse_times`) or, without one, an ``id``
    holding the trade time in microseconds (``id,price,amount,type`` dumps); optional id,
    side (``side``/``type``/``taker_side``: buy, sell, b, s; ``unknown`` or empty for not
    known) or ``is_buyer_maker`` (true: the taker sold), and a ``symbol`` column. Tardis
    exports (``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``, times in
    microseconds) read as they are. Other columns are ignored.

    Output (:meth:`read`): canonical ``ticks`` sorted by ts: ``trade_id`` = the id as text
    (``<ts_us>-<seq>`` without one); ``price`` float64 in the quote currency; ``size`` float64
    in the base asset; ``side`` buy/sell/null; ``source`` = ``"trades_csv"``. Symbol given,
    else the ``symbol`` column's single value, else the file name. Rows in errors are file
    lines.

    Raises:
        SourceDataError: empty file, non-UTF-8 bytes, a header without price, amount and a
            time or microsecond id, several symbols, an unknown symbol, and (strict mode)
            the row checks of :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "trades_csv"
    kind = "ticks"
    extensions = (".csv", ".csv.gz", ".txt")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A CSV whose header names price and amount and a time or id, but no OHLC."""
        if file_suffix(path) not in cls.extensions:
            return None
        lines = head.decode("utf-8", errors="replace").split("\n")
        names = _names(lines[0])
        roles = _roles(names)
        if _OHLC & set(names) or not {"price", "amount"} <= set(roles):
            return None
        if "time" not in roles and "id" not in roles:
            return None
        symbol = None
        if "symbol" in roles and len(lines) > 1:
            cells = _names(lines[1])
            index = names.index(roles["symbol"])
            symbol = cells[index].upper() if index < len(cells) and cells[index] else None
        return Sniffed(symbol=symbol)

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        data = read_bytes(self.path, self.origin)
        names = _names(data[:4096].decode("utf-8", errors="replace").split("\n", 1)[0])
        roles = _roles(names)
        if len(set(names)) != len(names):
            raise SourceDataError(self.origin, "the header repeats a column name", row=1)
        columns = {n: pl.String() for n in names}
        frame = read_delimited(
            data, self.origin, columns, skip_lines=1, null_values=MISSING, rejects=self.rejects
        )
        symbol = self.require_symbol(self._content_symbol(frame, roles))
        price = frame[roles["price"]].cast(pl.Float64, strict=False)
        amount = frame[roles["amount"]].cast(pl.Float64, strict=False)
        self._not_numbers(frame, roles["price"], price)
        self._not_numbers(frame, roles["amount"], amount)
        ids = frame[roles["id"]] if "id" in roles else pl.Series([None] * frame.height)
        ts = self._times(frame, roles, ids)
        side = self._sides(frame, roles)
        trades = pl.DataFrame(
            {
                "ts": ts,
                "id": ids.cast(pl.String),
                "side": side,
                "price": price,
                "amount": amount,
                ROW: frame[ROW],
            }
        )
        return finish_trades(trades, symbol, self.format, self.origin, self.rejects)

    def _content_symbol(self, frame: pl.DataFrame, roles: dict[str, str]) -> str | None:
        if "symbol" not in roles:
            return None
        found = sorted({normalize_symbol(s) for s in frame[roles["symbol"]].drop_nulls().unique()})
        if len(found) > 1:
            raise SourceDataError(
                self.origin,
                f"the file holds several symbols ({', '.join(found[:5])}); one file must hold "
                "one symbol: split it per symbol",
                field=roles["symbol"],
            )
        return found[0] if found else None

    def _not_numbers(self, frame: pl.DataFrame, column: str, values: pl.Series) -> None:
        bad = frame[column].is_not_null() & values.is_null()
        if not bad.any():
            return
        rows = frame[ROW].filter(bad)
        reasons = "'" + frame[column].filter(bad) + "' is not a number"
        if self.rejects is None:
            raise SourceDataError(self.origin, reasons[0], row=int(rows[0]), field=column)
        self.rejects.add(rows, column, reasons)

    def _times(self, frame: pl.DataFrame, roles: dict[str, str], ids: pl.Series) -> pl.Series:
        if "time" in roles:
            return parse_times(frame, roles["time"], self.origin, rejects=self.rejects).instant
        numbers = ids.cast(pl.Float64, strict=False)
        low, high = _MICROSECOND_IDS
        if not ((numbers >= low) & (numbers < high)).fill_null(False).any():
            raise SourceDataError(
                self.origin,
                "no time column, and the ids are not times in microseconds",
                row=2,
                field=roles.get("id"),
            )
        return epoch_to_utc(numbers, self.origin, frame[ROW], roles["id"], self.rejects)

    def _sides(self, frame: pl.DataFrame, roles: dict[str, str]) -> pl.Series:
        if "side" in roles:
            text = frame[roles["side"]].str.strip_chars().str.to_lowercase()
            known = text.replace_strict(SIDES, default=None, return_dtype=pl.String)
            unknown = text.is_null() | text.is_in(_UNKNOWN_SIDES)
            return pl.select(
                pl.when(unknown).then(None).otherwise(pl.coalesce(known, text)).alias("side")
            ).to_series()
        if "buyer_maker" in roles:
            maker = frame[roles["buyer_maker"]].str.strip_chars().str.to_lowercase()
            return maker.replace_strict(
                {"true": "sell", "1": "sell", "false": "buy", "0": "buy"},
                default=None,
                return_dtype=pl.String,
            )
        return pl.Series([None] * frame.height, dtype=pl.String)


_BITCOINCHARTS_ROW = re.compile(rb"^\s*\d{9,10}(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?([eE][-+]?\d+)?\s*$")
_BITCOINCHARTS_NAME = re.compile(r"^[a-z][a-z0-9]*?([A-Z]{3})(?:$|[-_. ])")
_TICK_COLUMNS: dict[str, pl.DataType] = {
    "timestamp": pl.Float64(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
}


class BitcoinchartsCsvReader(FileReader):
    """Trade ticks from a bitcoincharts.com trade file (``krakenGBP.csv``: headerless
    ``unix_seconds,price,amount``).

    Input: one line per trade, oldest first, epoch seconds (UTC), price in the quote
    currency, amount in BTC; no trade id, no side. The file name is ``<exchange><QUOTE>``
    and every bitcoincharts market is bitcoin, so ``krakenGBP.csv`` is ``BTC/GBP`` (a given
    symbol wins).

    Output (:meth:`read`): canonical ``ticks`` sorted by ts: ``trade_id`` =
    ``<ts_us>-<seq>`` (seq = order among the trades of the same second: identical rows are
    separate fills and all kept); ``side`` null; ``source`` = ``"bitcoincharts_csv"``. Rows
    in errors are file lines.

    Raises:
        SourceDataError: empty file, non-UTF-8 bytes, a row that is not three numbers or not
            an epoch time (strict mode), and the row checks of
            :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "bitcoincharts_csv"
    kind = "ticks"
    extensions = (".csv", ".csv.gz")

    def __init__(
        self, path: str | Path, *, symbol: str | None = None, timeframe: str | None = None
    ) -> None:
        super().__init__(path, symbol=symbol, timeframe=timeframe)
        named = _BITCOINCHARTS_NAME.match(self.path.name)
        if symbol is None and named is not None:
            self.symbol = f"BTC/{named.group(1)}"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A CSV whose first line is ``<epoch seconds>,<price>,<amount>``."""
        if file_suffix(path) not in cls.extensions:
            return None
        return Sniffed() if _BITCOINCHARTS_ROW.match(head.split(b"\n", 1)[0]) else None

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        symbol = self.require_symbol()
        data = read_bytes(self.path, self.origin)
        frame = read_delimited(data, self.origin, _TICK_COLUMNS, rejects=self.rejects)
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("id"), pl.lit(None, dtype=pl.String).alias("side")
        )
        return finish_trades(frame, symbol, self.format, self.origin, self.rejects)
