"""Atomic, idempotent writes and content data versions, on real index bars."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from trading_assets.schemas import BARS_KEY, BARS_SCHEMA
from trading_assets.sources.demo import DemoSource
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import content_version, replace_scope, upsert


@pytest.fixture(scope="module")
def spx() -> pl.DataFrame:
    (item,) = DemoSource().items(["^GSPC"])
    return item.load()


def test_upsert_is_idempotent_and_versions_follow_content(tmp_path: Path, spx):
    with connect(tmp_path / "w.duckdb") as con:
        first = upsert(con, "raw.bars", spx, BARS_KEY, scope={"symbol": "^GSPC"})
        again = upsert(con, "raw.bars", spx, BARS_KEY, scope={"symbol": "^GSPC"})
        assert (first.inserted, first.rows) == (5031, 5031)
        assert (again.inserted, again.updated, again.changed) == (0, 0, False)
        assert again.data_version == first.data_version

        # one corrected bar: one update, a new version; restoring it restores the version
        fixed = spx.tail(1).with_columns(pl.col("close") + 1.0)
        changed = upsert(con, "raw.bars", fixed, BARS_KEY, scope={"symbol": "^GSPC"})
        assert (changed.inserted, changed.updated) == (0, 1)
        assert changed.data_version != first.data_version
        restored = upsert(con, "raw.bars", spx.tail(1), BARS_KEY, scope={"symbol": "^GSPC"})
        assert restored.data_version == first.data_version

        # the version describes the scope only
        other = spx.head(10).with_columns(pl.lit("OTHER").alias("symbol"))
        upsert(con, "raw.bars", other, BARS_KEY, scope={"symbol": "OTHER"})
        assert content_version(con, "raw.bars", {"symbol": "^GSPC"})[1] == first.data_version


def test_failed_write_rolls_back_everything(tmp_path: Path, spx):
    with connect(tmp_path / "w.duckdb") as con:
        upsert(con, "raw.bars", spx.head(100), BARS_KEY, scope={"symbol": "^GSPC"})
        before = content_version(con, "raw.bars")
        # a frame whose 'close' cannot be cast to DOUBLE fails mid-write
        bad = spx.slice(100, 50).with_columns(pl.lit("n/a").alias("close"))
        with pytest.raises(duckdb.Error):
            upsert(con, "raw.bars", bad, BARS_KEY)
        assert content_version(con, "raw.bars") == before


def test_upsert_keeps_last_of_repeated_keys(tmp_path: Path, spx):
    two = pl.concat([spx.head(3), spx.head(1).with_columns(pl.col("volume") * 2)])
    with connect(tmp_path / "w.duckdb") as con:
        result = upsert(con, "raw.bars", two, BARS_KEY)
        assert result.inserted == 3
        vol = con.sql("SELECT volume FROM raw.bars ORDER BY ts LIMIT 1").fetchall()[0][0]
    assert vol == spx["volume"][0] * 2


def test_replace_scope_writes_nothing_when_unchanged(tmp_path: Path, spx):
    frame = spx.head(500)
    with connect(tmp_path / "w.duckdb") as con:
        first = replace_scope(con, "raw.bars", frame, {"symbol": "^GSPC"}, schema=BARS_SCHEMA)
        same = replace_scope(con, "raw.bars", frame, {"symbol": "^GSPC"}, schema=BARS_SCHEMA)
        shorter = replace_scope(con, "raw.bars", frame.head(400), {"symbol": "^GSPC"})
    assert first.inserted == 500 and not same.changed and same.data_version == first.data_version
    assert (shorter.deleted, shorter.inserted, shorter.rows) == (100, 0, 400)
    with (
        pytest.raises(ValueError, match="outside scope"),
        connect(tmp_path / "w.duckdb") as con,
    ):
        replace_scope(con, "raw.bars", frame, {"symbol": "AAPL"})


def test_replace_scope_rewrites_only_changed_rows_and_is_exact_for_duplicates(tmp_path: Path, spx):
    """A revised bar, a new bar and a repeated row: the stored scope equals the new frame
    (as a multiset) and its data version equals a fresh write's; other scopes are untouched."""
    frame = spx.head(300)
    revised = pl.concat(
        [
            frame.with_columns(
                pl.when(pl.int_range(pl.len()) == 150)
                .then(pl.col("close") * 1.01)
                .otherwise(pl.col("close"))
                .alias("close")
            ),
            spx.slice(300, 1),
            frame.slice(10, 1),  # a row held twice
        ]
    )
    other = spx.head(50).with_columns(pl.lit("OTHER").alias("symbol"))
    with connect(tmp_path / "w.duckdb") as con:
        replace_scope(con, "raw.bars", frame, {"symbol": "^GSPC"}, schema=BARS_SCHEMA)
        replace_scope(con, "raw.bars", other, {"symbol": "OTHER"}, schema=BARS_SCHEMA)
        before_other = content_version(con, "raw.bars", {"symbol": "OTHER"})
        result = replace_scope(con, "raw.bars", revised, {"symbol": "^GSPC"})
        stored = con.sql("SELECT * FROM raw.bars WHERE symbol = '^GSPC'").pl()
        assert content_version(con, "raw.bars", {"symbol": "OTHER"}) == before_other
    assert (result.deleted, result.inserted, result.rows) == (1, 3, 302)
    with connect(tmp_path / "fresh.duckdb") as con:
        fresh = replace_scope(con, "raw.bars", revised, {"symbol": "^GSPC"}, schema=BARS_SCHEMA)
    assert result.data_version == fresh.data_version
    key = list(revised.columns)
    assert (
        stored.select(key)
        .sort(key)
        .equals(revised.select(key).cast(stored.select(key).schema).sort(key))
    )
    with connect(tmp_path / "w.duckdb") as con:  # the same frame again: nothing to do
        again = replace_scope(con, "raw.bars", revised, {"symbol": "^GSPC"})
    assert not again.changed and again.data_version == result.data_version
