"""A sensor that turns the symbols the sources offer into partitions, and ingests new ones."""

import dagster as dg

from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.resources import PriceSourcesResource

_INGESTION_KEYS = [a.key for a in INGESTION_ASSETS]


@dg.sensor(
    name="symbol_discovery",
    description="Adds a 'symbols' partition for each symbol a price source newly offers and "
    "requests its ingestion; downstream assets follow by declarative automation.",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=_INGESTION_KEYS,
)
def symbol_discovery(
    context: dg.SensorEvaluationContext, price_sources: PriceSourcesResource
) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(SYMBOLS.name))
    new = [s for s in price_sources.symbols() if s not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"discover:{s}", partition_key=s, asset_selection=_INGESTION_KEYS)
            for s in new
        ],
        dynamic_partitions_requests=[SYMBOLS.build_add_request(new)] if new else [],
    )
