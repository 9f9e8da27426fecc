"""One reader class per price file format; each turns one file into one canonical frame.

=========================================  ==========================  ============
reader                                     ``source`` / format name    kind
=========================================  ==========================  ============
:class:`FreqtradeJsonReader`               ``freqtrade_json``          bars
:class:`YahooCsvReader`                    ``yahoo_csv``               bars
:class:`YahooChartReader`                  ``yahoo_chart``             bars
:class:`LeanCsvReader`                     ``lean_csv``                bars / quote_bars
:class:`NinjaTraderReader`                 ``ninjatrader``             bars
:class:`BinanceTradesParquetReader`        ``binance_trades_parquet``  ticks
:class:`FreqtradeTradesCsvReader`          ``freqtrade_trades_csv``    ticks
:class:`FreqtradeTradesJsonReader`         ``freqtrade_trades_json``   ticks
:class:`QuotesParquetReader`               ``quotes_parquet``          quotes
:class:`CcxtTradesJsonReader`              ``ccxt_trades_json``        ticks
:class:`BitcoinchartsCsvReader`            ``bitcoincharts_csv``       ticks
:class:`TradesCsvReader`                   ``trades_csv``              ticks
:class:`OhlcvCsvReader`                    ``ohlcv_csv``               bars
=========================================  ==========================  ============

Usage: ``FreqtradeJsonReader(path).read()`` -> validated Polars frame in the canonical schema
of its kind (:mod:`trading_assets.schemas`). Every reader takes ``symbol=`` and ``timeframe=``
overrides; without them the file name (or the file's content) says. Errors are
:class:`~trading_assets.errors.SourceDataError` naming the file, row and field.

This package never imports Dagster.
"""

from __future__ import annotations

from pathlib import Path

from trading_assets.sources.files._common import (
    HEAD_BYTES,
    FileReader,
    Sniffed,
    file_suffix,
    read_head,
)
from trading_assets.sources.files._naming import infer_from_name, normalize_symbol
from trading_assets.sources.files.binance_trades_parquet import BinanceTradesParquetReader
from trading_assets.sources.files.ccxt_trades_json import CcxtTradesJsonReader
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.sources.files.freqtrade_trades_csv import FreqtradeTradesCsvReader
from trading_assets.sources.files.freqtrade_trades_json import FreqtradeTradesJsonReader
from trading_assets.sources.files.lean_csv import LeanCsvReader
from trading_assets.sources.files.ninjatrader import NinjaTraderReader
from trading_assets.sources.files.ohlcv_csv import OhlcvCsvReader
from trading_assets.sources.files.quotes_parquet import QuotesParquetReader
from trading_assets.sources.files.trades_csv import BitcoinchartsCsvReader, TradesCsvReader
from trading_assets.sources.files.yahoo_chart import YahooChartReader
from trading_assets.sources.files.yahoo_csv import YahooCsvReader

#: format name -> reader class, in the order formats are tried when sniffing a file (the
#: header-driven readers come last: a file in a specific layout keeps its own reader).
READERS: dict[str, type[FileReader]] = {
    cls.format: cls
    for cls in (
        YahooChartReader,
        FreqtradeJsonReader,
        FreqtradeTradesJsonReader,
        YahooCsvReader,
        FreqtradeTradesCsvReader,
        LeanCsvReader,
        NinjaTraderReader,
        BinanceTradesParquetReader,
        QuotesParquetReader,
        CcxtTradesJsonReader,
        BitcoinchartsCsvReader,
        TradesCsvReader,
        OhlcvCsvReader,
    )
}

#: every extension some reader handles (lower case, ``.json.gz`` compound).
EXTENSIONS: frozenset[str] = frozenset(ext for cls in READERS.values() for ext in cls.extensions)


def sniff_file(path: Path, head: bytes | None = None) -> tuple[type[FileReader], Sniffed] | None:
    """The first reader that recognises ``path`` (by extension and first bytes), or None.

    Reads at most :data:`HEAD_BYTES` bytes (Parquet: the footer schema only).
    """
    suffix = file_suffix(path)
    candidates = [cls for cls in READERS.values() if suffix in cls.extensions]
    if not candidates:
        return None
    if head is None:
        head = read_head(path, HEAD_BYTES)
    for cls in candidates:
        sniffed = cls.sniff(path, head)
        if sniffed is not None:
            return cls, sniffed
    return None


__all__ = [
    "EXTENSIONS",
    "READERS",
    "BinanceTradesParquetReader",
    "BitcoinchartsCsvReader",
    "CcxtTradesJsonReader",
    "FileReader",
    "FreqtradeJsonReader",
    "FreqtradeTradesCsvReader",
    "FreqtradeTradesJsonReader",
    "LeanCsvReader",
    "NinjaTraderReader",
    "OhlcvCsvReader",
    "QuotesParquetReader",
    "Sniffed",
    "TradesCsvReader",
    "YahooChartReader",
    "YahooCsvReader",
    "infer_from_name",
    "normalize_symbol",
    "sniff_file",
]
