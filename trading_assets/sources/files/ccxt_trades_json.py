"""Trade lists saved from ccxt (``exchange.fetch_trades(...)`` dumped as JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError
from trading_assets.sources.files._common import (
    FileReader,
    Sniffed,
    file_suffix,
    json_element_of,
    json_elements_text,
    json_error,
    read_bytes,
    with_rows,
)
from trading_assets.sources.files._naming import normalize_symbol
from trading_assets.sources.files._times import parse_times
from trading_assets.sources.files._trades import finish_trades
from trading_assets.sources.validate import ROW

_FIRST = re.compile(rb"^\s*\[\s*\{")
_SYMBOL = re.compile(rb'"symbol"\s*:\s*"([^"]{1,40})"')
_KEYS = (b'"timestamp"', b'"price"', b'"amount"')


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class CcxtTradesJsonReader(FileReader):
    """Trade ticks from a JSON array of ccxt trade structures, plain or gzipped.

    Input: ``[{"info": {...}, "id": "123", "timestamp": 1502962946216, "datetime":
    "2017-08-17T09:42:26.216Z", "symbol": "ETH/BTC", "side": "buy", "takerOrMaker": ...,
    "price": 0.069, "amount": 1.5, "cost": ..., "fee": ...}, ...]`` as ccxt's
    ``fetch_trades`` returns it (``timestamp`` in ms; ``datetime`` is used where it is
    null; ``info``, the exchange's raw trade, is ignored). Symbol from the trades' ``symbol``
    (one per file), else the file name.

    Output (:meth:`read`): canonical ``ticks`` sorted by ts: ``trade_id`` = ``id`` (or
    ``<ts_us>-<seq>``); price float64 in the quote currency; size float64 in the base asset;
    ``side`` buy/sell/null (the taker's side); ``source`` = ``"ccxt_trades_json"``. Rows in
    errors are 1-based array elements.

    Raises:
        SourceDataError: empty file, invalid JSON, not an array of objects, several symbols,
            an unknown symbol, and (strict mode) an element that is not a trade or the row
            checks of :func:`~trading_assets.sources.validate.validate_ticks`.
    """

    format = "ccxt_trades_json"
    kind = "ticks"
    extensions = (".json", ".json.gz")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> Sniffed | None:
        """A ``.json``/``.json.gz`` array of objects with timestamp, price and amount."""
        if file_suffix(path) not in cls.extensions or not _FIRST.match(head):
            return None
        if not all(key in head for key in _KEYS):
            return None
        symbol = _SYMBOL.search(head)
        return Sniffed(symbol=symbol.group(1).decode() if symbol else None)

    def read(self) -> pl.DataFrame:
        """Read and validate the file (see the class docstring for shape and errors)."""
        data = read_bytes(self.path, self.origin, row_of=json_element_of)
        try:
            trades = json.loads(data)
        except json.JSONDecodeError as exc:
            raise json_error(self.origin, data, exc, json_element_of(data, exc.pos)) from None
        if not isinstance(trades, list) or not trades:
            raise SourceDataError(self.origin, "expected a non-empty JSON array of trades")
        rows = [t if isinstance(t, dict) else {} for t in trades]
        frame = with_rows(
            pl.DataFrame(
                {
                    "timestamp": [_text(t.get("timestamp")) for t in rows],
                    "datetime": [_text(t.get("datetime")) for t in rows],
                    "id": [_text(t.get("id")) for t in rows],
                    "side": [_text(t.get("side")) for t in rows],
                    "price": [_text(t.get("price")) for t in rows],
                    "amount": [_text(t.get("amount")) for t in rows],
                    "symbol": [_text(t.get("symbol")) for t in rows],
                },
                schema=dict.fromkeys(
                    ("timestamp", "datetime", "id", "side", "price", "amount", "symbol"),
                    pl.String(),
                ),
            ),
            1,
        )
        not_trades = [i for i, t in enumerate(trades, start=1) if not isinstance(t, dict)]
        if not_trades and self.rejects is None:
            raise SourceDataError(self.origin, "not a trade object", row=not_trades[0])
        if not_trades:
            self.rejects.add(not_trades, None, "not a trade object")
        symbols = sorted({normalize_symbol(s) for s in frame["symbol"].drop_nulls().unique()})
        if len(symbols) > 1:
            raise SourceDataError(
                self.origin,
                f"the file holds trades of several symbols ({', '.join(symbols[:5])}); "
                "one file must hold one symbol",
                field="symbol",
            )
        symbol = self.require_symbol(symbols[0] if symbols else None)
        frame = frame.with_columns(pl.coalesce("timestamp", "datetime").alias("_time"))
        ts = parse_times(frame, "_time", self.origin, rejects=self.rejects).instant
        trades_frame = frame.select(
            ts.alias("ts"),
            "id",
            "side",
            pl.col("price").cast(pl.Float64, strict=False),
            pl.col("amount").cast(pl.Float64, strict=False),
            ROW,
        )
        return finish_trades(trades_frame, symbol, self.format, self.origin, self.rejects)

    def raw_text(self, rows: list[int]) -> dict[int, str]:
        """Row -> the JSON array element (1-based) as compact JSON text."""
        return json_elements_text(self.path, self.origin, rows)
