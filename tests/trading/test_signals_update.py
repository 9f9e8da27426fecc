"""Signals kept up to date series by series: only the series whose input rows changed are
recomputed, and the table is the same as a recomputation of every series; stored state is
used only while the table is what the last build wrote and the state version is the same."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from tests.trading.conftest import momentum, predictions_frame
from trading_assets.trading.consensus import ConsensusConfig
from trading_assets.trading.signals_update import TABLE, SignalsInputs, update_signals
from trading_assets.warehouse.ddl import ensure_table

CONFIG = ConsensusConfig()
START = 300


def _series(bars: pl.DataFrame, labels: pl.DataFrame, regime: pl.DataFrame, symbol: str):
    """ORCL's real rows under another symbol: a second series with the same history."""
    named = [f.with_columns(pl.lit(symbol).alias("symbol")) for f in (bars, labels, regime)]
    b, lab, reg = named
    close = b["close"].to_numpy()
    preds = pl.concat(
        predictions_frame(b, model, values, start=START)
        for model, values in (
            ("fwd_ret_1-1d-momentum", momentum(close)),
            ("fwd_ret_1-1d-reversal", -momentum(close, 1)),
        )
    )
    return b, lab, reg, preds


def _inputs(parts, bars_limit: dict[str, int] | None = None) -> SignalsInputs:
    """Every series' inputs; ``bars_limit`` keeps a series' first N bars only."""
    frames = []
    for b, lab, reg, preds in parts:
        symbol = b["symbol"][0]
        n = (bars_limit or {}).get(symbol)
        if n is not None:
            last = b["ts"][n - 1]
            b, lab, reg = (f.filter(pl.col("ts") <= last) for f in (b, lab, reg))
            preds = preds.filter(pl.col("ts") <= last)
        frames.append((b, lab, reg, preds))
    bars, labels, regime, preds = (pl.concat(f[i] for f in frames) for i in range(4))
    contributions = pl.DataFrame(
        schema={"model": pl.String, "model_version": pl.String, "symbol": pl.String,
                "timeframe": pl.String, "ts": bars["ts"].dtype, "rank": pl.Int64,
                "feature": pl.String, "value": pl.Float64, "contribution": pl.Float64}
    )  # fmt: skip
    return SignalsInputs(
        preds, bars.select("symbol", "timeframe", "ts", "open", "close"), labels, regime,
        contributions,
    )  # fmt: skip


def _stored(con) -> pl.DataFrame:
    return con.sql(f"SELECT * FROM {TABLE} ORDER BY symbol, timeframe, ts").pl()


def _fresh(inputs: SignalsInputs) -> pl.DataFrame:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA signals")
    ensure_table(con, TABLE)
    update_signals(con, inputs, CONFIG, 3, "v", None)
    return _stored(con)


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA signals")
    ensure_table(con, TABLE)
    yield con
    con.close()


def test_only_changed_series_are_recomputed_and_the_table_equals_a_full_rebuild(
    con, orcl, orcl_labels, orcl_regime
):
    parts = [_series(orcl, orcl_labels, orcl_regime, s) for s in ("ORCL", "ORCL.B", "ORCL.C")]
    n = orcl.height
    before = _inputs(parts, {"ORCL.B": n - 3})
    first = update_signals(con, before, CONFIG, 3, "v", None)
    assert first.recomputed is None and first.write.inserted > 0
    # nothing changed: nothing is computed or written, the data version is the same
    again = update_signals(con, before, CONFIG, 3, "v", first.write.data_version)
    assert again.recomputed == [] and again.run.signals.is_empty()
    assert (again.write.inserted, again.write.deleted) == (0, 0)
    assert again.write.data_version == first.write.data_version
    # three new bars of ORCL.B (bars, labels, regimes, predictions): that series alone
    after = _inputs(parts)
    newer = update_signals(con, after, CONFIG, 3, "v", again.write.data_version)
    assert newer.recomputed == [("ORCL.B", "1d")]
    assert set(newer.run.signals["symbol"]) == {"ORCL.B"}
    assert newer.write.inserted >= 3
    stored = _stored(con)
    assert stored.equals(_fresh(after))  # the same table as recomputing every series
    assert newer.write.rows == stored.height
    # a series gone from the predictions loses its signals
    gone = SignalsInputs(
        after.predictions.filter(pl.col("symbol") != "ORCL.C"), *after.frames()[1:]
    )
    dropped = update_signals(con, gone, CONFIG, 3, "v", newer.write.data_version)
    assert dropped.recomputed == [("ORCL.C", "1d")]
    assert "ORCL.C" not in set(_stored(con)["symbol"])
    assert _stored(con).equals(_fresh(gone))


def test_stored_state_is_not_trusted_after_an_outside_change_or_a_new_version(
    con, orcl, orcl_labels, orcl_regime
):
    parts = [_series(orcl, orcl_labels, orcl_regime, s) for s in ("ORCL", "ORCL.B")]
    inputs = _inputs(parts)
    first = update_signals(con, inputs, CONFIG, 3, "v", None)
    # the table was edited behind the asset's back: its content is not the recorded version
    con.execute(f"DELETE FROM {TABLE} WHERE symbol = 'ORCL' AND ts = (SELECT max(ts) FROM "
                f"{TABLE} WHERE symbol = 'ORCL')")  # fmt: skip
    repaired = update_signals(con, inputs, CONFIG, 3, "v", first.write.data_version)
    assert repaired.recomputed is None
    assert repaired.write.data_version == first.write.data_version  # the row is back
    # new code or configuration: every series again
    other = update_signals(con, inputs, CONFIG, 3, "v2", repaired.write.data_version)
    assert other.recomputed is None
    assert update_signals(con, inputs, CONFIG, 3, "v2", other.write.data_version).recomputed == []
    # a version recorded by nobody (first materialization through Dagster): untrusted
    assert update_signals(con, inputs, CONFIG, 3, "v2", "").recomputed is None
    assert np.isfinite(_stored(con)["position"].to_numpy()).all()
