"""Which market a symbol trades on, and that market's session hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Market:
    """A market's trading calendar, as far as bars need it.

    Attributes:
        asset_class: ``crypto`` (trades around the clock) or ``equity``.
        timezone: the exchange's time zone (sessions and trading dates are local).
        session_open / session_close: regular session in local time; None for 24/7 markets.
    """

    asset_class: str
    timezone: ZoneInfo
    session_open: time | None
    session_close: time | None

    @property
    def always_open(self) -> bool:
        return self.session_open is None


CRYPTO = Market("crypto", ZoneInfo("UTC"), None, None)
US_EQUITY = Market("equity", ZoneInfo("America/New_York"), time(9, 30), time(16, 0))


def market_of(symbol: str) -> Market:
    """The market of ``symbol``: pairs written ``BASE/QUOTE`` are crypto, the rest US equities
    and indices (``AAPL``, ``SPY``, ``^GSPC``)."""
    return CRYPTO if "/" in symbol else US_EQUITY
