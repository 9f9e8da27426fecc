"""The price sources resource: what the active profile reads prices from."""

from pathlib import Path

import dagster as dg

from trading_assets.sources.base import PriceSource, SourceItem
from trading_assets.sources.inventory import Listing, list_files


class PriceSourcesResource(dg.ConfigurableResource):
    """Where prices come from, per profile (``demo``, ``local`` or ``live``).

    Attributes:
        profile: ``demo`` (bundled index data), ``local`` (files in ``data_dir``) or ``live``.
        data_dir: folder of price files for ``local``.
        mapping_file: optional file that overrides symbol/timeframe/format per file pattern.
        inbox_dir: a folder whose price files are ingested on every profile, on top of the
            profile's sources (``$TRADING_ASSETS_HOME/inbox``; the ``inbox`` sensor watches it).
        alpaca_api_key / alpaca_secret_key: from ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY``
            (``dagster.EnvVar``); only stocks need them.
        alpaca_data_url: base URL override of Alpaca's market data API (tests use 127.0.0.1).
        stock_adjustment: corporate-action adjustment of Alpaca stock bars (``split``,
            ``all``, ``dividend`` or ``raw``), recorded in each bar's ``source``
            (``alpaca:split``).
        stock_symbols / crypto_symbols / timeframes / lookback_days / fetch_trades: what the
            ``live`` profile requests from Alpaca. Stock symbols are skipped (with a warning)
            when the keys are not set. Trades are off by default: a month of SPY or BTC trades
            is millions of rows.
    """

    profile: str = "demo"
    data_dir: str | None = None
    inbox_dir: str | None = None
    mapping_file: str | None = None
    alpaca_api_key: str | None = None
    alpaca_secret_key: str | None = None
    alpaca_data_url: str | None = None
    stock_symbols: list[str] = ["SPY", "AAPL", "MSFT"]
    crypto_symbols: list[str] = ["BTC/USD", "ETH/USD"]
    timeframes: list[str] = ["1m", "1h", "1d"]
    lookback_days: int = 30
    fetch_trades: bool = False
    stock_adjustment: str = "split"

    def sources(self) -> list[PriceSource]:
        """The configured sources (constructed on each call; listing is cheap)."""
        from trading_assets.sources.registry import build_sources

        sources = build_sources(
            self.profile,
            data_dir=self.data_dir,
            mapping_file=self.mapping_file,
            alpaca={
                "api_key": self.alpaca_api_key,
                "secret_key": self.alpaca_secret_key,
                "data_url": self.alpaca_data_url,
                "stock_symbols": self.stock_symbols,
                "crypto_symbols": self.crypto_symbols,
                "timeframes": self.timeframes,
                "lookback_days": self.lookback_days,
                "fetch_trades": self.fetch_trades,
                "adjustment": self.stock_adjustment,
            },
        )
        if self.inbox_dir and Path(self.inbox_dir).is_dir():
            from trading_assets.sources.local_folder import LocalFolderSource

            sources.append(LocalFolderSource(Path(self.inbox_dir)))
        return sources

    def items(self, symbols: list[str] | None = None) -> list[SourceItem]:
        """All source items (optionally for ``symbols``), in a deterministic order."""
        return [item for source in self.sources() for item in source.items(symbols)]

    def symbols(self) -> list[str]:
        """Every symbol some source offers, sorted."""
        return sorted({item.symbol for item in self.items()})

    def listing(self) -> Listing:
        """Every file of the data folder and the inbox: price files of known symbol (items),
        files ignored by rule, and price files of unknown symbol (see
        :func:`trading_assets.sources.inventory.list_files`)."""
        return list_files(self.sources())
