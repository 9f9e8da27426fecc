"""Execution modes: ``dry_run`` (the default) and ``paper``. Live-money trading is not offered.

``TRADING_EXECUTION`` picks the mode. ``dry_run`` needs nothing: order intents are stored in
``trading.orders`` with status ``dry_run`` and nothing leaves the machine. ``paper`` sends
orders to Alpaca's paper trading API with ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY``; its base
URL is Alpaca's paper host unless ``ALPACA_TRADING_URL`` names another (tests: 127.0.0.1), and
Alpaca's live-money host is refused whatever the mode.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from trading_assets.errors import ConfigurationError
from trading_assets.settings import ALPACA_API_KEY, ALPACA_SECRET_KEY, ALPACA_TRADING_URL, EXECUTION

DRY_RUN = "dry_run"
PAPER = "paper"
MODES: tuple[str, ...] = (DRY_RUN, PAPER)
#: Alpaca's paper trading host (alpaca-py ``BaseURL.TRADING_PAPER``)
PAPER_URL = "https://paper-api.alpaca.markets"
#: Alpaca's live-money trading host (alpaca-py ``BaseURL.TRADING_LIVE``): never used
LIVE_HOSTS: frozenset[str] = frozenset({"api.alpaca.markets"})
#: mode names that ask for real money
LIVE_WORDS: frozenset[str] = frozenset({"live", "real", "production", "prod", "money"})


class LiveTradingRefused(ConfigurationError):
    """Live-money trading was asked for (a mode or a URL): it is not offered."""


def execution_mode(value: str | None) -> str:
    """The execution mode named by ``value`` (``TRADING_EXECUTION``; None or empty: dry_run).

    Raises:
        LiveTradingRefused: ``live`` (or another name for real money).
        ConfigurationError: any other unknown name.
    """
    mode = (value or DRY_RUN).strip().lower().replace("-", "_")
    if mode in MODES:
        return mode
    if mode in LIVE_WORDS:
        raise LiveTradingRefused(
            f"{EXECUTION.name}={value!r}: live-money trading is not offered by trading-assets; "
            f"use {DRY_RUN} (the default: intents stored, nothing sent) or {PAPER} "
            "(Alpaca's paper account)"
        )
    raise ConfigurationError(
        f"{EXECUTION.name}={value!r} is not an execution mode; choose {DRY_RUN} or {PAPER}"
    )


def trading_url(value: str | None) -> str:
    """The base URL of the paper trading API: ``value`` (``ALPACA_TRADING_URL``) without a
    trailing slash, or :data:`PAPER_URL`.

    Raises:
        LiveTradingRefused: ``value`` points at Alpaca's live-money host.
        ConfigurationError: ``value`` is not an http(s) URL.
    """
    if not value:
        return PAPER_URL
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{ALPACA_TRADING_URL.name}={value!r} is not an http(s) URL")
    if parts.hostname.lower() in LIVE_HOSTS:
        raise LiveTradingRefused(
            f"{ALPACA_TRADING_URL.name} points at Alpaca's live-money host {parts.hostname}: "
            f"live-money trading is not offered; leave it unset for {PAPER_URL}"
        )
    return value.strip().rstrip("/")


def require_keys(api_key: str | None, secret_key: str | None) -> tuple[str, str]:
    """``(api_key, secret_key)`` for the paper mode.

    Raises:
        ConfigurationError: a key is missing, naming the variables (never their values).
    """
    missing = [
        s.name for s, v in ((ALPACA_API_KEY, api_key), (ALPACA_SECRET_KEY, secret_key)) if not v
    ]
    if missing:
        raise ConfigurationError(
            f"{EXECUTION.name}={PAPER} needs {' and '.join(missing)} (Alpaca paper account keys)"
        )
    return str(api_key), str(secret_key)
