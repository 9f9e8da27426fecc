"""``staging/universal_stream``: the five series of the original system as one relation.

ETH ticks, ETH 1m, ETH 1h, ETH 1d and BTC ticks, one row per tick or bar with a ``stream``
label. The symbols are resolved against what the warehouse holds (``ETH/USDT`` from Binance
files, ``ETH/USD`` from Alpaca...), so the same view works on every profile.
"""

import dagster as dg

from trading_assets.defs.keys import RAW_TICKS, STAGING_BARS, UNIVERSAL_STREAM
from trading_assets.defs.metadata import NO_SOURCE, preview
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.resources import WarehouseResource
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.warehouse.stream import DEFAULT_STREAM, StreamSeries, build_universal_stream


class UniversalStreamConfig(dg.Config):
    """Which series make up the universal stream: ``name:base:kind`` entries, where kind is
    ``ticks`` or a timeframe and base is matched against ``BASE/<quote>`` symbols."""

    series: list[str] = [f"{s.name}:{s.base}:{s.kind}" for s in DEFAULT_STREAM]


@dg.asset(
    key=UNIVERSAL_STREAM,
    description="ETH ticks, ETH 1m/1h/1d bars and BTC ticks as one view (stream, symbol, "
    "timeframe, ts, OHLCV, side).",
    deps=[STAGING_BARS, RAW_TICKS],
    group_name="prices",
    kinds={"duckdb"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": "staging.universal_stream"},
)
@metered
def universal_stream(
    context: dg.AssetExecutionContext, config: UniversalStreamConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    wanted = [StreamSeries.parse(s) for s in config.series]
    with warehouse.connect() as con:
        view = build_universal_stream(con, wanted)
    if view.missing:
        context.log.warning(f"universal stream: no data for {', '.join(view.missing)}")
    no_source = {}
    if view.rows == 0:
        why = f"none of the series ({', '.join(view.missing)}) has data on this profile"
        no_source = {NO_SOURCE: dg.MetadataValue.text(why)}
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(view.rows),
            **no_source,
            "series": preview(view.counts, n=20),
            "missing_series": dg.MetadataValue.json(view.missing),
        },
        data_version=dg.DataVersion(view.data_version),
    )
