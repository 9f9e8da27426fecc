"""Which market a symbol trades on, and that market's session hours.

Crypto pairs (``BASE/QUOTE``) trade around the clock. Every other symbol is an equity or index
listed on an exchange named by its ISO 10383 MIC (``XNYS``, ``XNAS``, ``XTKS``, ``XLON`` ...):
``XNYS`` unless the setting ``TRADING_EXCHANGES`` says otherwise. The exchange's sessions,
holidays and early closes come from the ``exchange_calendars`` library
(:mod:`trading_assets.sessions`), never from tables written here.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from datetime import time
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from trading_assets.errors import ConfigurationError
from trading_assets.settings import EXCHANGES

#: the exchange of a non-crypto symbol that ``TRADING_EXCHANGES`` does not name
DEFAULT_EXCHANGE = "XNYS"


@dataclass(frozen=True)
class Market:
    """A market's trading calendar, as far as bars need it.

    Attributes:
        asset_class: ``crypto`` (trades around the clock) or ``equity``.
        timezone: the exchange's time zone (sessions and trading dates are local).
        session_open / session_close: regular session in local time (the exchange calendar's
            regular hours); None for 24/7 markets. Holidays and early closes are per date, in
            :mod:`trading_assets.sessions`.
        exchange: the exchange's MIC in ``exchange_calendars`` (``XNYS``); None for crypto.
    """

    asset_class: str
    timezone: ZoneInfo
    session_open: time | None
    session_close: time | None
    exchange: str | None = None

    @property
    def always_open(self) -> bool:
        return self.session_open is None


CRYPTO = Market("crypto", ZoneInfo("UTC"), None, None)
#: the New York Stock Exchange's regular hours (a test checks them against exchange_calendars)
US_EQUITY = Market("equity", ZoneInfo("America/New_York"), time(9, 30), time(16, 0), "XNYS")


def exchange_of(symbol: str) -> str | None:
    """The exchange (MIC) ``symbol`` trades on; None for crypto pairs.

    ``TRADING_EXCHANGES`` is a comma-separated list of ``pattern=MIC`` (shell-style patterns,
    the first match wins), e.g. ``4063.T=XTKS,*.L=XLON``; symbols no pattern matches trade on
    :data:`DEFAULT_EXCHANGE`.

    Raises:
        ConfigurationError: an entry of ``TRADING_EXCHANGES`` is not ``pattern=MIC``.
    """
    if "/" in symbol:
        return None
    for entry in filter(None, (e.strip() for e in (EXCHANGES.read() or "").split(","))):
        pattern, sep, code = (part.strip() for part in entry.partition("="))
        if not sep or not pattern or not code:
            raise ConfigurationError(
                f"{EXCHANGES.name}: entry {entry!r} is not pattern=MIC (e.g. 4063.T=XTKS)"
            )
        if fnmatchcase(symbol, pattern):
            return code.upper()
    return DEFAULT_EXCHANGE


def market_of(symbol: str) -> Market:
    """The market of ``symbol``: pairs written ``BASE/QUOTE`` are crypto, the rest equities
    and indices (``AAPL``, ``SPY``, ``^GSPC``) on the exchange :func:`exchange_of` names.

    Raises:
        ConfigurationError: the exchange calendar library has no calendar for the symbol's
            exchange (the message names the symbol and ``TRADING_EXCHANGES``).
    """
    code = exchange_of(symbol)
    if code is None:
        return CRYPTO
    if code == US_EQUITY.exchange:
        return US_EQUITY
    return _calendar_market(code, symbol)


@functools.lru_cache(maxsize=64)
def _calendar_market(code: str, symbol: str) -> Market:
    calendar = exchange_calendar(code, symbol)
    return Market(
        "equity",
        ZoneInfo(str(calendar.tz)),
        calendar.open_times[-1][1],
        calendar.close_times[-1][1],
        code,
    )


def exchange_calendar(
    code: str, symbol: str | None = None, start: str | None = None, end: str | None = None
):
    """The ``exchange_calendars`` calendar of exchange ``code`` (for ``symbol``, named in errors
    when given), optionally over ``[start, end]`` (ISO dates; the library's default range
    otherwise).

    Raises:
        ConfigurationError: the library has no calendar ``code``, or cannot cover the dates.
    """
    import exchange_calendars as xc

    who = f"symbol {symbol!r}" if symbol else f"exchange {code!r}"
    try:
        with warnings.catch_warnings():  # the library's own pandas deprecation notices
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return xc.get_calendar(code, start=start, end=end)
    except xc.errors.InvalidCalendarName:
        raise ConfigurationError(
            f"{who}: the exchange calendar library (exchange_calendars) has no "
            f"exchange {code!r}; set {EXCHANGES.name} to a MIC it knows, e.g. "
            f"{EXCHANGES.name}='{symbol or '<symbol>'}=XNYS' (others: XNAS, XLON, XTKS, XETR, XHKG)"
        ) from None
    except ValueError as exc:
        raise ConfigurationError(
            f"{who}: the {code} calendar cannot cover {start} to {end}: {exc}"
        ) from None
