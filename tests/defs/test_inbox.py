"""The inbox sensor: each dropped file is requested once, for its own symbol only."""

from pathlib import Path

import dagster as dg

from trading_assets.defs.prices.inbox import inbox_sensor
from trading_assets.defs.resources import PriceSourcesResource, WarehouseResource
from trading_assets.sdk import Warehouse


def _tick(instance, resources, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    result = inbox_sensor(context)
    return result, context.cursor if isinstance(result, dg.SkipReason) else result.cursor


def test_files_dropped_in_the_inbox_are_ingested_once(tmp_path: Path, shared_data: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    real = shared_data / "crypto" / "binance_spot_2023"
    sources = PriceSourcesResource(profile="demo", inbox_dir=str(inbox))
    resources = {"price_sources": sources}
    instance = dg.DagsterInstance.ephemeral()

    result, cursor = _tick(instance, resources, None)
    assert isinstance(result, dg.SkipReason)

    (inbox / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    result, cursor = _tick(instance, resources, cursor)
    (request,) = result.run_requests
    assert request.partition_key == "ETH/USDT"
    assert request.asset_selection == [dg.AssetKey(["raw", "bars"])]
    (partitions,) = result.dynamic_partitions_requests
    assert list(partitions.partition_keys) == ["ETH/USDT"]

    # nothing new: the same file is not requested again
    again, cursor = _tick(instance, resources, cursor)
    assert isinstance(again, dg.SkipReason)

    # a file for another symbol: only that symbol runs
    (inbox / "BTC_USDT-1h.json").symlink_to(real / "BTC_USDT-1h.json")
    result, cursor = _tick(instance, resources, cursor)
    assert [r.partition_key for r in result.run_requests] == ["BTC/USDT"]

    # the requested run ingests the inbox file on top of the demo profile's sources
    from trading_assets.defs.prices.ingestion import raw_bars

    instance.add_dynamic_partitions("symbols", ["ETH/USDT"])
    db = tmp_path / "w.duckdb"
    dg.materialize(
        [raw_bars],
        instance=instance,
        partition_key=request.partition_key,
        resources={**resources, "warehouse": WarehouseResource(path=str(db))},
    )
    rows = Warehouse(db).sql("SELECT count(*) AS n FROM raw.bars WHERE symbol = 'ETH/USDT'")
    assert rows["n"][0] == 719
