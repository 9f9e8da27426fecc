"""The warehouse catalog: a table's columns, whichever way DuckDB is asked."""

from __future__ import annotations

import duckdb
import pytest

from trading_assets.warehouse.catalog import column_names, table_columns, table_exists

_CATALOG = (
    "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = {db} "
    "AND schema_name = ? AND table_name = ? ORDER BY column_index"
)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA features")
    con.execute(
        'CREATE TABLE features."odd ""name""" (symbol VARCHAR, ts TIMESTAMPTZ, '
        "px DECIMAL(18,3), tags VARCHAR[], s STRUCT(x INTEGER, y DOUBLE), m MAP(VARCHAR, INTEGER))"
    )
    con.execute('CREATE TABLE features.base (a INTEGER, "b c" DOUBLE)')
    con.execute('CREATE VIEW features.v AS SELECT a, "b c" * 2 AS d FROM features.base')
    con.execute("CREATE TEMP TABLE scratch (k VARCHAR, v BIGINT)")
    return con


def test_columns_and_types_match_the_catalog(con: duckdb.DuckDBPyConnection) -> None:
    for table in ['features.odd "name"', "features.base", "features.v"]:
        schema, name = table.split(".", 1)
        expected = con.execute(_CATALOG.format(db="current_database()"), [schema, name]).fetchall()
        assert expected and table_columns(con, table) == expected
    assert table_columns(con, 'features.odd "name"')[2:] == [
        ("px", "DECIMAL(18,3)"),
        ("tags", "VARCHAR[]"),
        ("s", "STRUCT(x INTEGER, y DOUBLE)"),
        ("m", "MAP(VARCHAR, INTEGER)"),
    ]
    assert table_columns(con, "scratch", temp=True) == [("k", "VARCHAR"), ("v", "BIGINT")]
    # a temporary table is not part of the warehouse, even under the name "main.scratch"
    assert table_columns(con, "scratch") == []
    assert table_columns(con, "main.scratch") == []


def test_missing_tables_have_no_columns(con: duckdb.DuckDBPyConnection) -> None:
    assert table_columns(con, "features.nope") == []
    assert table_columns(con, "nowhere.nope") == []
    assert table_columns(con, "nope", temp=True) == []
    assert column_names(con, "features.nope") == []
    assert not table_exists(con, "features.nope")
    assert not table_exists(con, "nowhere.nope")
    assert not table_exists(con, "main.scratch")  # temporary: not the warehouse's
    assert table_exists(con, 'features.odd "name"') and table_exists(con, "features.v")


def test_a_view_that_no_longer_binds_keeps_its_stored_columns(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("DROP TABLE features.base")
    # the catalog still lists the view's columns; binding it would fail
    with pytest.raises(duckdb.Error):
        con.sql("SELECT * FROM features.v")
    assert column_names(con, "features.v") == ["a", "d"]
    assert table_exists(con, "features.v")


def test_ensure_table_creates_a_missing_table_and_adds_newer_columns() -> None:
    import polars as pl

    from trading_assets.warehouse.ddl import ensure_table

    con = duckdb.connect()
    schema = {"symbol": pl.String(), "ts": pl.Datetime("us", "UTC"), "close": pl.Float64()}
    ensure_table(con, "staging.demo", schema)  # schema and table created
    assert table_columns(con, "staging.demo") == [
        ("symbol", "VARCHAR"), ("ts", "TIMESTAMP WITH TIME ZONE"), ("close", "DOUBLE")
    ]  # fmt: skip
    con.execute("INSERT INTO staging.demo VALUES ('ETH/USDT', '2023-05-01 00:00:00+00', 1.5)")
    ensure_table(con, "staging.demo", {**schema, "volume": pl.Float64()})  # a newer release
    assert column_names(con, "staging.demo") == ["symbol", "ts", "close", "volume"]
    assert con.execute("SELECT close, volume FROM staging.demo").fetchall() == [(1.5, None)]
    ensure_table(con, "staging.demo", schema)  # an existing table is left as it is
    assert column_names(con, "staging.demo") == ["symbol", "ts", "close", "volume"]
