"""trading-assets: an asset-based data platform for systematic trading.

``from trading_assets import Warehouse`` gives the Python SDK (see :mod:`trading_assets.sdk`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading_assets.sdk import Warehouse

__all__ = ["Warehouse"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package (as Dagster does in every step) stays cheap.
    if name == "Warehouse":
        from trading_assets.sdk import Warehouse

        return Warehouse
    raise AttributeError(name)
