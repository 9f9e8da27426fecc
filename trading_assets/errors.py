"""Exceptions raised by trading-assets.

Every error about input data names where the problem is: the file (or URL), and the row
and/or field when one can be pointed at, so a user can open the file and fix it.
"""

from __future__ import annotations


class TradingAssetsError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceDataError(TradingAssetsError, ValueError):
    """Input data that cannot be turned into canonical rows.

    Attributes:
        origin: the file path or URL the data came from.
        row: 1-based row (line for text files, element for JSON arrays), or None.
        field: the column or JSON key at fault, or None.
        reason: what is wrong, in plain words.
    """

    def __init__(
        self,
        origin: str,
        reason: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.origin = str(origin)
        self.reason = reason
        self.row = row
        self.field = field
        where = self.origin
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class UnknownSymbolError(TradingAssetsError, KeyError):
    """A symbol that no source provides or the warehouse does not hold."""

    def __init__(self, symbol: str, known: list[str] | None = None, where: str = "") -> None:
        self.symbol = symbol
        self.known = known or []
        hint = f"; known symbols: {', '.join(self.known[:20])}" if self.known else ""
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown symbol {symbol!r}{hint}")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return self.args[0]


class ConfigurationError(TradingAssetsError):
    """A profile, environment variable or configuration value that cannot be used."""


class SourceUnavailableError(TradingAssetsError):
    """A remote source (HTTP API, feed) that failed after retries."""


class PublishError(TradingAssetsError):
    """A publishing call failed for good (after retries, or with a non-retryable status).

    Attributes:
        target: ``wordpress`` or ``discord``.
        status: the HTTP status, or None for a transport error.
    """

    def __init__(self, target: str, reason: str, status: int | None = None) -> None:
        self.target = target
        self.status = status
        super().__init__(f"{target}: {reason}")
