"""Tables kept up to date series by series (``series_state.update_changed``), on real ETH
and BTC 1h bars with the news sentiment features: a new bar of one symbol and a new news
bucket of another recompute those series only, and the table equals a full rebuild."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from trading_assets.features import joins
from trading_assets.features import sentiment as sentiment_logic
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader
from trading_assets.warehouse import series_state
from trading_assets.warehouse.writes import content_version

TABLE = "features.sentiment"
SCHEMA = sentiment_logic.output_schema()


@pytest.fixture(scope="module")
def bars(shared_data) -> pl.DataFrame:
    folder = shared_data / "crypto" / "binance_spot_2023"
    frames = [
        FreqtradeJsonReader(folder / f"{s.replace('/', '_')}-1h.json").read().select(joins.KEY)
        for s in ("BTC/USDT", "ETH/USDT")
    ]
    return pl.concat(frames).sort(joins.KEY)


def _news(bars: pl.DataFrame, symbol: str, hours: int) -> pl.DataFrame:
    """Hourly sentiment buckets of ``symbol`` on its first ``hours`` bars."""
    ts = bars.filter(pl.col("symbol") == symbol)["ts"].head(hours)
    return pl.DataFrame({
        "symbol": symbol, "granularity": "1h", "bucket": ts, "mean": 0.25, "count": 2.0,
        "pos": 1.0, "neg": 0.0, "novelty": 0.5,
    }).cast(sentiment_logic.AGG_SCHEMA)  # fmt: skip


def _update(con, bars, agg, trusted: str | None, version: str = "v"):
    return series_state.update_changed(
        con, "features/sentiment", version, trusted, TABLE, SCHEMA,
        {"bars": bars, "news": joins.news_by_series(bars, agg)},
        lambda series: joins.sentiment_rows(
            bars if series is None else series_state.of_series(bars, series), agg
        ),
    )  # fmt: skip


def _table(con) -> pl.DataFrame:
    return con.sql(f"SELECT * FROM {TABLE} ORDER BY symbol, timeframe, ts").pl()


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA features")
    return con


def test_new_bars_and_news_recompute_their_series_only(bars):
    eth = bars.filter(pl.col("symbol") == "ETH/USDT")
    older = bars.join(eth.tail(3), on=joins.KEY, how="anti")
    agg = _news(bars, "ETH/USDT", 48)
    con = _connect()
    write, recomputed = _update(con, older, agg, None)
    assert recomputed is None and write.rows == older.height
    same, recomputed = _update(con, older, agg, write.data_version)
    assert recomputed == [] and same.data_version == write.data_version
    # three new ETH bars, and BTC's first news
    more_news = pl.concat([agg, _news(bars, "BTC/USDT", 24)])
    newer, recomputed = _update(con, bars, more_news, same.data_version)
    assert recomputed == [("BTC/USDT", "1h"), ("ETH/USDT", "1h")]
    full = _connect()
    everything, _ = _update(full, bars, more_news, None)
    assert _table(con).equals(_table(full))
    assert newer.data_version == everything.data_version == content_version(con, TABLE)[1]
    # only ETH's news changes: BTC is left alone
    later = pl.concat([more_news, _news(bars, "ETH/USDT", 60).tail(12)])
    _, recomputed = _update(con, bars, later, newer.data_version)
    assert recomputed == [("ETH/USDT", "1h")]
    assert _table(con)["sent_1h_count"].sum() > _table(full)["sent_1h_count"].sum()


def test_untrusted_state_and_expanded_series(bars):
    con = _connect()
    agg = _news(bars, "ETH/USDT", 10)
    write, _ = _update(con, bars, agg, None)
    con.execute(f"DELETE FROM {TABLE} WHERE symbol = 'BTC/USDT'")  # behind the asset's back
    repaired, recomputed = _update(con, bars, agg, write.data_version)
    assert recomputed is None and repaired.data_version == write.data_version
    v2, recomputed = _update(con, bars, agg, write.data_version, "v2")
    assert recomputed is None  # a new code version: every series
    # a dependent series (a symbol whose reference changed) is recomputed with the changed one
    eth = bars.filter(pl.col("symbol") == "ETH/USDT")
    fewer = bars.join(eth.tail(1), on=joins.KEY, how="anti")
    _, recomputed = series_state.update_changed(
        con, "features/sentiment", "v2", v2.data_version, TABLE, SCHEMA,
        {"bars": fewer, "news": joins.news_by_series(fewer, agg)},
        lambda series: joins.sentiment_rows(series_state.of_series(fewer, series), agg),
        expand=lambda changed: changed | {("BTC/USDT", "1h")},
    )  # fmt: skip
    assert recomputed == [("BTC/USDT", "1h"), ("ETH/USDT", "1h")]
    assert _table(con).height == fewer.height


def test_cross_asset_rows_follow_their_reference_symbol(btc_eth_closes):
    """A new BTC 1h bar changes ETH's 1h correlation and beta to BTC: both 1h series are
    rebuilt, although only BTC's closes changed; their 5m series are not."""
    from trading_assets.features import cross_asset as cross_logic

    closes = btc_eth_closes
    table, schema = "features.cross_asset", cross_logic.output_schema()
    refs = joins.cross_asset_references(closes)
    assert refs["ETH/USDT"] == "BTC/USDT"

    def update(con, frame, trusted):
        return series_state.update_changed(
            con, "features/cross_asset", "v", trusted, table, schema, {"closes": frame},
            lambda series: joins.cross_asset_rows(frame, refs, series),
            expand=lambda changed: joins.cross_asset_dependents(changed, refs),
        )  # fmt: skip

    btc = closes.filter((pl.col("symbol") == "BTC/USDT") & (pl.col("timeframe") == "1h"))
    older = closes.join(btc.tail(1), on=joins.KEY, how="anti")
    con = _connect()
    write, _ = update(con, older, None)
    newer, recomputed = update(con, closes, write.data_version)
    assert recomputed == [("BTC/USDT", "1h"), ("ETH/USDT", "1h")]
    only_eth = {("ETH/USDT", "1h")}  # and ETH's changing alone rebuilds BTC (BTC's reference)
    assert joins.cross_asset_dependents(only_eth, refs) == only_eth | {("BTC/USDT", "1h")}
    full = _connect()
    everything, _ = update(full, closes, None)
    rows = f"SELECT * FROM {table} ORDER BY symbol, timeframe, ts"
    assert con.sql(rows).pl().equals(full.sql(rows).pl())
    assert newer.data_version == everything.data_version
    assert set(con.sql(f"SELECT DISTINCT timeframe FROM {table}").pl()["timeframe"]) == {
        "1h", "5m"
    }  # fmt: skip


def test_sentiment_checks_measure_again_only_the_timeframes_that_changed(btc_eth_closes):
    """measure_sentiment equals the sentiment measures of the whole stored table, measuring
    again only the timeframes whose rows or bars changed; news_summary counts as
    sentiment_summary does."""
    from trading_assets.warehouse import feature_store as fs

    bars = btc_eth_closes.select(joins.KEY)
    btc_hours = bars.filter((pl.col("symbol") == "BTC/USDT") & (pl.col("timeframe") == "1h"))
    older = bars.join(btc_hours.tail(2), on=joins.KEY, how="anti")
    agg = _news(bars.filter(pl.col("timeframe") == "1h"), "ETH/USDT", 48)
    con = _connect()
    con.execute("SET TimeZone = 'UTC'")  # as the warehouse's connections read
    for frame, expected in [(older, ["1h", "5m"]), (bars, ["1h"]), (bars, [])]:
        _update(con, frame, agg, None)
        measures, again = fs.measure_sentiment(con, TABLE, frame, "v", 0.05)
        assert again == expected
        whole = joins.sentiment_summary(_table(con), None)
        assert measures == joins.sentiment_measures(whole, frame, 0.05)
        assert measures["aligned_with_bars"].passed
        assert fs.news_summary(con, TABLE) == (whole.bars_with_news, whole.symbols_with_news)
    assert fs.news_summary(con, TABLE)[1] == ["ETH/USDT"]
