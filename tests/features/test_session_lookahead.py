"""Equity bars are known at the exchange session's close, not at ``ts + timeframe``: real
AAPL news published after the 2025-12-23 close (21:15 to 22:30 UTC) must not reach that
day's bars and must reach the next session's (2025-12-24, an early close at 13:00 New York),
on daily and on hourly bars. Prices: Yahoo AAPL daily and hourly files; news: the Yahoo
per-symbol files, read, tagged and scored (Loughran-McDonald) with the project's own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from trading_assets.features import classic, context
from trading_assets.features.sentiment import normalize_sentiment_agg, sentiment_features
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.files import discover_news_files, read_news_file
from trading_assets.news.tagging import TickerTagger, load_aliases
from trading_assets.schemas import UTC_TS
from trading_assets.sentiment.aggregate import aggregate_sentiment
from trading_assets.sentiment.lexicon import LexiconScorer
from trading_assets.sources.files.yahoo_chart import YahooChartReader

D_CLOSE = datetime(2025, 12, 23, 21, tzinfo=UTC)  # 16:00 New York
D1_CLOSE = datetime(2025, 12, 24, 18, tzinfo=UTC)  # 13:00 New York, an early close
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def aapl_news(shared_data) -> pl.DataFrame:
    records = []
    for path, kind in discover_news_files(shared_data / "news" / "yahoo_per_symbol_2025-12"):
        records += read_news_file(path, kind, fetched_at=NOW).records
    tagger = TickerTagger(["AAPL"], load_aliases())
    news = dedupe(tagger.tag_frame(articles_frame(records)))
    return news.filter(pl.col("tickers").list.contains("AAPL"))


def _agg(news: pl.DataFrame) -> pl.DataFrame:
    scorer = LexiconScorer()
    texts = (news["title"] + ". " + news["summary"].fill_null("")).to_list()
    scores = scorer.score(texts).with_columns(
        news["article_id"], pl.lit("lexicon").alias("method"),
        pl.lit(scorer.model_version).alias("model_version"),
    )  # fmt: skip
    agg, problem = normalize_sentiment_agg(aggregate_sentiment(news, scores))
    assert problem is None
    return agg


@pytest.fixture(scope="module")
def aapl_1d(shared_data) -> pl.DataFrame:
    path = shared_data / "equities" / "daily" / "yahoo_snapshots_2025-12" / "AAPL_1d_20251226.json"
    return YahooChartReader(path).read()


@pytest.fixture(scope="module")
def aapl_1h(shared_data) -> pl.DataFrame:
    """Yahoo's AAPL 1h bars: regular-session bars at :30 New York (the 15:30 one covers 30
    minutes), extended-hours bars on the hour; the two live partial bars at the end dropped."""
    path = shared_data.parent / "formats" / "yahoo_hourly" / "AAPL_1h_20251226.json"
    bars = json.loads(path.read_text())["bars"]
    frame = pl.DataFrame(
        {
            "ts": [b["t"] for b in bars],
            **{
                k: [float(b[c]) for b in bars]
                for k, c in zip(("open", "high", "low", "close", "volume"), "ohlcv", strict=True)
            },
        }  # fmt: skip
    ).with_columns(
        pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC").cast(UTC_TS),
        pl.lit("AAPL").alias("symbol"),
        pl.lit("1h").alias("timeframe"),
    )
    return frame.filter(pl.col("ts").dt.second() == 0).sort("ts")


def _late(news: pl.DataFrame) -> pl.DataFrame:
    return news.filter(
        pl.col("published_at").is_between(D_CLOSE, datetime(2025, 12, 24, tzinfo=UTC))
    )


def test_real_after_hours_news_exists(aapl_news):
    times = _late(aapl_news)["published_at"].sort().dt.strftime("%H:%M:%S").to_list()
    # after the 21:00 UTC close of 2025-12-23, two of them after 22:00
    assert times[-2:] == ["22:02:12", "22:30:19"] and min(times) >= "21:00:00"


@pytest.mark.parametrize("timeframe", ["1d", "1h"])
def test_news_after_the_close_reaches_the_next_session_not_the_day(
    aapl_news, aapl_1d, aapl_1h, timeframe
):
    bars = aapl_1d if timeframe == "1d" else aapl_1h
    bars = bars.filter(pl.col("ts").is_between(datetime(2025, 12, 15, tzinfo=UTC), NOW))
    late = _late(aapl_news)
    with_late = sentiment_features(bars, _agg(aapl_news))
    without = sentiment_features(bars, _agg(aapl_news.join(late, on="article_id", how="anti")))
    cols = [c for c in with_late.columns if c.startswith("sent_")]
    changed = with_late.join(without, on=["symbol", "timeframe", "ts"], suffix="_w").filter(
        pl.any_horizontal(pl.col(c) != pl.col(f"{c}_w") for c in cols)
    )
    day = changed.filter(pl.col("ts").dt.date() == datetime(2025, 12, 23).date())
    next_day = changed.filter(pl.col("ts").dt.date() == datetime(2025, 12, 24).date())
    if timeframe == "1d":
        # the article never reaches D's bar (the old midnight-UTC close let it in) ...
        assert day.height == 0
        # ... and reaches D+1's bar, through the daily bucket of D
        assert next_day.height == 1 and next_day["sent_1d_count"][0] > 0
        d1 = with_late.join(without, on="ts", suffix="_w").filter(
            pl.col("ts") == datetime(2025, 12, 24, tzinfo=UTC)
        )
        assert d1["sent_1d_count"][0] - d1["sent_1d_count_w"][0] == late.height
    else:
        # no regular-session bar of D sees it; the first bar that does is a post-market one
        # closing after 22:02 UTC, and every regular bar of D+1 sees it
        regular_d = day.filter(pl.col("ts") < D_CLOSE)
        assert regular_d.height == 0
        assert changed["ts"].min() >= datetime(2025, 12, 23, 21, tzinfo=UTC)
        session_d1 = aapl_1h.filter(
            pl.col("ts").is_between(datetime(2025, 12, 24, 14, 30, tzinfo=UTC), D1_CLOSE)
            & (pl.col("ts") < D1_CLOSE)
        )
        assert session_d1.height == 3  # 09:30, 10:30, 11:30 New York
        assert set(session_d1["ts"]) <= set(next_day["ts"])


def test_the_last_session_hour_carries_the_days_own_daily_bar(aapl_1d, aapl_1h):
    """Context: the daily bar is known at 16:00 New York, so the 15:30 hourly bar (which ends
    at the close, not at 16:30) carries it; the 14:30 bar still carries the day before. On the
    early-close day the daily bar is known at 13:00, before the post-market 13:00 bar ends."""
    daily = aapl_1d.filter(pl.col("ts") >= datetime(2025, 11, 1, tzinfo=UTC))
    hourly = aapl_1h.filter(pl.col("ts") >= datetime(2025, 11, 1, tzinfo=UTC))
    indicators = pl.concat(
        [classic.classic(hourly, garch=None), classic.classic(daily, garch=None)]
    )
    out = context.context(indicators).filter(pl.col("timeframe") == "1h")

    def ctx_day(ts: datetime):
        return out.filter(pl.col("ts") == ts)["ctx_1d_ts"][0].date().isoformat()

    assert ctx_day(datetime(2025, 12, 23, 20, 30, tzinfo=UTC)) == "2025-12-23"  # 15:30 NY
    assert ctx_day(datetime(2025, 12, 23, 19, 30, tzinfo=UTC)) == "2025-12-22"  # 14:30 NY
    assert ctx_day(datetime(2025, 12, 24, 16, 30, tzinfo=UTC)) == "2025-12-23"  # 11:30 NY
    assert ctx_day(datetime(2025, 12, 24, 18, tzinfo=UTC)) == "2025-12-24"  # 13:00 NY, after
