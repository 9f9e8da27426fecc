"""The interface every price source implements.

A source lists :class:`SourceItem` objects (one file, one API request...) cheaply, without
reading data; the ingestion asset loads the items of one symbol one by one, so that a bad
file is recorded and skipped while the good ones still land.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl


@dataclass(frozen=True)
class SourceItem:
    """One unit of input for one symbol and one kind of rows.

    Attributes:
        origin: the file path or URL the rows come from (used in error messages).
        symbol: the symbol in its market's form (``AAPL``, ``ETH/USDT``).
        kind: ``bars``, ``ticks``, ``quotes`` or ``quote_bars`` (see :mod:`trading_assets.schemas`).
        timeframe: bar timeframe (``1m``, ``1d``...) for bar kinds, else None.
        source: the value written to the ``source`` column (``freqtrade_json``, ``alpaca``...).
        fingerprint: a cheap identity of the content (size + mtime for files) so callers can
            tell whether an item changed without reading it.
        loader: returns the canonical, validated frame; raises
            :class:`~trading_assets.errors.SourceDataError` naming file, row and field.
    """

    origin: str
    symbol: str
    kind: str
    timeframe: str | None
    source: str
    fingerprint: str
    loader: Callable[[], pl.DataFrame] = field(repr=False, compare=False)

    def load(self) -> pl.DataFrame:
        """Read and validate the rows of this item (canonical schema of ``kind``)."""
        return self.loader()


class PriceSource(Protocol):
    """A provider of bars and ticks: the demo package data, a folder of files, or an API."""

    name: str

    def items(self, symbols: Sequence[str] | None = None) -> list[SourceItem]:
        """The items this source offers, optionally only for ``symbols``.

        Must be cheap (no data read) for file sources; API sources build one item per
        (symbol, kind, timeframe) request.
        """
        ...
