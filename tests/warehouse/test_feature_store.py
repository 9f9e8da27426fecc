"""The feature store: tables that follow their schema, series writes with their watermarks."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from trading_assets.features import incremental as inc
from trading_assets.features.series import (
    SeriesWrite,
    series_measures,
    series_update,
)
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse import feature_store as fs
from trading_assets.warehouse.catalog import table_columns
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import content_version

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


@pytest.fixture(scope="module")
def eth_1m(shared_data: Path) -> pl.DataFrame:
    path = shared_data / "crypto" / "binance_spot_2023" / "ETH_USDT-1m.json"
    return FreqtradeJsonReader(path).read().drop("trades", "source").head(900)


def _measure(con, family, bars, version="v1"):
    """fs.measure_stored as the feature assets call it, checked against measuring every row."""
    keys = bars.select("symbol", "timeframe", "ts")
    fingerprints = fs.series_fingerprints(con, TABLE, "ETH/USDT")
    measures, again = fs.measure_stored(
        con, TABLE, family, "ETH/USDT", version, fingerprints, keys, 0.05
    )
    stored = fs.read_symbol_rows(con, TABLE, "ETH/USDT")
    assert measures == series_measures(family, stored, keys, 0.05)  # same as measuring it all
    assert set(fs.read_measures(con, family.name, "ETH/USDT")) == set(fingerprints)
    return measures, again


def test_checks_measure_again_only_the_timeframes_whose_rows_or_bars_changed(
    tmp_path: Path, eth_1h, eth_1m
):
    family = inc.labels_family()  # a cool-down: the newest bars are not measured
    hours, minutes = eth_1h.head(300), eth_1m
    with connect(tmp_path / "w.duckdb") as con:
        fs.ensure_feature_table(con, TABLE, family.schema, family.name)
        writes = [
            series_update(family, s, None, None, "v1", False)[0] for s in (hours.head(250), minutes)
        ]
        first = fs.write_series(con, TABLE, family.name, "ETH/USDT", writes, [])
        assert first.data_version == content_version(con, TABLE, {"symbol": "ETH/USDT"})[1]
        assert (
            set(first.series) == {"1h", "1m"} and sum(n for n, _ in first.series.values()) == 1150
        )
        measures, again = _measure(con, family, pl.concat([hours.head(250), minutes]))
        assert again == ["1h", "1m"] and all(m.passed for m in measures.values())
        _, again = _measure(con, family, pl.concat([hours.head(250), minutes]))
        assert again == []  # nothing changed: nothing read

        # new 1h bars: the 1h series is measured again, the 1m one is not
        marks, last = (
            fs.read_watermarks(con, family.name, "ETH/USDT"),
            fs.last_rows(con, TABLE, "ETH/USDT"),
        )
        assert last["1m"]["ts"] == minutes["ts"][-1] and last["1h"]["ts"] == hours["ts"][249]
        tail, _ = series_update(family, hours, marks["1h"], last["1h"], "v1", False)
        second = fs.write_series(con, TABLE, family.name, "ETH/USDT", [tail], [])
        assert second.data_version == content_version(con, TABLE, {"symbol": "ETH/USDT"})[1]
        bars = pl.concat([hours, minutes])
        _, again = _measure(con, family, bars)
        assert again == ["1h"]

        # a row deleted behind the asset's back: its timeframe is measured again and fails
        con.execute(f"DELETE FROM {TABLE} WHERE timeframe = '1m' AND ts = ?", [minutes["ts"][9]])
        measures, again = _measure(con, family, bars)
        assert again == ["1m"] and not measures["aligned_with_bars"].passed
        assert measures["aligned_with_bars"].details["missing_rows"] == 1
        # new feature code: every timeframe again
        _, again = _measure(con, family, bars, version="v2")
        assert again == ["1h", "1m"]

        newest = fs.newest_rows(con, TABLE, "ETH/USDT", ["timeframe", "ts"], 3)
        assert newest["ts"].to_list() == sorted(newest["ts"].to_list())
        assert newest["ts"][-1] == max(hours["ts"][-1], minutes["ts"][-1])


def test_context_checks_measure_again_only_the_timeframes_that_changed(
    tmp_path: Path, eth_1h, shared_data
):
    """measure_context equals the context measures of the whole frame; a rebuild where only
    the 1m rows changed measures 1m again, not 5m."""
    from trading_assets.features import classic, joins
    from trading_assets.features import context as context_logic
    from trading_assets.warehouse.writes import replace_scope

    folder = shared_data / "crypto" / "binance_spot_2023"
    fives, ones = (
        FreqtradeJsonReader(folder / f"ETH_USDT-{tf}.json").read().drop("trades", "source")
        for tf in ("5m", "1m")
    )
    start = max(ones["ts"][0], fives["ts"][0], eth_1h["ts"][0])
    minutes = ones.filter(pl.col("ts") >= start).head(3_000)
    fives = fives.filter((pl.col("ts") >= start) & (pl.col("ts") < minutes["ts"][-1]))
    hours = eth_1h.filter((pl.col("ts") >= start) & (pl.col("ts") < minutes["ts"][-1]))

    def build(mins):
        parts = [classic.classic(b, garch=None) for b in (mins, fives, hours)]
        joined = joins.context_join(pl.concat(parts), ["1m", "5m", "1h"])
        return joined, pl.concat([mins, fives, hours]).select(joins.KEY)

    schema = context_logic.output_schema()
    with connect(tmp_path / "w.duckdb") as con:
        fs.ensure_feature_table(con, fs.CONTEXT, schema)
        for mins, expected in [
            (minutes.head(minutes.height - 30), ["1m", "5m"]), (minutes, ["1m"]), (minutes, [])
        ]:  # fmt: skip
            joined, bars = build(mins)
            assert joined.row_timeframes == ["1m", "5m"]
            replace_scope(con, fs.CONTEXT, joined.frame, {"symbol": "ETH/USDT"}, schema=schema)
            measures, again = fs.measure_context(con, "ETH/USDT", joined, bars, "v1", 0.05)
            assert again == expected
            assert measures == joins.context_measures(joined, bars, 0.05)
        _, again = fs.measure_context(con, "ETH/USDT", joined, bars, "v2", 0.05)
        assert again == ["1m", "5m"]  # new code: measured again


def test_cross_asset_checks_measure_again_only_the_timeframes_that_changed(
    tmp_path: Path, btc_eth_closes
):
    """measure_cross_asset equals the cross-asset measures of the whole stored table (every
    symbol); a new BTC 1h bar measures 1h again, not 5m; an empty table is measured whole."""
    from trading_assets.features import cross_asset as cross_logic
    from trading_assets.features import joins
    from trading_assets.warehouse.writes import replace_scope

    closes = btc_eth_closes
    refs = joins.cross_asset_references(closes)
    last_btc = closes.filter((pl.col("symbol") == "BTC/USDT") & (pl.col("timeframe") == "1h"))
    older = closes.join(last_btc.tail(1), on=joins.KEY, how="anti")
    table, schema = "features.cross_asset", cross_logic.output_schema()
    with connect(tmp_path / "w.duckdb") as con:
        fs.ensure_feature_table(con, table, schema)
        empty, again = fs.measure_cross_asset(con, table, refs, older, "v1", 0.05)
        assert again == [] and not empty["aligned_with_bars"].passed  # every bar is missing
        for frame, expected in [(older, ["1h", "5m"]), (closes, ["1h"]), (closes, [])]:
            rows = joins.cross_asset_rows(frame, refs)
            replace_scope(con, table, rows, {}, schema=schema)
            measures, again = fs.measure_cross_asset(con, table, refs, frame, "v1", 0.05)
            assert again == expected
            whole = joins.CrossAssetJoin(con.sql(f"SELECT * FROM {table}").pl(), refs)
            assert measures == joins.cross_asset_measures(whole, frame, 0.05)
            assert measures["aligned_with_bars"].passed
