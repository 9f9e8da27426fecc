"""The join feature tables over their whole inputs, and the measures of their checks."""

from __future__ import annotations

import polars as pl

from trading_assets.features import classic, joins
from trading_assets.features import cross_asset as cross_logic
from trading_assets.features import sentiment as sentiment_logic


def test_context_of_one_symbol_and_its_measures(eth_1m, eth_1h):
    start = eth_1h["ts"][0]
    minutes = eth_1m.filter(pl.col("ts") >= start).head(2_000)
    hours = eth_1h.filter(pl.col("ts") < minutes["ts"][-1])
    indicators = pl.concat(
        [classic.classic(minutes, garch=None), classic.classic(hours, garch=None)]
    )
    joined = joins.context_join(indicators, ["1m", "1h"])
    assert joined.row_timeframes == ["1m"]
    assert joined.frame.height == minutes.height
    assert ("1h", "rsi_14") in joined.sources and ("1h", "garch_vol") not in joined.sources
    assert not any(g == "1d" for g, _ in joined.sources)
    bars = pl.concat([minutes, hours]).select(joins.KEY)
    measures = joins.context_measures(joined, bars, threshold=0.05)
    assert measures["aligned_with_bars"].passed and measures["feature_count"].passed
    assert "1h:rsi_14" in measures["missing_share"].details["measured_sources"]

    empty = joins.context_join(pl.DataFrame(), ["1m"])
    assert empty.frame.height == 0 and empty.sources == frozenset() and empty.row_timeframes == []


def test_cross_asset_of_every_symbol(eth_1m, btc_1m):
    eth, btc = eth_1m.slice(10_000, 500), btc_1m.slice(10_000, 500)
    lonely = eth.with_columns(pl.lit("SPY").alias("symbol"))
    closes = pl.concat([btc, eth, lonely]).select(*joins.KEY, "close").sort("symbol")
    joined = joins.cross_asset_join(closes)
    assert joined.references == {"BTC/USDT": "ETH/USDT", "ETH/USDT": "BTC/USDT", "SPY": None}
    assert joined.frame.height == closes.height
    assert joined.frame.filter(pl.col("symbol") == "ETH/USDT").equals(
        cross_logic.cross_asset(eth.select(closes.columns), btc.select(closes.columns))
    )
    measures = joins.cross_asset_measures(joined, closes, threshold=0.05)
    assert measures["aligned_with_bars"].passed and measures["feature_count"].passed
    assert measures["missing_share"].details["symbols_without_reference"] == ["SPY"]
    overridden = joins.cross_asset_join(closes, {"BTC/USDT": "SPY"})
    assert overridden.references["BTC/USDT"] == "SPY"

    nothing = joins.cross_asset_join(closes.head(0))
    assert nothing.frame.height == 0 and nothing.references == {}
    assert joins.cross_asset_measures(nothing, closes.head(0), 0.05)["aligned_with_bars"].passed


def test_sentiment_with_and_without_a_table(eth_1h):
    bars = eth_1h.head(48).select(joins.KEY)
    none = joins.sentiment_join(bars, None)
    assert none.problem == "no sentiment_agg table" and none.bars_with_news == 0
    assert none.frame.height == 48 and none.frame["sent_1h_count"].sum() == 0
    agg = pl.DataFrame(
        {
            "symbol": ["ETH/USDT"],
            "timeframe": ["1h"],
            "ts": [bars["ts"][5]],
            "mean_score": [0.5],
            "count": [3],
            "positive_share": [0.5],
            "negative_share": [0.0],
            "novelty": [1.0],
        }
    )
    joined = joins.sentiment_join(bars, agg)
    assert joined.problem is None and joined.symbols_with_news == ["ETH/USDT"]
    # the bucket closes with the hourly bar of the same ts: that bar (only) sees it
    with_news = joined.frame.filter(pl.col("sent_1h_count") > 0)
    assert with_news["ts"].to_list() == [bars["ts"][5]]
    assert joined.bars_with_news == 1
    measures = joins.sentiment_measures(joined, bars, threshold=0.05)
    assert all(m.passed for m in measures.values())
    assert set(sentiment_logic.NAMES) <= set(joined.frame.columns)


def test_join_measures_add_the_extra_details_to_missing_share(eth_1h):
    bars = eth_1h.head(10).select(joins.KEY)
    frame = bars.with_columns(pl.lit(None, dtype=pl.Float64).alias("f"))
    measures = joins.join_measures(frame, bars, ["f"], 0.05, {"note": 1})
    assert measures["missing_share"].details["note"] == 1
    assert "note" not in measures["aligned_with_bars"].details
    skipped = joins.join_measures(frame, bars, ["f"], 0.05, applies=lambda c, tf: False)
    assert skipped["missing_share"].passed
