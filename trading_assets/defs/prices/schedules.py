"""Scheduled ingestion: crypto around the clock, equities during New York market hours.

Each tick asks for one ingestion run per symbol of that market (partition = symbol); an
ingestion that finds nothing new keeps its data version, so nothing downstream re-runs.
The schedules run by default on the ``live`` profile only: on ``demo`` and ``local`` the data
are files that do not change by the clock (the ``inbox`` sensor covers new files).
"""

import dagster as dg

from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.markets import market_of

_INGESTION_KEYS = [a.key for a in INGESTION_ASSETS]


def ingestion_requests(symbols: list[str], asset_class: str, tick: str) -> list[dg.RunRequest]:
    """One ingestion run request per symbol of ``asset_class`` (``crypto`` or ``equity``)."""
    return [
        dg.RunRequest(
            run_key=f"{asset_class}:{tick}:{symbol}",
            partition_key=symbol,
            asset_selection=_INGESTION_KEYS,
            tags={"trading_assets/trigger": f"schedule:{asset_class}"},
        )
        for symbol in symbols
        if market_of(symbol).asset_class == asset_class
    ]


def scheduled_requests(
    instance: dg.DagsterInstance, price_sources: PriceSourcesResource, asset_class: str, tick: str
) -> list[dg.RunRequest] | dg.SkipReason:
    """A schedule tick: register new symbols as partitions, then one request per symbol of
    ``asset_class``; a skip when the sources offer none."""
    from trading_assets.defs.partitions import SYMBOLS

    symbols = price_sources.symbols()
    known = set(instance.get_dynamic_partitions(SYMBOLS.name))
    if new := [s for s in symbols if s not in known]:
        instance.add_dynamic_partitions(SYMBOLS.name, new)
    return ingestion_requests(symbols, asset_class, tick) or dg.SkipReason(
        f"no {asset_class} symbols in the price sources"
    )


def build_ingestion_schedules(profile: str) -> list[dg.ScheduleDefinition]:
    """The crypto and equity ingestion schedules (RUNNING by default on ``live`` only)."""
    status = (
        dg.DefaultScheduleStatus.RUNNING if profile == "live" else dg.DefaultScheduleStatus.STOPPED
    )

    def make(name: str, cron: str, timezone: str, asset_class: str, doc: str):
        @dg.schedule(
            name=name,
            cron_schedule=cron,
            execution_timezone=timezone,
            target=_INGESTION_KEYS,
            default_status=status,
            description=doc,
        )
        def _schedule(context: dg.ScheduleEvaluationContext, price_sources: PriceSourcesResource):
            tick = context.scheduled_execution_time.isoformat()
            return scheduled_requests(context.instance, price_sources, asset_class, tick)

        return _schedule

    return [
        make("crypto_ingestion", "*/15 * * * *", "UTC", "crypto",
             "Ingest crypto bars every 15 minutes, around the clock."),
        make("equity_ingestion", "*/15 9-16 * * 1-5", "America/New_York", "equity",
             "Ingest equity bars every 15 minutes during New York market hours, Mon-Fri."),
    ]  # fmt: skip
