"""The Dagster code location: every asset, check, sensor and resource of trading-assets.

``dagster dev -m trading_assets.definitions`` (or ``trading-assets ui``) loads it. The
definitions are built lazily, when Dagster asks for them, from the environment:
``TRADING_ASSETS_HOME`` (project home), ``TRADING_PROFILE`` (demo | local | live),
``TRADING_DATA_DIR`` (local files), ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY`` (live stocks).
"""

from __future__ import annotations

import warnings

import dagster as dg

from trading_assets import dagster_sqlite
from trading_assets.code_graph import CodeGraph
from trading_assets.defs.automation import data_aware_automation
from trading_assets.defs.code_version import with_code_versions
from trading_assets.defs.features import FEATURE_ASSETS, derived_assets
from trading_assets.defs.ml import ML_ASSETS
from trading_assets.defs.ml.live import live_predictions
from trading_assets.defs.ml.retrain import with_retrain_policy
from trading_assets.defs.news.assets import NEWS_ASSETS
from trading_assets.defs.news.sensors import news_poll
from trading_assets.defs.ops.assets import COST_ASSETS
from trading_assets.defs.prices.discovery import symbol_discovery
from trading_assets.defs.prices.files import source_files
from trading_assets.defs.prices.inbox import inbox_sensor_every
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.schedules import build_ingestion_schedules
from trading_assets.defs.prices.staging import staging_bars
from trading_assets.defs.prices.stream import universal_stream
from trading_assets.defs.profile_resources import resources_for
from trading_assets.defs.reports import (
    REPORT_SENSORS,
    publish_job,
    published,
    report_asset_for,
)
from trading_assets.defs.signals import TRADING_ASSETS
from trading_assets.defs.trading import TRADING_ASSETS as PAPER_TRADING_ASSETS
from trading_assets.defs.trading import TRADING_SENSORS, with_order_automation
from trading_assets.home import ProjectHome
from trading_assets.profiles import active_profile
from trading_assets.settings import sensor_interval_s

ASSETS = [
    *INGESTION_ASSETS,
    source_files,
    staging_bars,
    universal_stream,
    *NEWS_ASSETS,
    *FEATURE_ASSETS,
    *ML_ASSETS,
    live_predictions,
    *TRADING_ASSETS,
]


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Declarative automation, on by default, evaluated in the code location: the retraining
    policy (``RetrainDue``) is Python."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # use_user_code_server is beta in 1.13
        return dg.AutomationConditionSensorDefinition(
            "automation",
            target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=sensor_interval_s(),
            use_user_code_server=True,
        )


def project_assets() -> list[dg.AssetsDefinition]:
    """Every asset of the code location as declared (before code versions are computed)."""
    derived = derived_assets(ASSETS)  # features/sentiment, SQL models
    upstream = [*ASSETS, *derived, *COST_ASSETS, *PAPER_TRADING_ASSETS]
    return [*upstream, report_asset_for(upstream), published]


def build_definitions(code_graph: CodeGraph | None = None) -> dg.Definitions:
    """Assemble the definitions for the current environment (see the module docstring).

    Args:
        code_graph: where code versions are computed from (default: this installation's
            source; tests pass an edited copy).
    """
    home = ProjectHome.from_env().ensure()
    # a run Dagster launches loads these definitions: its events commit as the CLI's do
    dagster_sqlite.install(home.dagster_home)
    profile = active_profile()
    resources = resources_for(profile, home)
    return dg.Definitions(
        # code versions hash the code each asset reaches (every body is metered by its own
        # @metered decorator: wall/CPU seconds, peak RSS, rows in its metadata); eager()
        # reacts to new data versions only (a 304 poll triggers nothing)
        # ml/models retrains on its own policy, not on every new bar
        # trading/orders follows new signals only when execution is enabled (paper)
        assets=with_order_automation(
            with_retrain_policy(
                data_aware_automation(with_code_versions(project_assets(), code_graph))
            ),
            resources["trading"].enabled,
        ),
        jobs=[publish_job],
        schedules=build_ingestion_schedules(profile),
        sensors=[
            symbol_discovery,
            inbox_sensor_every(sensor_interval_s()),
            news_poll,
            *REPORT_SENSORS,
            *TRADING_SENSORS,
            automation_sensor(),
        ],
        resources=resources,
        executor=executor(),
    )


def executor() -> dg.ExecutorDefinition:
    """The executor of runs launched by Dagster (UI, sensors, schedules): in-process by
    default; with ``TRADING_EXECUTOR=multiprocess`` each step in its own process,
    ``TRADING_WORKERS`` at a time (DuckDB writes queue on the warehouse's writer lock);
    ``k8s`` / ``celery``: Dagster's Kubernetes job or Celery executor, configured per run.

    Raises:
        ConfigurationError: ``k8s`` or ``celery`` without its package installed.
    """
    import importlib

    from trading_assets import scale
    from trading_assets.errors import ConfigurationError

    chosen = scale.executor()
    if chosen == scale.MULTIPROCESS:
        return dg.multiprocess_executor.configured({"max_concurrent": scale.workers()})
    if chosen in scale.EXTERNAL_EXECUTORS:
        package, name = scale.EXTERNAL_EXECUTORS[chosen]
        try:
            return getattr(importlib.import_module(package), name)
        except ImportError as exc:
            raise ConfigurationError(
                f"TRADING_EXECUTOR={chosen} needs {package.replace('_', '-')}: "
                f"uv add '{package.replace('_', '-')}>=0.29.27,<0.30' (the Dagster 1.13 line; "
                "see the README, Scaling out)"
            ) from exc
    return dg.in_process_executor


@dg.definitions
def defs() -> dg.Definitions:
    """Entry point Dagster calls to load the code location."""
    return build_definitions()
