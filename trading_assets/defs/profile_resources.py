"""The resources of each profile, chosen in one place (``demo``, ``local`` or ``live``).

Every value comes from :mod:`trading_assets.settings` and the project home; secrets are
``EnvVar`` (:func:`trading_assets.defs.env.optional_env_var`), resolved at run time.
"""

from typing import Any

import dagster as dg

from trading_assets import settings
from trading_assets.defs.env import optional_env_var
from trading_assets.defs.news.resources import news_resources_from_env
from trading_assets.defs.ops.assets import CostSettingsResource
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.reports import report_resources_from_env
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.trading.resources import trading_resource_from_env
from trading_assets.home import ProjectHome


def price_sources_for(profile: str, home: ProjectHome) -> PriceSourcesResource:
    """The price sources of ``profile`` plus the home's inbox, secrets as ``EnvVar``."""
    return PriceSourcesResource(
        profile=profile,
        inbox_dir=str(home.inbox_dir),
        data_dir=dg.EnvVar(settings.DATA_DIR.name) if profile == "local" else None,
        mapping_file=optional_env_var(settings.SYMBOL_MAP),
        alpaca_api_key=optional_env_var(settings.ALPACA_API_KEY),
        alpaca_secret_key=optional_env_var(settings.ALPACA_SECRET_KEY),
        alpaca_data_url=optional_env_var(settings.ALPACA_DATA_URL),
    )


def resources_for(profile: str, home: ProjectHome) -> dict[str, Any]:
    """Every resource of the code location for ``profile`` and ``home``: ``warehouse``,
    ``price_sources``, ``news_sources``, ``sentiment_settings``, ``mlflow``,
    ``report_settings``, ``wordpress``, ``discord``, ``cost_settings`` and ``trading``.

    Raises:
        ConfigurationError: an invalid setting (see :mod:`trading_assets.settings`).
    """
    return {
        "warehouse": WarehouseResource(path=str(home.warehouse_path)),
        "price_sources": price_sources_for(profile, home),
        **news_resources_from_env(profile, home),
        **report_resources_from_env(home),
        "cost_settings": CostSettingsResource(metrics_dir=str(home.metrics_dir)),
        "trading": trading_resource_from_env(),
    }
