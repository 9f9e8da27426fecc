"""A sensor that turns the symbols the sources offer into partitions, and ingests new ones."""

import dagster as dg

from trading_assets.defs.keys import RAW_KEYS
from trading_assets.defs.no_source import no_source_why, record
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import INGESTION_ASSETS
from trading_assets.defs.prices.resources import PriceSourcesResource

_INGESTION_KEYS = [a.key for a in INGESTION_ASSETS]


@dg.sensor(
    name="symbol_discovery",
    description="Adds a 'symbols' partition for each symbol a price source newly offers and "
    "requests the ingestion of the kinds offered for it (the others are recorded as having "
    "no source); downstream assets follow by declarative automation.",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=_INGESTION_KEYS,
)
def symbol_discovery(
    context: dg.SensorEvaluationContext, price_sources: PriceSourcesResource
) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(SYMBOLS.name))
    new = [s for s in price_sources.symbols() if s not in known]
    offered = {(i.kind, i.symbol) for i in price_sources.items(new)} if new else set()
    requests, absent = [], {}
    for symbol in new:
        kinds = [kind for kind in RAW_KEYS if (kind, symbol) in offered]
        absent.update(
            {(RAW_KEYS[k], symbol): no_source_why(k, symbol, price_sources.profile)
             for k in RAW_KEYS if k not in kinds}
        )  # fmt: skip
        if kinds:
            selection = [RAW_KEYS[k] for k in kinds]
            requests.append(
                dg.RunRequest(run_key=f"discover:{symbol}", partition_key=symbol,
                              asset_selection=selection)
            )  # fmt: skip
    record(context.instance, absent)  # new partitions: nothing was stored for them
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[SYMBOLS.build_add_request(new)] if new else [],
    )
