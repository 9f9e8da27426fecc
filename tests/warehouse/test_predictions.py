"""Warehouse reads behind live predictions: the newest walk-forward version of each model
(deterministic after a retraining on the same bars), the newest unlabeled bar per series,
and training-table tails of chosen series only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from trading_assets import schemas
from trading_assets.warehouse import predictions as store

T0 = datetime(2023, 4, 1, tzinfo=UTC)


def _rows(model: str, version: str, bars: int, computed: datetime) -> pl.DataFrame:
    ts = [T0 + timedelta(hours=i) for i in range(bars)]
    return pl.DataFrame(
        {
            "model": model,
            "model_version": version,
            "family": "zero",
            "target": "fwd_ret_1",
            "symbol": "ETH/USDT",
            "timeframe": "1h",
            "ts": ts,
            "available_at": [t + timedelta(hours=1) for t in ts],
            "prediction": 0.0,
            "fold": 0,
            "kind": "walk_forward",
            "predicted_at": computed,
        }  # fmt: skip
    ).cast(schemas.PREDICTIONS_SCHEMA)


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA ml; CREATE SCHEMA features")
    yield con
    con.close()


def test_the_newest_walk_forward_version_after_a_retraining_is_the_last_computed(con):
    first = datetime(2026, 12, 1, tzinfo=UTC)
    # the retraining on the same bars has one row fewer and a smaller version string
    frame = pl.concat([
        _rows("fwd_ret_1-1h-zero", "run-79312b77", 30, first),
        _rows("fwd_ret_1-1h-zero", "run-14282310", 30, first + timedelta(hours=1)).slice(1),
        _rows("fwd_ret_1-1h-last", "run-aaaa0000", 10, first),
        _rows("fwd_ret_1-1h-last", "run-bbbb0000", 30, first),  # newer bars win first
    ])  # fmt: skip
    con.register("incoming", frame)
    con.execute(f"CREATE TABLE {store.WALK_FORWARD_TABLE} AS FROM incoming")
    for _ in range(5):  # the same answer every time
        assert store.newest_walk_forward_versions(con) == {
            "fwd_ret_1-1h-zero": "run-14282310",
            "fwd_ret_1-1h-last": "run-bbbb0000",
        }


def test_newest_unlabeled_bars_and_tails_of_chosen_series(con):
    ts = [T0 + timedelta(hours=i) for i in range(10)]
    table = pl.concat(
        pl.DataFrame({
            "symbol": symbol, "timeframe": "1h", "ts": ts, "feature": list(range(10)),
            "fwd_ret_1": [0.01] * (10 - unlabeled) + [None] * unlabeled,
        })
        for symbol, unlabeled in (("BTC/USDT", 1), ("ETH/USDT", 2), ("SOL/USDT", 0))
    ).with_columns(pl.col("ts").cast(schemas.UTC_TS))  # fmt: skip
    assert store.newest_unlabeled(con, "1h", "fwd_ret_1").is_empty()  # no table yet
    con.register("incoming", table)
    con.execute(f"CREATE TABLE {store.TRAINING_TABLE} AS FROM incoming")
    newest = store.newest_unlabeled(con, "1h", "fwd_ret_1")
    assert newest.rows() == [("BTC/USDT", ts[9]), ("ETH/USDT", ts[9])]
    assert store.newest_unlabeled(con, "1h", "fwd_ret_5").is_empty()  # no such label
    assert store.newest_unlabeled(con, "1d", "fwd_ret_1").is_empty()
    tail = store.training_tail(con, "1h", 3, ["ETH/USDT"])
    assert tail.select("symbol", "ts").rows() == [("ETH/USDT", t) for t in ts[7:]]
    assert store.training_tail(con, "1h", 3)["symbol"].unique().sort().to_list() == [
        "BTC/USDT", "ETH/USDT", "SOL/USDT"
    ]  # fmt: skip
    assert store.training_tail(con, "1h", 3, []).is_empty()
