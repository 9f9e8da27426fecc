"""Feature assets through Dagster on real bars: full run, exact incremental append, no-op."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.defs.features import FEATURE_ASSETS
from trading_assets.defs.features.joins import build_sentiment_asset, cross_asset
from trading_assets.defs.features.series import alpha158, classic, labels, regime
from trading_assets.defs.partitions import SYMBOLS
from trading_assets.defs.resources import WarehouseResource
from trading_assets.features import incremental
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import replace_scope

SYMBOL_ASSETS = [alpha158, classic, regime, labels]
SENTIMENT = build_sentiment_asset()
CONTEXT = next(a for a in FEATURE_ASSETS if a.key.path[-1] == "context")


def _staging(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(1, dtype=pl.Int64).alias("n_parts")).select(
        list(schemas.STAGING_BARS_SCHEMA)
    )


@pytest.fixture(scope="module")
def real_bars(shared_data: Path) -> dict[str, pl.DataFrame]:
    folder = shared_data / "crypto" / "binance_spot_2023"
    out = {}
    for symbol, name in (("ETH/USDT", "ETH_USDT"), ("BTC/USDT", "BTC_USDT")):
        minutes = FreqtradeJsonReader(folder / f"{name}-1m.json").read()
        hours = FreqtradeJsonReader(folder / f"{name}-1h.json").read()
        start = hours["ts"][0]
        minutes = minutes.filter(pl.col("ts") >= start).head(3_800)
        out[symbol] = _staging(pl.concat([minutes, hours.filter(pl.col("ts") < minutes["ts"][-1])]))
    return out


def _write_bars(db: Path, symbol: str, bars: pl.DataFrame) -> None:
    with connect(db) as con:
        replace_scope(
            con, "staging.bars", bars, {"symbol": symbol}, schema=schemas.STAGING_BARS_SCHEMA
        )


def _run(db: Path, instance, symbols) -> dict[str, dg.ExecuteInProcessResult]:
    resources = {"warehouse": WarehouseResource(path=str(db))}
    results = {
        s: dg.materialize(
            [*SYMBOL_ASSETS, CONTEXT], instance=instance, partition_key=s, resources=resources
        )
        for s in symbols
    }
    results["*"] = dg.materialize([cross_asset, SENTIMENT], instance=instance, resources=resources)
    return results


def _meta(result: dg.ExecuteInProcessResult, name: str) -> dict:
    mats = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.path[-1] == name
    ]
    return {k: getattr(v, "value", v) for k, v in mats[0].metadata.items()}


def test_full_then_incremental_then_nothing(tmp_path, real_bars):
    db = tmp_path / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SYMBOLS.name, list(real_bars))
    first_part = (pl.col("timeframe") == "1h") | (pl.int_range(pl.len()) < 3_500)
    cut = {s: b.filter(first_part) for s, b in real_bars.items()}
    for symbol, bars in cut.items():
        _write_bars(db, symbol, bars)

    first = _run(db, instance, list(real_bars))
    for result in first.values():
        assert result.success
        failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
        assert not failed, failed
    eth = first["ETH/USDT"]
    assert _meta(eth, "alpha158")["plans"]["1m"]["mode"] == "full"
    assert _meta(eth, "alpha158")["features"] == 158
    assert _meta(first["*"], "cross_asset")["references"] == {
        "BTC/USDT": "ETH/USDT",
        "ETH/USDT": "BTC/USDT",
    }

    # 300 new minutes arrive for ETH only
    _write_bars(db, "ETH/USDT", real_bars["ETH/USDT"])
    second = _run(db, instance, ["ETH/USDT"])
    assert all(r.success for r in second.values())
    plans = _meta(second["ETH/USDT"], "classic")["plans"]
    assert plans["1m"]["mode"] == "append" and plans["1h"]["mode"] == "none"
    assert _meta(second["ETH/USDT"], "alpha158")["rows_inserted"] == 300
    assert _meta(second["ETH/USDT"], "labels")["rows_inserted"] == 305  # 5 restated
    with connect(db, read_only=True) as con:
        stored = {
            name: con.sql(
                f"SELECT * FROM features.{name} WHERE symbol = 'ETH/USDT' AND timeframe = '1m' "
                "ORDER BY ts"
            ).pl()
            for name in ("alpha158", "classic", "regime", "labels")
        }
    minutes = real_bars["ETH/USDT"].filter(pl.col("timeframe") == "1m").drop("n_parts", "source")
    families = {
        "alpha158": incremental.alpha158_family(),
        "classic": incremental.classic_family(),
        "regime": incremental.regime_family(),
        "labels": incremental.labels_family(),
    }
    for name, family in families.items():
        assert stored[name].equals(family.full(minutes)), name  # bitwise a full recompute

    third = _run(db, instance, ["ETH/USDT"])
    for result in third.values():
        for event in result.get_asset_materialization_events():
            meta = event.materialization.metadata
            written = sum(meta[k].value for k in ("rows_inserted", "rows_deleted") if k in meta)
            assert written == 0, event.materialization.asset_key
    version = _meta(second["ETH/USDT"], "alpha158")["data_version"]
    assert _meta(third["ETH/USDT"], "alpha158")["data_version"] == version


def test_a_symbol_with_too_few_bars_and_constant_prices(tmp_path, real_bars):
    db = tmp_path / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SYMBOLS.name, ["FLAT"])
    flat = (
        real_bars["ETH/USDT"]
        .filter(pl.col("timeframe") == "1m")
        .head(30)
        .with_columns(
            pl.lit("FLAT").alias("symbol"),
            *[pl.lit(3.0).alias(c) for c in ("open", "high", "low", "close")],
            pl.lit(0.0).alias("volume"),
        )
    )
    _write_bars(db, "FLAT", flat)
    result = _run(db, instance, ["FLAT"])["FLAT"]
    assert result.success
    checks = {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert checks[("alpha158", "aligned_with_bars")] and checks[("alpha158", "feature_count")]
    assert _meta(result, "alpha158")["rows"] == 30


def test_sentiment_joins_the_news_table_when_it_exists(tmp_path, real_bars):
    from datetime import timedelta

    from trading_assets.defs.features.joins import sentiment_asset_for

    @dg.asset(key=["features", "sentiment_agg"], metadata={"table": "features.sentiment_agg"})
    def news_agg() -> None: ...

    wired = sentiment_asset_for([news_agg])
    assert dg.AssetKey(["features", "sentiment_agg"]) in wired.dependency_keys
    assert dg.AssetKey(["features", "sentiment_agg"]) not in SENTIMENT.dependency_keys

    db = tmp_path / "w.duckdb"
    _write_bars(db, "ETH/USDT", real_bars["ETH/USDT"])
    hour = real_bars["ETH/USDT"]["ts"][0] + timedelta(hours=5)
    agg = pl.DataFrame(
        {
            "symbol": ["ETH/USDT", "ETH/USDT"],
            "timeframe": ["1h", "1h"],
            "ts": [hour, hour],
            "method": ["lexicon", "ml"],
            "model_version": ["lm-1", "tfidf-1"],
            "mean_score": [0.25, 0.5],
            "count": [4, 4],
            "positive_share": [0.5, 0.75],
            "negative_share": [0.25, 0.0],
            "novelty": [1.0, 1.0],
        }
    )
    with connect(db) as con:
        replace_scope(con, "features.sentiment_agg", agg, {}, schema=dict(agg.schema))
    resources = {"warehouse": WarehouseResource(path=str(db))}
    result = dg.materialize([SENTIMENT], resources=resources)
    assert result.success
    assert _meta(result, "sentiment")["source_table"] == "features.sentiment_agg"
    with connect(db, read_only=True) as con:
        rows = con.sql(
            "SELECT timeframe, sent_1h_mean, sent_1h_count FROM features.sentiment "
            "WHERE sent_1h_count > 0"
        ).pl()
    # the ml method is preferred; 60 minute bars close within the hour after the bucket ended
    assert rows.filter(pl.col("timeframe") == "1m").height == 60
    assert rows["sent_1h_mean"].unique().to_list() == [0.5]
