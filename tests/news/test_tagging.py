"""Ticker tagging of articles whose source gave no tickers."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from tests.news.feed_server import csv_headlines
from trading_assets.news.articles import articles_frame
from trading_assets.news.tagging import TickerTagger, load_aliases

SYMBOLS = ["AAPL", "MSFT", "TSLA", "F", "ON", "BTC/USD", "ETH/USD", "SPY", "^GSPC"]


def tagger() -> TickerTagger:
    return TickerTagger(SYMBOLS, load_aliases())


def test_tickers_company_names_and_crypto_bases():
    tag = tagger().tag
    assert tag("Apple and Microsoft lead the Nasdaq higher") == ["AAPL", "MSFT"]
    assert tag("Why (NASDAQ:TSLA) fell today") == ["TSLA"]
    assert tag("$AAPL breaks out") == ["AAPL"]
    assert tag("Bitcoin tops $100,000 as BTC ETFs draw inflows") == ["BTC/USD"]
    assert tag("ETH-USD slips; Ethereum fees fall") == ["ETH/USD"]
    assert tag("S&P 500 closes at a record") == ["SPY", "^GSPC"]
    assert tag("Ford ($F) recalls trucks") == ["F"]  # one-letter tickers only as cashtags


def test_no_false_matches_inside_words_or_shouting_headlines():
    tag = tagger().tag
    assert tag("Pineapple prices and the Teslameter") == []
    assert tag("F1 team sold") == []
    assert tag("Markets ON edge") == []  # all-caps words are not tickers
    assert tag("STOCKS TO WATCH ON MONDAY: AAPL") == []
    assert tag("STOCKS TO WATCH ON MONDAY: $AAPL") == ["AAPL"]


def test_tag_frame_fills_only_untagged_rows(shared_data):
    rows = csv_headlines(shared_data, "cnbc")
    records = [
        {
            "published_at": datetime.fromisoformat(d).replace(tzinfo=UTC),
            "source": "headlines_csv",
            "publisher": "CNBC",
            "title": t,
            "tickers": ["KEEP"] if i == 0 else [],
        }
        for i, (d, t) in enumerate(rows)
    ]
    frame = tagger().tag_frame(articles_frame(records))
    assert frame["tickers"][0].to_list() == ["KEEP"]
    apple = frame.filter(pl.col("title").str.contains(r"\bApple\b"))
    assert apple.height > 20
    assert all("AAPL" in t for t in apple["tickers"].to_list())
    tagged_share = (frame["tickers"].list.len() > 0).mean()
    assert 0.02 < tagged_share < 0.5
