"""Profiles choose where prices come from: ``demo`` (default), ``local`` or ``live``.

- ``demo``: real daily index data shipped inside the ``arch`` package; no network, no keys.
- ``local``: a folder of files (``TRADING_DATA_DIR``), e.g. ``../shared/data``.
- ``live``: Alpaca market data (crypto without keys; stocks with ``ALPACA_API_KEY`` and
  ``ALPACA_SECRET_KEY``).
"""

from __future__ import annotations

import os

from trading_assets import settings
from trading_assets.errors import ConfigurationError

PROFILE_ENV = settings.PROFILE.name
DATA_DIR_ENV = settings.DATA_DIR.name
PROFILES = ("demo", "local", "live")


def active_profile() -> str:
    """The profile named by ``$TRADING_PROFILE`` (default ``demo``).

    Raises:
        ConfigurationError: an unknown profile name, or ``local`` without ``TRADING_DATA_DIR``.
    """
    profile = (os.environ.get(PROFILE_ENV) or settings.PROFILE.default).strip().lower()
    if profile not in PROFILES:
        raise ConfigurationError(
            f"{PROFILE_ENV}={profile!r} is not a profile; choose one of {', '.join(PROFILES)}"
        )
    if profile == "local" and not os.environ.get(DATA_DIR_ENV):
        raise ConfigurationError(
            f"{PROFILE_ENV}=local needs {DATA_DIR_ENV} set to a folder of price/news files"
        )
    return profile
