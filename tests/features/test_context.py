"""Multi-timeframe context: the last CLOSED coarser bar, as-of."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from trading_assets.features import classic, context


def test_each_minute_carries_the_last_closed_hour(eth_1m, eth_1h):
    minutes = eth_1m.filter(pl.col("ts") >= eth_1h["ts"][0]).head(3_000)
    hours = eth_1h.filter(pl.col("ts") <= minutes["ts"][-1])
    hourly = classic.classic(hours, garch=None)
    out = context.context(pl.concat([classic.classic(minutes, garch=None), hourly]))
    assert out["timeframe"].unique().to_list() == ["1m"]  # 1h rows get no 1h context
    assert out.height == minutes.height
    assert out["ctx_1d_ts"].null_count() == out.height  # no daily bars for this symbol here
    used = out.drop_nulls("ctx_1h_ts")
    closes = used["ts"] + timedelta(minutes=1)
    ctx_closes = used["ctx_1h_ts"] + timedelta(hours=1)
    assert (ctx_closes <= closes).all()  # never an hour that was still open
    assert (ctx_closes > closes - timedelta(hours=1)).all()  # always the latest closed one
    # the minute 16:59-17:00 may use the hour 16:00-17:00, the minute before may not
    first_hour = hours["ts"][0]
    at = used.filter(pl.col("ts") == first_hour + timedelta(minutes=59))
    assert at["ctx_1h_ts"][0] == first_hour
    assert out.filter(pl.col("ts") == first_hour + timedelta(minutes=58))["ctx_1h_ts"][0] is None
    # values are the hour's classic indicators
    joined = used.join(
        hourly.select(pl.col("ts").alias("ctx_1h_ts"), "rsi_14"), on="ctx_1h_ts", how="left"
    )
    assert joined["ctx_1h_rsi_14"].equals(joined["rsi_14"], check_names=False)


def test_equity_minutes_use_the_previous_session(orcl_1d):
    days = orcl_1d.head(30)
    day = days["ts"][20]
    minute = pl.DataFrame(
        {
            "symbol": "ORCL",
            "timeframe": "1m",
            "ts": [day + timedelta(hours=15)],  # 15:00 UTC, during that day's session
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
        }
    )
    out = context.context(
        pl.concat([classic.classic(minute, garch=None), classic.classic(days, garch=None)])
    )
    assert out["ctx_1d_ts"][0] == days["ts"][19]  # today's daily bar is not known yet


def test_only_daily_bars_give_no_rows(gspc_1d):
    assert context.context(classic.classic(gspc_1d.head(50), garch=None)).height == 0
    assert context.row_timeframes(["1m", "5m", "1h", "1d"]) == ["1m", "5m", "1h"]
    assert context.row_timeframes(["1m", "5m"]) == []
