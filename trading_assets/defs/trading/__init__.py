"""Paper trading (key prefix ``trading/``).

=================  ===============================================  ===========================
asset              what                                             runs when
=================  ===============================================  ===========================
trading/orders     order intents from the newest signals; dry_run   new signals, only with
                   stores them, paper sends them once and polls     TRADING_EXECUTION=paper
                   status and fills
trading/positions  account positions against targets, 4 checks     after trading/orders
trading/costs      cost per trade and per filled order              after orders, cost metrics
=================  ===============================================  ===========================

Sensor: ``alert_on_failed_reconciliation`` (log, and Discord when configured).
:func:`with_order_automation` gives ``trading/orders`` its automation condition only when
execution is enabled.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from trading_assets.defs.automation import on_new_data
from trading_assets.defs.keys import ORDERS, STAGING_BARS
from trading_assets.defs.trading.assets import TRADING_ASSETS as TRADING_ASSETS
from trading_assets.defs.trading.resources import TradingResource as TradingResource
from trading_assets.defs.trading.resources import (
    trading_resource_from_env as trading_resource_from_env,
)
from trading_assets.defs.trading.sensors import TRADING_SENSORS as TRADING_SENSORS


def with_order_automation(assets: Sequence[Any], enabled: bool) -> list[Any]:
    """``assets`` with ``trading/orders`` following new signals (:func:`on_new_data`, not on
    a new bar alone) when ``enabled`` (paper execution); unchanged otherwise."""
    if not enabled:
        return list(assets)
    condition = on_new_data(ignore=[STAGING_BARS])

    def follow(spec: dg.AssetSpec) -> dg.AssetSpec:
        return (
            spec.replace_attributes(automation_condition=condition) if spec.key == ORDERS else spec
        )

    return [
        a.map_asset_specs(follow) if isinstance(a, dg.AssetsDefinition) and ORDERS in a.keys else a
        for a in assets
    ]
