"""The SQL model loader: file rules, dependencies by sqlglot, errors naming file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from trading_assets.sql_models import (
    SqlModelError,
    default_sql_dir,
    load_models,
    materialize_model,
    parse_model,
    resolve,
)
from trading_assets.warehouse.writes import content_version


def _write(root: Path, relative: str, sql: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)
    return path


def test_the_shipped_models_parse_with_their_dependencies():
    models = {m.table: m for m in load_models(default_sql_dir())}
    assert set(models) >= {
        "staging.daily_bars_from_intraday",
        "features.news_daily",
        "features.training_table",
        "reports.signal_performance",
    }
    assert models["staging.daily_bars_from_intraday"].upstream == ("staging.bars",)
    assert models["features.news_daily"].upstream == ("ml.sentiment", "raw.news")
    assert models["reports.signal_performance"].upstream == (
        "features.labels", "signals.backtest_metrics", "signals.signals",
    )  # fmt: skip
    assert "features.alpha158" in models["features.training_table"].upstream
    for model in models.values():
        assert model.description and len(model.code_version) == 12


def test_dependencies_skip_ctes_and_table_functions(tmp_path):
    path = _write(
        tmp_path,
        "features/example.sql",
        "-- An example.\n-- Second line.\n\n-- not part of the description\n"
        "WITH recent AS (SELECT * FROM staging.bars WHERE ts > now() - INTERVAL 1 DAY)\n"
        "SELECT r.*, n.title FROM recent AS r\n"
        "JOIN Raw.News AS n ON list_contains(n.tickers, r.symbol)\n"
        "CROSS JOIN range(3) AS t(i), read_csv('x.csv') AS f;\n",
    )
    model = parse_model(path, tmp_path)
    assert model.table == "features.example"
    assert model.upstream == ("raw.news", "staging.bars")
    assert model.description == "An example. Second line."
    assert not model.body.rstrip().endswith(";")


def test_code_version_is_the_hash_of_the_text(tmp_path):
    path = _write(tmp_path, "reports/a.sql", "SELECT 1 AS x FROM staging.bars")
    first = parse_model(path, tmp_path).code_version
    path.write_text("SELECT 2 AS x FROM staging.bars")
    assert parse_model(path, tmp_path).code_version != first


@pytest.mark.parametrize(
    ("relative", "sql", "message", "line"),
    [
        ("features/bad.sql", "SELECT 1\nFROM (staging.bars\n", r"Expecting \)", 2),
        ("features/two.sql", "SELECT 1; SELECT 2", "exactly one SELECT", None),
        ("features/ddl.sql", "DROP TABLE staging.bars", "expected a SELECT", None),
        ("features/bare.sql", "SELECT *\n\nFROM bars", "has no schema", 3),
        ("Features/x.sql", "SELECT 1", "not a lower-case SQL identifier", None),
        ("deep/er/x.sql", "SELECT 1", "<schema>/<table>.sql", None),
        ("features/self.sql", "SELECT * FROM features.self", "its own table", None),
    ],
)
def test_rule_violations_name_the_file_and_line(tmp_path, relative, sql, message, line):
    path = _write(tmp_path, relative, sql)
    with pytest.raises(SqlModelError, match=message) as info:
        parse_model(path, tmp_path)
    assert info.value.path == path and info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}:" if line else f"{path}:")


def test_resolve_orders_models_and_skips_those_without_producers(tmp_path):
    _write(tmp_path, "features/a.sql", "SELECT * FROM staging.bars")
    _write(tmp_path, "features/b.sql", "SELECT * FROM features.a")
    _write(tmp_path, "reports/c.sql", "SELECT * FROM signals.signals JOIN features.b USING (ts)")
    _write(tmp_path, "reports/d.sql", "SELECT * FROM reports.c")
    built, skipped = resolve(load_models(tmp_path), ["staging.bars"])
    assert [m.table for m in built] == ["features.a", "features.b"]
    assert skipped == {
        "reports.c": "no asset produces signals.signals",
        "reports.d": "reads skipped models reports.c",
    }
    _write(tmp_path, "reports/e.sql", "SELECT * FROM reports.f")
    _write(tmp_path, "reports/f.sql", "SELECT * FROM reports.e")
    with pytest.raises(SqlModelError, match="cycle"):
        resolve(load_models(tmp_path), ["staging.bars", "signals.signals"])


def test_materialize_is_idempotent_and_duckdb_errors_name_the_line(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA staging; CREATE TABLE staging.bars AS SELECT 1 AS x")
    path = _write(
        tmp_path / "sql", "features/ok.sql", "-- ok\nSELECT x, x * 2 AS y\nFROM staging.bars;"
    )
    model = parse_model(path, tmp_path / "sql")
    first = materialize_model(con, model)
    assert (first.rows, first.changed, first.previous_rows) == (1, True, 0)
    again = materialize_model(con, model)
    assert not again.changed and again.data_version == first.data_version
    con.execute("INSERT INTO staging.bars VALUES (2)")
    assert materialize_model(con, model).rows == 2
    broken = _write(tmp_path / "sql", "features/broken.sql", "SELECT x,\n  nope\nFROM staging.bars")
    with pytest.raises(SqlModelError, match="nope") as info:
        materialize_model(con, parse_model(broken, tmp_path / "sql"))
    assert info.value.line == 2 and str(info.value).startswith(f"{broken}:2:")
    assert info.value.__cause__ is None  # the innermost error a runner shows names the file
    # an upstream table that does not exist yet: the model is not built, and says why
    missing = _write(tmp_path / "sql", "features/missing.sql", "SELECT *\nFROM signals.signals")
    skipped = materialize_model(con, parse_model(missing, tmp_path / "sql"))
    assert skipped.missing == ("signals.signals",)
    assert (skipped.rows, skipped.changed, skipped.data_version) == (0, False, "missing")
    # nothing half-written: the failed builds left no table and no open transaction
    tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert ("broken",) not in tables and ("missing",) not in tables


def test_parse_cache_returns_the_same_models_and_survives_a_bad_file(tmp_path):
    cache = tmp_path / "cache" / "sql_models.json"
    fresh = load_models(default_sql_dir())
    first = load_models(default_sql_dir(), cache_file=cache)
    assert cache.is_file() and len(json.loads(cache.read_text())) == len(fresh)
    again = load_models(default_sql_dir(), cache_file=cache)
    assert again == first == fresh
    cache.write_text("{not json")
    assert load_models(default_sql_dir(), cache_file=cache) == fresh
    # an edited model is parsed again (its text is part of the cache key)
    sql_dir = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql_dir)
    model = sql_dir / "features" / "training_table.sql"
    model.write_text(model.read_text().replace("LEFT JOIN features.sentiment AS s USING "
                                               "(symbol, timeframe, ts)\n", ""))  # fmt: skip
    edited = {m.table: m for m in load_models(sql_dir, cache_file=cache)}
    assert "features.sentiment" not in edited["features.training_table"].upstream


def _model_over(tmp_path: Path, setup: str, relative: str, sql: str):
    """A warehouse made by ``setup`` and the model ``relative`` with ``sql`` in it."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(setup)
    root = tmp_path / "sql"
    return con, parse_model(_write(root, relative, sql), root)


def _table(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_a_unique_key_model_rewrites_only_changed_keys_to_the_full_builds_content(tmp_path):
    """Incremental and whole builds of the same query give the same rows and data version;
    the incremental one touches only the keys whose rows changed (duplicates included)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "CREATE SCHEMA staging; CREATE TABLE staging.bars AS "
        "SELECT 'ETH' AS symbol, range AS ts, range * 1.5 AS close FROM range(1000)"
    )
    query = "SELECT symbol, ts, close, close * 2 AS twice\nFROM staging.bars"
    root = tmp_path / "sql"
    header = "-- Doubled closes.\n-- unique_key: symbol, ts\n"
    keyed = parse_model(_write(root, "features/keyed.sql", header + query), root)
    whole = parse_model(_write(root, "features/whole.sql", f"-- Doubled closes.\n{query}"), root)
    assert keyed.unique_key == ("symbol", "ts") and whole.unique_key == ()
    assert keyed.description == whole.description == "Doubled closes."
    assert materialize_model(con, keyed).changed and materialize_model(con, whole).changed
    # one bar revised, one new, one gone, and a key held twice
    con.execute("UPDATE staging.bars SET close = -1 WHERE ts = 500")
    con.execute("INSERT INTO staging.bars VALUES ('ETH', 1000, 7.0), ('ETH', 3, 4.5)")
    con.execute("DELETE FROM staging.bars WHERE ts = 10")
    inc, full = materialize_model(con, keyed), materialize_model(con, whole)
    assert inc.changed and inc.data_version == full.data_version and inc.rows == 1001
    assert (inc.deleted, inc.inserted) == (3, 4)  # keys 500, 1000, 10 and 3 only
    assert (inc.write.inserted, inc.write.deleted) == (4, 3)
    assert _table(con, "features.keyed") == _table(con, "features.whole")
    assert content_version(con, "features.keyed")[1] == inc.data_version
    again = materialize_model(con, keyed)
    assert not again.changed and (again.deleted, again.inserted) == (0, 0)
    bad = _write(root, "features/bad.sql", f"-- unique_key: symbol, bar_time\n{query}")
    with pytest.raises(SqlModelError, match=r"unique_key column\(s\) \['bar_time'\]") as info:
        materialize_model(con, parse_model(bad, root))
    assert info.value.path == bad


def test_a_unique_key_model_failing_on_its_data_names_the_file_and_keeps_the_table(tmp_path):
    """The incremental build runs the query more than once: an error that shows only when
    rows are read (a bad cast) still names the file, and the stored rows stay as they were."""
    con, model = _model_over(
        tmp_path,
        "CREATE SCHEMA staging; CREATE TABLE staging.quotes AS "
        "SELECT range AS ts, CAST(range AS VARCHAR) AS size_text FROM range(100)",
        "features/sizes.sql",
        "-- unique_key: ts\nSELECT ts,\n  CAST(size_text AS INTEGER) AS size\nFROM staging.quotes",
    )
    assert materialize_model(con, model).rows == 100
    before = _table(con, "features.sizes")
    con.execute("INSERT INTO staging.quotes VALUES (100, 'n/a')")
    with pytest.raises(SqlModelError, match="n/a") as info:
        materialize_model(con, model)
    assert info.value.path == model.path
    assert _table(con, "features.sizes") == before
    con.execute("UPDATE staging.quotes SET size_text = '7' WHERE ts = 100")
    merged = materialize_model(con, model)
    assert (merged.rows, merged.deleted, merged.inserted) == (101, 0, 1)


def test_a_partitioned_model_queries_only_partitions_whose_inputs_changed(tmp_path, monkeypatch):
    """A model joining two tables per (symbol, timeframe): after upstream changes in some
    partitions, the partitioned build equals a whole build (rows and data version) and its
    query ran for the changed partitions only; nothing changed runs no query at all."""
    import trading_assets.sql_models as sql_models

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "CREATE SCHEMA features; "
        "CREATE TABLE features.a AS SELECT s.symbol, tf.timeframe, range AS ts, "
        "range * 1.5 AS x FROM range(300), (VALUES ('ETH'), ('BTC'), ('SPY')) s(symbol), "
        "(VALUES ('1h'), ('1d')) tf(timeframe); "
        "CREATE TABLE features.b AS SELECT symbol, timeframe, ts, x * 2 AS y FROM features.a "
        "WHERE ts % 3 <> 0"
    )
    query = (
        "SELECT a.symbol, a.timeframe, a.ts, a.x, b.y\n"
        "FROM features.a AS a LEFT JOIN features.b AS b USING (symbol, timeframe, ts)"
    )
    root = tmp_path / "sql"
    header = (
        "-- Joined.\n-- unique_key: symbol, timeframe, ts\n-- partition_by: symbol, timeframe\n"
    )
    parted = parse_model(_write(root, "features/parted.sql", header + query), root)
    whole = parse_model(_write(root, "features/whole.sql", f"-- Joined.\n{query}"), root)
    assert parted.partition_by == ("symbol", "timeframe") and parted.description == "Joined."
    first, full = materialize_model(con, parted), materialize_model(con, whole)
    assert first.changed and first.data_version == full.data_version and first.rows == 1800

    queried: list[list] = []
    real_execute = sql_models._execute

    def spy(con_, model, before, after, params=None):
        if model.table == "features.parted":
            queried.append(sorted(set(map(str, params or []))))
        return real_execute(con_, model, before, after, params)

    monkeypatch.setattr(sql_models, "_execute", spy)
    # ETH 1h: a new bar, a revised one; BTC 1d: a row of b gone; SPY: all of 1d gone
    con.execute("INSERT INTO features.a VALUES ('ETH', '1h', 300, 450.0)")
    con.execute("UPDATE features.a SET x = -1 WHERE symbol = 'ETH' AND timeframe = '1h' AND ts = 5")
    con.execute("DELETE FROM features.b WHERE symbol = 'BTC' AND timeframe = '1d' AND ts = 7")
    con.execute("DELETE FROM features.a WHERE symbol = 'SPY' AND timeframe = '1d'")
    inc, full = materialize_model(con, parted), materialize_model(con, whole)
    assert inc.changed and inc.data_version == full.data_version and inc.rows == full.rows == 1501
    assert _table(con, "features.parted") == _table(con, "features.whole")
    assert content_version(con, "features.parted")[1] == inc.data_version
    # ETH 1h ts 5 and BTC 1d ts 7 rewritten, ETH 1h ts 300 new, the 300 SPY 1d rows gone
    assert (inc.deleted, inc.inserted) == (302, 3)
    # every query of the build (empty result for the columns aside) was for those partitions
    assert queried[0] == [] and queried[1:]
    assert all(q == ["1d", "1h", "BTC", "ETH", "SPY"] for q in queried[1:]), queried
    queried.clear()
    again = materialize_model(con, parted)
    assert not again.changed and again.data_version == inc.data_version and len(queried) == 1

    # a new code version fingerprints everything again, with the same content
    edited = parse_model(_write(root, "features/parted.sql", header + query + "\n"), root)
    assert edited.code_version != parted.code_version
    queried.clear()
    rebuilt = materialize_model(con, edited)
    assert not rebuilt.changed and rebuilt.data_version == inc.data_version
    assert [] in queried[1:]  # a query over every partition
    # so does a new version of the merge code itself, for the same SQL
    queried.clear()
    monkeypatch.setattr(sql_models, "_module_digest", lambda: "other-merge-code")
    assert materialize_model(con, edited).data_version == inc.data_version
    assert [] in queried[1:]
    queried.clear()
    assert not materialize_model(con, edited).changed and len(queried) == 1


def test_partition_by_must_be_in_the_key_and_in_every_upstream_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "CREATE SCHEMA features; CREATE TABLE features.a AS "
        "SELECT 'ETH' AS symbol, range AS ts, 1.0 AS x FROM range(5); "
        "CREATE TABLE features.c AS SELECT range AS ts, 2.0 AS z FROM range(5)"
    )
    root = tmp_path / "sql"
    body = "SELECT a.symbol, a.ts, a.x, c.z\nFROM features.a AS a JOIN features.c AS c USING (ts)"
    outside = _write(root, "features/m1.sql", f"-- unique_key: ts\n-- partition_by: symbol\n{body}")
    with pytest.raises(SqlModelError, match=r"partition_by column\(s\) \['symbol'\] not in the"):
        materialize_model(con, parse_model(outside, root))
    lacking = _write(
        root, "features/m2.sql", f"-- unique_key: symbol, ts\n-- partition_by: symbol\n{body}"
    )
    with pytest.raises(SqlModelError, match=r"\['symbol'\] not in features.c") as info:
        materialize_model(con, parse_model(lacking, root))
    assert info.value.path == lacking


def test_partition_fingerprints_of_a_build_the_caller_did_not_record_are_not_trusted(tmp_path):
    """Another build of the table since (an older checkout, say) leaves fingerprints that no
    longer describe it: given the version it recorded, every partition is compared again."""
    con, model = _model_over(
        tmp_path,
        "CREATE SCHEMA features; CREATE TABLE features.a AS SELECT s.symbol, range AS ts, "
        "range * 1.5 AS x FROM range(100), (VALUES ('ETH'), ('BTC')) s(symbol)",
        "features/m.sql",
        "-- unique_key: symbol, ts\n-- partition_by: symbol\nSELECT symbol, ts, x FROM features.a",
    )
    built = materialize_model(con, model)
    expected = _table(con, "features.m")
    con.execute("UPDATE features.m SET x = 99 WHERE symbol = 'BTC' AND ts = 3")  # other code
    recorded = content_version(con, "features.m")[1]
    # trusting the fingerprints keeps the row other code wrote, under a version that is wrong
    trusted = materialize_model(con, model, built.data_version)
    assert not trusted.changed and trusted.data_version != recorded
    assert _table(con, "features.m") != expected
    redone = materialize_model(con, model, recorded)
    assert redone.changed and (redone.deleted, redone.inserted) == (1, 1)
    assert _table(con, "features.m") == expected and redone.data_version == built.data_version
