"""``staging/bars`` on a real raw file with a split (QuantConnect Lean BAC daily, 2:1 on
2004-08-30): raw.bars keeps the traded prices, staging.bars holds split-adjusted ones (what
features, labels and backtests read), and the ``splits`` check lists the split applied."""

from pathlib import Path

import dagster as dg

from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.prices.ingestion import raw_bars
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.prices.staging import staging_bars
from trading_assets.defs.resources import WarehouseResource
from trading_assets.sdk import Warehouse


def test_staging_bars_are_split_adjusted_and_the_check_lists_the_split(tmp_path: Path, shared_data):
    data = tmp_path / "files"
    data.mkdir()
    real = shared_data.parent / "formats" / "raw_splits" / "lean_bac_daily.csv"
    (data / real.name).symlink_to(real)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SYMBOLS.name, ["BAC"])
    db = tmp_path / "w.duckdb"
    result = dg.materialize(
        [raw_bars, staging_bars],
        instance=instance,
        partition_key="BAC",
        resources={
            "warehouse": WarehouseResource(path=str(db)),
            "price_sources": PriceSourcesResource(profile="local", data_dir=str(data)),
        },
    )
    assert result.success
    wh = Warehouse(db)
    day = "SELECT close, volume FROM {} WHERE symbol = 'BAC' AND ts = '2004-08-27 00:00:00+00'"
    raw_close, raw_volume = wh.sql(day.format("raw.bars")).row(0)
    close, volume = wh.sql(day.format("staging.bars") + " AND timeframe = '1d'").row(0)
    assert raw_close == 89.03 and close == raw_close / 2 and volume == raw_volume * 2
    staged = wh.bars("BAC", "1d")
    assert staged.height == 5849
    assert staged["close"].log().diff().abs().max() < 0.35  # BAC's worst real day, 2009-01-20
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "splits"]
    assert check.passed
    details = check.metadata["details"].value
    assert [(s["ex_date"], s["ratio"]) for s in details["applied"]] == [("2004-08-30", "2:1")]
    mat = [m for m in result.get_asset_materialization_events() if "staging" in str(m.asset_key)]
    assert mat[0].materialization.metadata["splits"].value["applied"][0]["ratio"] == "2:1"
