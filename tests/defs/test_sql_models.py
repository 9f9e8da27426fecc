"""SQL models as Dagster assets: deps from sqlglot, skipping, building, errors naming lines."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.defs.features import FEATURE_ASSETS
from trading_assets.defs.prices.staging import staging_bars
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.sql_models import build_sql_model_assets, produced_tables
from trading_assets.features.labels import labels
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.sources.files.lean_csv import LeanCsvReader
from trading_assets.sql_models import SqlModelError
from trading_assets.trading.backtest_run import BacktestSettings, run_backtests
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import replace_scope

UPSTREAM = [staging_bars, *FEATURE_ASSETS]


def test_dependencies_are_the_producers_of_the_tables_read():
    assert produced_tables([staging_bars])["staging.bars"] == dg.AssetKey(["staging", "bars"])
    assets, skipped = build_sql_model_assets(UPSTREAM)
    by_key = {a.key.to_user_string(): a for a in assets}
    daily = by_key["staging/daily_bars_from_intraday"]
    assert set(daily.dependency_keys) == {dg.AssetKey(["staging", "bars"])}
    assert daily.code_versions_by_key[daily.key]
    # training_table reads features.sentiment, which only derived_assets() adds
    assert "features/training_table" not in by_key
    assert skipped["features.training_table"] == "no asset produces features.sentiment"
    assert skipped["reports.signal_performance"] == (
        "no asset produces signals.backtest_metrics, signals.signals"
    )
    assert skipped["features.news_daily"] == "no asset produces ml.sentiment, raw.news"


def test_definitions_include_the_models_whose_upstream_exists(home, monkeypatch):
    from trading_assets.definitions import build_definitions
    from trading_assets.defs.sql_models import SKIPPED

    graph = build_definitions().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {"features/sentiment", "features/training_table", "staging/daily_bars_from_intraday"}
    assert expected <= keys
    assert "reports/signal_performance" not in keys or "reports.signal_performance" not in SKIPPED


@pytest.fixture
def warehouse(tmp_path: Path, shared_data: Path) -> Path:
    """staging.bars with real ETH/USDT minutes (2 days) and SPY minutes (Lean, 2 sessions)."""
    db = tmp_path / "w.duckdb"
    eth = FreqtradeJsonReader(shared_data / "crypto/binance_spot_2023/ETH_USDT-1m.json").read()
    eth = eth.filter(pl.col("ts").dt.date().cast(pl.String).is_in(["2023-04-02", "2023-04-03"]))
    lean = shared_data / "equities/minute/lean_spy_2013-10"
    spy = pl.concat(
        LeanCsvReader(lean / f"2013100{d}_spy_minute_trade.csv", symbol="SPY").read()
        for d in (7, 8)
    )
    with connect(db) as con:
        for symbol, frame in (("ETH/USDT", eth), ("SPY", spy)):
            frame = frame.with_columns(pl.lit(1, dtype=pl.Int64).alias("n_parts"))
            replace_scope(
                con,
                "staging.bars",
                frame.select(list(schemas.STAGING_BARS_SCHEMA)),
                {"symbol": symbol},
                schema=schemas.STAGING_BARS_SCHEMA,
            )
    return db


def test_daily_bars_from_intraday_on_real_minutes(warehouse):
    assets, _ = build_sql_model_assets(UPSTREAM)
    model = next(a for a in assets if a.key.path[-1] == "daily_bars_from_intraday")
    result = dg.materialize(
        [model], resources={"warehouse": WarehouseResource(path=str(warehouse))}
    )
    assert result.success
    with connect(warehouse, read_only=True) as con:
        days = con.sql("SELECT * FROM staging.daily_bars_from_intraday ORDER BY symbol, ts").pl()
        minutes = con.sql("SELECT * FROM staging.bars WHERE symbol = 'ETH/USDT' ORDER BY ts").pl()
    eth = days.filter(pl.col("symbol") == "ETH/USDT")
    assert eth["n_bars"].to_list() == [1440, 1440] and eth["complete"].all()
    first_day = minutes.filter(pl.col("ts").dt.day() == 2)
    assert eth["close"][0] == first_day["close"][-1] and eth["open"][0] == first_day["open"][0]
    assert eth["volume"][0] == pytest.approx(first_day["volume"].sum())
    spy = days.filter(pl.col("symbol") == "SPY")
    # regular session only: 09:30-16:00 New York = 390 minutes, although the files hold pre-
    # and post-market minutes too
    assert spy["n_bars"].to_list() == [390, 390]
    assert [str(d.date()) for d in spy["ts"]] == ["2013-10-07", "2013-10-08"]


def test_a_model_on_signals_appears_when_its_producers_exist(warehouse):
    """signal_performance reads signals.signals and the engine's signals.backtest_metrics:
    built once assets produce both, and its P&L is the engine's, not a second one."""

    @dg.asset(key=["signals", "signals"], metadata={"table": "signals.signals"})
    def fake_signals(warehouse: WarehouseResource) -> None:
        with connect(warehouse.path) as con:
            bars = con.sql("SELECT * FROM staging.bars WHERE symbol = 'ETH/USDT'").pl()
            lab = labels(bars)
            replace_scope(con, "features.labels", lab, {}, schema=dict(lab.schema))
            side = pl.when(pl.int_range(pl.len()) % 2 == 0).then(1).otherwise(-1)
            signals = lab.select(
                "symbol",
                "timeframe",
                "ts",
                side.alias("direction"),
                pl.lit(0.5).alias("strength"),
                (0.5 * side).alias("position"),
            )
            replace_scope(con, "signals.signals", signals, {}, schema=dict(signals.schema))

    @dg.asset(
        key=["signals", "backtest"], deps=[fake_signals],
        metadata={"table": "signals.backtest_metrics"},
    )  # fmt: skip
    def fake_backtest(warehouse: WarehouseResource) -> None:
        with connect(warehouse.path) as con:
            bars = con.sql("SELECT * FROM staging.bars WHERE symbol = 'ETH/USDT'").pl()
            signals = con.sql("SELECT * FROM signals.signals").pl()
            pairs = bars.select("symbol", "timeframe").unique()
            none = pl.DataFrame(schema=schemas.PREDICTIONS_SCHEMA)
            run = run_backtests(pairs, bars, none, signals, BacktestSettings())
            replace_scope(
                con, "signals.backtest_metrics", run.metrics, {},
                schema=schemas.BACKTEST_METRICS_SCHEMA,
            )  # fmt: skip

    _, skipped = build_sql_model_assets([*UPSTREAM, fake_signals])
    assert skipped["reports.signal_performance"] == "no asset produces signals.backtest_metrics"
    upstream = [*UPSTREAM, fake_signals, fake_backtest]
    assets, skipped = build_sql_model_assets(upstream)
    model = next(a for a in assets if a.key.path[-1] == "signal_performance")
    assert "reports.signal_performance" not in skipped
    assert {dg.AssetKey(["signals", "signals"]), dg.AssetKey(["signals", "backtest"])} <= set(
        model.dependency_keys
    )
    resources = {"warehouse": WarehouseResource(path=str(warehouse))}
    assert dg.materialize([fake_signals, fake_backtest, model], resources=resources).success
    with connect(warehouse, read_only=True) as con:
        perf = con.sql("SELECT * FROM reports.signal_performance").pl()
        engine = con.sql("SELECT * FROM signals.backtest_metrics WHERE strategy = 'consensus'").pl()
    assert perf["signals"].to_list() == [2880] and perf["active_signals"].to_list() == [2880]
    assert perf["mean_abs_position"][0] == pytest.approx(0.5)
    assert perf["signal_turnover"][0] == pytest.approx(1.0, abs=1e-3)  # +0.5 <-> -0.5
    # one P&L: the engine's (next-open fills, fees and slippage on every flip)
    for column in ("total_return", "sharpe", "hit_rate", "turnover", "exposure"):
        assert perf[column][0] == engine[column][0], column
    assert perf["total_return"][0] < -0.3  # 2,879 flips at 7 bps each
    assert perf["fees_bps"][0] == 5.0 and perf["slippage_bps"][0] == 2.0


def test_a_broken_model_fails_naming_the_file_and_line(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    (sql_dir / "reports").mkdir(parents=True)
    (sql_dir / "reports" / "oops.sql").write_text(
        "SELECT symbol,\n  no_such_column\nFROM staging.bars"
    )
    assets, _ = build_sql_model_assets([staging_bars], sql_dir)
    result = dg.materialize(
        assets,
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert f"{sql_dir / 'reports' / 'oops.sql'}:2:" in message and "no_such_column" in message
    (sql_dir / "reports" / "bad.sql").write_text("SELECT 1 FROM staging.bars WHERE")
    with pytest.raises(SqlModelError, match="bad.sql"):
        build_sql_model_assets([staging_bars], sql_dir)


def test_a_partitioned_model_asset_trusts_the_fingerprints_of_its_recorded_build(
    tmp_path, warehouse, monkeypatch
):
    """Materialized through Dagster, a ``partition_by`` model compares only the partitions
    whose bars changed: its recorded data version vouches for the stored fingerprints."""
    import trading_assets.sql_models as sql_models

    sql_dir = tmp_path / "sql"
    (sql_dir / "staging").mkdir(parents=True)
    (sql_dir / "staging" / "ranges.sql").write_text(
        "-- unique_key: symbol, timeframe, ts\n-- partition_by: symbol, timeframe\n"
        "SELECT symbol, timeframe, ts, high - low AS range FROM staging.bars"
    )
    assets, _ = build_sql_model_assets([staging_bars], sql_dir)
    resources = {"warehouse": WarehouseResource(path=str(warehouse))}
    compared: list[list] = []
    real = sql_models._merge_changed_keys

    def spy(con, model, within=("true", [])):
        compared.append(sorted(set(within[1])))
        return real(con, model, within)

    monkeypatch.setattr(sql_models, "_merge_changed_keys", spy)
    with dg.instance_for_test() as instance:
        for _ in range(2):
            assert dg.materialize(assets, resources=resources, instance=instance).success
        assert compared == []  # built whole, then nothing changed: no query of any partition
        with connect(warehouse) as con:
            con.execute("UPDATE staging.bars SET high = high + 1 WHERE symbol = 'ETH/USDT'")
        assert dg.materialize(assets, resources=resources, instance=instance).success
    assert compared == [["1m", "ETH/USDT"]]
    with connect(warehouse, read_only=True) as con:
        wrong = con.sql(
            "SELECT count(*) FROM staging.ranges r JOIN staging.bars b "
            "USING (symbol, timeframe, ts) WHERE r.range IS DISTINCT FROM b.high - b.low"
        ).fetchall()
    assert wrong == [(0,)]
