"""Timeframes as exchanges and freqtrade write them: ``1s 1m 5m 15m 1h 4h 1d 1w``."""

from __future__ import annotations

import re
from datetime import timedelta

from trading_assets.errors import TradingAssetsError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")

#: Timeframes the platform stores, finest first.
STANDARD_TIMEFRAMES: tuple[str, ...] = ("1s", "1m", "5m", "15m", "1h", "1d")


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar of ``timeframe`` in seconds.

    Raises:
        TradingAssetsError: if ``timeframe`` is not of the form ``<n><s|m|h|d|w>``.
    """
    match = _PATTERN.match(timeframe)
    if not match:
        raise TradingAssetsError(
            f"invalid timeframe {timeframe!r}: expected a number and one of s, m, h, d, w "
            "(for example 1m, 15m, 1h, 1d)"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def timeframe_delta(timeframe: str) -> timedelta:
    """Length of one bar of ``timeframe`` as a ``timedelta``."""
    return timedelta(seconds=timeframe_seconds(timeframe))
