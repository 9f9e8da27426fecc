"""The feature store: tables that follow their schema, series writes with their watermarks."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from trading_assets.features import incremental as inc
from trading_assets.features.series import SeriesWrite, series_update
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse import feature_store as fs
from trading_assets.warehouse.catalog import table_columns
from trading_assets.warehouse.connection import connect

TABLE = "features.labels"


@pytest.fixture(scope="module")
def eth_1h(shared_data: Path) -> pl.DataFrame:
    path = shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1h.json"
    return FreqtradeJsonReader(path).read().drop("trades", "source")


def test_a_table_with_other_columns_is_recreated_and_its_watermarks_cleared(tmp_path: Path):
    family = inc.labels_family()
    with connect(tmp_path / "w.duckdb") as con:
        assert fs.ensure_feature_table(con, TABLE, family.schema, family.name) is False
        assert fs.ensure_feature_table(con, TABLE, family.schema, family.name) is False
        assert table_columns(con, TABLE) == fs.expected_columns(con, family.schema)
        assert table_columns(con, "__expected_columns", temp=True) == []  # dropped again
        con.execute(f"INSERT INTO {fs.WATERMARKS} VALUES ('labels', 'X', '1h', now(), 1, 'h', 'v')")
        wider = {**family.schema, "new_label": pl.Float64()}
        assert fs.ensure_feature_table(con, TABLE, wider, family.name) is True
        assert [c for c, _ in table_columns(con, TABLE)][-1] == "new_label"
        assert fs.read_watermarks(con, "labels", "X") == {}


def test_series_writes_replace_the_tail_and_record_the_watermark(tmp_path: Path, eth_1h):
    family = inc.labels_family()
    bars = eth_1h.head(300)
    with connect(tmp_path / "w.duckdb") as con:
        fs.ensure_feature_table(con, TABLE, family.schema, family.name)
        full, _ = series_update(family, bars.head(250), None, None, "v1", False)
        first = fs.write_series(con, TABLE, family.name, "ETH/USDT", [full], [])
        assert (first.inserted, first.updated, first.deleted, first.rows) == (250, 0, 0, 250)
        marks = fs.read_watermarks(con, family.name, "ETH/USDT")
        assert marks == {"1h": full.watermark}
        last = fs.last_rows(con, TABLE, "ETH/USDT")
        assert last["1h"]["ts"] == bars["ts"][249]

        tail, plan = series_update(family, bars, marks["1h"], last["1h"], "v1", False)
        assert plan.mode == "append" and tail.replace_from == bars["ts"][250 - family.restated]
        second = fs.write_series(con, TABLE, family.name, "ETH/USDT", [tail], [])
        assert (second.inserted, second.deleted, second.rows) == (
            50 + family.restated,
            family.restated,
            300,
        )
        stored = fs.read_symbol_rows(con, TABLE, "ETH/USDT").sort("ts")
        assert stored.equals(family.full(bars))
        again = fs.write_series(con, TABLE, family.name, "ETH/USDT", [], [])
        assert again.data_version == second.data_version and not again.changed

        gone = fs.write_series(con, TABLE, family.name, "ETH/USDT", [], ["1h"])
        assert (gone.deleted, gone.rows) == (300, 0)
        assert fs.read_watermarks(con, family.name, "ETH/USDT") == {}


def test_a_failed_series_write_changes_nothing(tmp_path: Path, eth_1h):
    family = inc.labels_family()
    with connect(tmp_path / "w.duckdb") as con:
        fs.ensure_feature_table(con, TABLE, family.schema, family.name)
        good, _ = series_update(family, eth_1h.head(50), None, None, "v1", False)
        fs.write_series(con, TABLE, family.name, "ETH/USDT", [good], [])
        bad = SeriesWrite("1h", good.rows.rename({"fwd_ret_1": "nope"}), None, good.watermark)
        with pytest.raises(duckdb.Error):
            fs.write_series(con, TABLE, family.name, "ETH/USDT", [bad], [])
        assert fs.read_symbol_rows(con, TABLE, "ETH/USDT").height == 50


def test_reading_features_of_a_missing_table_gives_no_rows(tmp_path: Path):
    with connect(tmp_path / "w.duckdb") as con:
        assert fs.read_symbol_features(con, "features.classic", "ETH/USDT", ["rsi_14"]).height == 0
