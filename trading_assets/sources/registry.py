"""Build the price sources of a profile (``demo``, ``local``, ``live``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trading_assets.errors import ConfigurationError
from trading_assets.sources.base import PriceSource

logger = logging.getLogger(__name__)


def build_sources(
    profile: str,
    *,
    data_dir: str | None = None,
    mapping_file: str | None = None,
    alpaca: dict[str, Any] | None = None,
) -> list[PriceSource]:
    """The sources of ``profile``.

    Raises:
        ConfigurationError: unknown profile, or ``local`` without an existing ``data_dir``.
    """
    if profile == "demo":
        from trading_assets.sources.demo import DemoSource

        return [DemoSource()]
    if profile == "local":
        if not data_dir or not Path(data_dir).is_dir():
            raise ConfigurationError(
                f"profile 'local' needs TRADING_DATA_DIR to be a folder; got {data_dir!r}"
            )
        from trading_assets.sources.local_folder import LocalFolderSource

        return [LocalFolderSource(Path(data_dir), Path(mapping_file) if mapping_file else None)]
    if profile == "live":
        from trading_assets.sources.alpaca import AlpacaSource

        cfg = dict(alpaca or {})
        if not (cfg.get("api_key") and cfg.get("secret_key")) and cfg.get("stock_symbols"):
            logger.warning(
                "live profile: ALPACA_API_KEY/ALPACA_SECRET_KEY not set, so stock symbols %s "
                "are skipped (crypto needs no keys)",
                ", ".join(cfg["stock_symbols"]),
            )
            cfg["stock_symbols"] = []
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        start = end - timedelta(days=int(cfg.pop("lookback_days", 30)))
        return [AlpacaSource(start=start, end=end, **cfg)]
    raise ConfigurationError(f"unknown profile {profile!r}; choose demo, local or live")
