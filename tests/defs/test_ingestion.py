"""Ingestion assets: bad files are recorded and skipped, good ones land, nothing is lost."""

import json
from pathlib import Path

import dagster as dg
import pytest

from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import raw_bars
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.sdk import Warehouse


def _ingest(data_dir: Path, db: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    resources = {
        "warehouse": WarehouseResource(path=str(db)),
        "price_sources": PriceSourcesResource(profile="local", data_dir=str(data_dir)),
    }
    return dg.materialize(
        [raw_bars], instance=instance, partition_key="ETH/USDT", resources=resources
    )


@pytest.fixture
def setup(tmp_path: Path, shared_data: Path):
    data = tmp_path / "inbox"
    data.mkdir()
    real = shared_data / "crypto" / "binance_spot_2023"
    (data / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SYMBOLS.name, ["ETH/USDT"])
    return data, real, tmp_path / "w.duckdb", instance


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_bad_file_is_recorded_while_good_file_lands(setup):
    data, real, db, instance = setup
    text = (real / "ETH_USDT-5m.json").read_bytes()
    (data / "ETH_USDT-5m.json").write_bytes(text[:5000])  # truncated mid-array

    result = _ingest(data, db, instance)
    assert result.success
    counts = dict(
        Warehouse(db).sql("SELECT timeframe, count(*) FROM raw.bars GROUP BY ALL").iter_rows()
    )
    assert counts == {"1h": 719}
    check = _check(result)
    assert not check.passed
    (failure,) = check.metadata["failures"].value
    assert failure["origin"].endswith("ETH_USDT-5m.json")
    assert "row" in failure["reason"] or failure["row"] is not None
    mat = result.get_asset_materialization_events()[0].materialization
    assert mat.metadata["items_failed"].value == 1


def test_file_turning_bad_loses_nothing_stored_and_fix_is_picked_up(setup):
    data, real, db, instance = setup
    first = _ingest(data, db, instance)
    version = first.get_asset_materialization_events()[0].materialization.tags[
        "dagster/data_version"
    ]

    # the same file is replaced by garbage: an error is recorded, the 719 rows stay
    (data / "ETH_USDT-1h.json").unlink()
    (data / "ETH_USDT-1h.json").write_bytes(
        b"[[1680364800000,1795.9,1801.0,1790.1,1800.2,10.0],"
        b"[1680368400000,1800.2,-,1790.1,1800.2,10.0]]"
    )
    broken = _ingest(data, db, instance)
    assert not _check(broken).passed
    (failure,) = _check(broken).metadata["failures"].value
    assert failure["row"] == 2 and failure["origin"].endswith("ETH_USDT-1h.json")
    broken_mat = broken.get_asset_materialization_events()[0].materialization
    assert broken_mat.tags["dagster/data_version"] == version
    assert Warehouse(db).sql("SELECT count(*) AS n FROM raw.bars")["n"][0] == 719

    # fixed again: the file is re-read (its fingerprint changed), nothing new is stored
    (data / "ETH_USDT-1h.json").unlink()
    (data / "ETH_USDT-1h.json").symlink_to(real / "ETH_USDT-1h.json")
    fixed = _ingest(data, db, instance)
    assert _check(fixed).passed
    mat = fixed.get_asset_materialization_events()[0].materialization
    assert mat.metadata["rows_inserted"].value == 0
    assert mat.tags["dagster/data_version"] == version


def test_file_named_like_bars_but_unreadable_is_a_failure_not_a_skip(setup):
    data, _, db, instance = setup
    (data / "ETH_USDT-5m.json").write_bytes(b"<html><body>rate limited</body></html>")
    result = _ingest(data, db, instance)
    check = _check(result)
    assert not check.passed
    (failure,) = check.metadata["failures"].value
    assert failure["origin"].endswith("ETH_USDT-5m.json") and failure["row"] == 1
    assert "named like ETH/USDT 5m bars" in failure["reason"]
    assert Warehouse(db).sql("SELECT count(*) AS n FROM raw.bars")["n"][0] == 719


def test_loading_items_skips_the_unchanged_and_records_the_bad(setup):
    """The logic behind the asset (``sources.ingest``) and its write (``warehouse.prices``)."""
    from datetime import UTC, datetime

    from trading_assets.sources.ingest import load_new_items
    from trading_assets.warehouse.connection import connect
    from trading_assets.warehouse.prices import known_fingerprints, write_ingest

    data, _, db, _ = setup
    (data / "ETH_USDT-5m.json").write_bytes(b"[[1, 2")
    items = PriceSourcesResource(profile="local", data_dir=str(data)).items(["ETH/USDT"])
    now = datetime(2024, 1, 2, tzinfo=UTC)
    batch = load_new_items(items, "bars", {}, now=now)
    assert (batch.items_total, batch.items_loaded, batch.items_unchanged) == (2, 1, 0)
    assert not batch.all_loaded and batch.rows.height == 719
    (failure,) = batch.failures
    assert failure["origin"].endswith("ETH_USDT-5m.json") and failure["row"] == 1
    assert batch.items.sort("status")["status"].to_list() == ["landed", "rejected"]
    assert batch.items["ingested_at"].to_list() == [now, now]
    assert load_new_items(items, "ticks", {}).items_total == 0

    with connect(db) as con:
        written = write_ingest(con, "bars", "ETH/USDT", batch.rows, batch.items)
        assert (written.result.inserted, written.result.rows) == (719, 719)
        assert written.latest.height == 5 and written.latest["ts"].is_sorted(descending=True)
        assert written.spans.rows() == [("1h", 719, batch.rows["ts"].min(), batch.rows["ts"].max())]
        known = known_fingerprints(con, "bars", "ETH/USDT")
    assert list(known) == [i.origin for i in items if i.origin.endswith("1h.json")]
    again = load_new_items(items, "bars", known)
    assert (again.items_unchanged, again.items_loaded, len(again.failures)) == (1, 0, 1)


def test_a_file_delivered_again_can_stop_what_lies_below_in_the_same_run(setup):
    """With ``stop_when_unchanged`` (a refresh's one-run new bar), an ingestion that changes
    no stored row reports its check and no materialization: the staging step below it in the
    same run is skipped. A new bar still materializes and runs what lies below."""
    from trading_assets.defs.prices.staging import staging_bars

    data, real, db, instance = setup
    resources = {
        "warehouse": WarehouseResource(path=str(db)),
        "price_sources": PriceSourcesResource(profile="local", data_dir=str(data)),
    }
    stop = {"ops": {"raw__source_bars": {"config": {"stop_when_unchanged": True}}}}

    def run(**kwargs):
        return dg.materialize(
            [raw_bars, staging_bars], instance=instance, partition_key="ETH/USDT",
            resources=resources, **kwargs,
        )  # fmt: skip

    first = run(run_config=stop)
    assert {e.asset_key.to_user_string() for e in first.get_asset_materialization_events()} == {
        "raw/source_bars", "staging/bars"
    }  # fmt: skip
    candles = json.loads((real / "ETH_USDT-1h.json").read_text())
    (data / "again").mkdir()  # as replay delivers: a folder per delivery, the file's own name
    (data / "again" / "ETH_USDT-1h.json").write_text(json.dumps(candles[-2:]))  # bars it holds
    again = run(run_config=stop)
    assert again.success and again.get_asset_materialization_events() == []
    check = _check(again)  # the new file was read, landed whole, and added nothing
    assert check.passed and check.metadata["items_loaded"].value == 1
    skipped = {e.step_key for e in again.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert skipped == {"staging__bars"}
    # without the flag (the UI, a full run) an unchanged ingestion still materializes
    (data / "third").mkdir()
    (data / "third" / "ETH_USDT-1h.json").write_text(json.dumps(candles[-3:]))
    plain = run()
    assert len(plain.get_asset_materialization_events()) == 2
