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

#: columns of :attr:`Loaded.rejected`
REJECTED: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "field": pl.String(),
    "reason": pl.String(),
    "bad": pl.Boolean(),
    "raw": pl.String(),
}


@dataclass(frozen=True)
class Loaded:
    """What a lenient read of one item gave.

    Attributes:
        rows: the good rows, the canonical frame of the item's kind.
        rejected: the rows set aside: ``row`` (1-based, as in errors), ``field``,
            ``reason``, ``bad`` (False for rows held back by rule, such as a partial
            last candle) and ``raw`` (the row's text in the file, or None); see
            :mod:`trading_assets.sources.rejects`.
        actions: corporate actions the file carries (dividends, splits, capital gains;
            :data:`trading_assets.schemas.CORPORATE_ACTIONS_SCHEMA`), or None.
    """

    rows: pl.DataFrame
    rejected: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECTED))
    actions: pl.DataFrame | None = None

    @property
    def bad_rows(self) -> int:
        """Rows set aside as bad (those that count toward the file's bad-row share)."""
        return int(self.rejected["bad"].sum()) if self.rejected.height else 0


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
        loader: returns the canonical, validated frame, or a :class:`Loaded` (lenient file
            readers: good rows plus the rows set aside); raises
            :class:`~trading_assets.errors.SourceDataError` naming file, row and field when
            the input cannot be read at all.
    """

    origin: str
    symbol: str
    kind: str
    timeframe: str | None
    source: str
    fingerprint: str
    loader: Callable[[], pl.DataFrame | Loaded] = field(repr=False, compare=False)

    def load(self) -> pl.DataFrame:
        """Read and validate the rows of this item (canonical schema of ``kind``): the rows
        that land."""
        return self.load_checked().rows

    def load_checked(self) -> Loaded:
        """Read and validate this item: the good rows and the rows set aside."""
        out = self.loader()
        return out if isinstance(out, Loaded) else Loaded(out)


class PriceSource(Protocol):
    """A provider of bars and ticks: the demo package data, a folder of files, or an API."""

    name: str

    def items(self, symbols: Sequence[str] | None = None) -> list[SourceItem]:
        """The items this source offers, optionally only for ``symbols``.

        Must be cheap (no data read) for file sources; API sources build one item per
        (symbol, kind, timeframe) request.
        """
        ...
