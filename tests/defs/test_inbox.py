"""The inbox sensor: each dropped file is requested once, for its own symbol only."""

from pathlib import Path

import dagster as dg

from trading_assets.defs.prices.inbox import inbox_sensor
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
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
    assert request.asset_selection == [dg.AssetKey(["raw", "source_bars"])]
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


def test_news_files_dropped_in_the_inbox_are_ingested_once(tmp_path: Path, shared_data: Path):
    import shutil

    from trading_assets.defs.news.assets import NEWS_KEY, news
    from trading_assets.defs.news.resources import NewsSourcesResource

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    resources = {"price_sources": PriceSourcesResource(profile="demo", inbox_dir=str(inbox))}
    instance = dg.DagsterInstance.ephemeral()
    _, cursor = _tick(instance, resources, None)

    yahoo = shared_data / "news" / "yahoo_per_symbol_2025-12"
    shutil.copy(yahoo / "AAPL_news_20251223.json", inbox / "AAPL_news_20251223.json")
    shutil.copy(
        shared_data / "news" / "kaggle_headlines_2017-2020" / "cnbc_headlines.csv",
        inbox / "cnbc_headlines.csv",
    )
    (inbox / "ETH_USDT-1h.json").symlink_to(
        shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1h.json"
    )
    result, cursor = _tick(instance, resources, cursor)
    by_selection = {tuple(r.asset_selection): r.partition_key for r in result.run_requests}
    assert by_selection == {(dg.AssetKey(["raw", "source_bars"]),): "ETH/USDT", (NEWS_KEY,): None}
    again, cursor = _tick(instance, resources, cursor)
    assert isinstance(again, dg.SkipReason)  # each file once; news files are not "unreadable"

    # one more news file: one more raw/news request, nothing for prices
    shutil.copy(yahoo / "MSFT_news_20251223.json", inbox / "MSFT_news_20251223.json")
    result, cursor = _tick(instance, resources, cursor)
    assert [r.asset_selection for r in result.run_requests] == [[NEWS_KEY]]

    # raw/news reads the inbox's news files (no other news source configured)
    db = tmp_path / "w.duckdb"
    run = dg.materialize(
        [news],
        instance=instance,
        resources={
            **resources,
            "warehouse": WarehouseResource(path=str(db)),
            "news_sources": NewsSourcesResource(inbox_dir=str(inbox), symbols=["AAPL", "MSFT"]),
        },
    )
    assert run.success
    from trading_assets.news.files import HEADLINES_CSV, YAHOO_JSON

    stored = Warehouse(db).sql("SELECT source, count(*) AS n FROM raw.news GROUP BY 1")
    counts = dict(zip(stored["source"], stored["n"], strict=True))
    assert counts[YAHOO_JSON] == 20  # 11 AAPL + 10 MSFT articles, one shared URL
    assert 2000 < counts[HEADLINES_CSV] <= 2800  # CNBC headlines, duplicates merged
    origins = Warehouse(db).sql("SELECT origin FROM ops.news_sources")["origin"].to_list()
    assert sorted(Path(o).name for o in origins) == [
        "AAPL_news_20251223.json",
        "MSFT_news_20251223.json",
        "cnbc_headlines.csv",
    ]


def test_the_inbox_scan_reports_each_file_version_once(tmp_path: Path, shared_data: Path):
    """The logic behind the sensor (``sources.inbox``): new files per symbol, news, cursor."""
    from trading_assets.sources.inbox import scan_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    real = shared_data / "crypto" / "binance_spot_2023"
    (inbox / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    (inbox / "notes.bin").write_bytes(b"\x00\x01")
    first = scan_inbox(inbox, None)
    assert list(first.prices) == ["ETH/USDT"] and first.news == {}
    assert first.unreadable == [str(inbox / "notes.bin")]
    assert len(first.price_stamp("ETH/USDT")) == 16

    again = scan_inbox(inbox, first.cursor)
    assert again.prices == {} and again.unreadable == [] and again.cursor == first.cursor


def test_a_new_bar_is_one_run_of_ingestion_and_its_live_lane(tmp_path: Path, shared_data: Path):
    from trading_assets.definitions import build_definitions

    repository = build_definitions().get_repository_def()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    real = shared_data / "crypto" / "binance_spot_2023"
    resources = {"price_sources": PriceSourcesResource(profile="demo", inbox_dir=str(inbox))}
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor):
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources=resources, repository_def=repository
        )
        return inbox_sensor(context)

    assert isinstance(tick(None), dg.SkipReason)  # an empty inbox
    (inbox / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    result = tick(None)
    (request,) = result.run_requests
    lane = [k.to_user_string() for k in request.asset_selection]
    assert request.partition_key == "ETH/USDT"
    assert lane[0] == "raw/source_bars"
    for asset in ("staging/bars", "features/training_table", "ml/live_predictions",
                  "signals/signals", "reports/report"):  # fmt: skip
        assert asset in lane
    # a new bar never retrains: the policy asset and what only it feeds are left out
    assert "ml/models" not in lane and "ml/predictions" not in lane
    # what runs only on request stays out: publishing (its sensor), orders in dry_run
    assert "reports/published" not in lane and "trading/orders" not in lane
    graph = repository.asset_graph
    keys = request.asset_selection
    assert all(  # dependency order: every parent in the run comes before its child
        keys.index(p) < keys.index(k) for k in keys for p in graph.get(k).parent_keys if p in keys
    )

    # two symbols at once: each run stops at its own partition's assets
    (inbox / "BTC_USDT-1h.json").symlink_to(real / "BTC_USDT-1h.json")
    (inbox / "ETH_USDT-1m.json").symlink_to(real / "ETH_USDT-1m.json")
    both = tick(result.cursor)
    assert sorted(r.partition_key for r in both.run_requests) == ["BTC/USDT", "ETH/USDT"]
    for request in both.run_requests:
        assert all(graph.get(k).partitions_def is not None for k in request.asset_selection)
        assert dg.AssetKey(["features", "context"]) in request.asset_selection
