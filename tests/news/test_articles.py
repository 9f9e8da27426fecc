"""Plain text, URL cleaning, dedup keys and the ``raw.news`` frame."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from tests.news.feed_server import csv_headlines, yahoo_articles
from trading_assets.news.articles import (
    article_id,
    articles_frame,
    canonical_url,
    clean_url,
    normalize_title,
    plain_text,
)
from trading_assets.schemas import NEWS_SCHEMA

T0 = datetime(2025, 12, 22, 21, 31, 9, tzinfo=UTC)


def test_plain_text_drops_markup_and_scripts_and_decodes_entities_once():
    assert plain_text("<b>Apple</b> beats <script>alert('x')</script>estimates") == (
        "Apple beats estimates"
    )
    assert plain_text("AT&amp;T &lt;b&gt; rises") == "AT&T <b> rises"  # text, decoded once
    assert plain_text("AT&T rises") == "AT&T rises"
    assert plain_text("  line\n\tbreaks\x00 and  spaces ") == "line breaks and spaces"
    assert plain_text("<p></p>") is None and plain_text(None) is None
    long = plain_text("word " * 300, max_chars=50)
    assert long is not None and len(long) <= 50 and long.endswith("…")


def test_clean_and_canonical_urls():
    url = "https://www.Example.com/news/a/?utm_source=rss&utm_medium=feed&id=7&fbclid=x#top"
    assert clean_url(url) == "https://www.example.com/news/a/?id=7"
    # scheme, www., trailing slash and parameter order do not make another article
    assert canonical_url(url) == canonical_url("http://example.com/news/a?id=7")
    assert canonical_url("https://example.com/a?b=2&a=1") == canonical_url(
        "https://example.com/a?a=1&b=2"
    )
    assert canonical_url("https://example.com/a?id=1") != canonical_url(
        "https://example.com/a?id=2"
    )
    # Alpaca's placeholder "https://" and non-http links are not URLs
    for bad in ("https://", "", None, "javascript:alert(1)", "mailto:x@y.z", "/relative"):
        assert clean_url(bad) is None


def test_normalized_title_ignores_the_csv_spacing_of_punctuation():
    spaced = "Jim Cramer : A better way to invest in the Covid-19 vaccine gold rush"
    assert normalize_title(spaced) == normalize_title(
        "Jim Cramer: a better way to invest in the COVID-19 vaccine gold rush!"
    )


def test_article_id_uses_url_else_title_publisher_and_day():
    by_url = article_id("https://finance.yahoo.com/news/x.html?utm_source=a", "A", "P", T0)
    assert by_url == article_id("http://finance.yahoo.com/news/x.html", "Other", "Q", None)
    weekly = "Take Five : World markets themes for the week ahead"
    monday = article_id(None, weekly, "Reuters", datetime(2020, 7, 13, tzinfo=UTC))
    next_week = article_id(None, weekly, "Reuters", datetime(2020, 7, 20, tzinfo=UTC))
    assert monday != next_week  # a recurring column title is a new article each time
    assert monday == article_id(
        None, weekly.upper(), "reuters", datetime(2020, 7, 13, 20, tzinfo=UTC)
    )
    assert monday != article_id(None, weekly, "CNBC", datetime(2020, 7, 13, tzinfo=UTC))
    # without a known date, re-seeing the item on another day keeps its id
    undated_a = article_id(None, weekly, "Reuters", T0, date_known=False)
    undated_b = article_id(
        None, weekly, "Reuters", datetime(2026, 1, 1, tzinfo=UTC), date_known=False
    )
    assert undated_a == undated_b


def test_articles_frame_from_real_headlines(shared_data):
    yahoo = yahoo_articles(shared_data, "AAPL")[:5]
    rows = [
        {
            "published_at": datetime.fromisoformat(a["publishedAt"].replace("Z", "+00:00")),
            "source": "yahoo_json",
            "publisher": a["publisher"],
            "title": a["title"],
            "url": a["url"] + "?utm_source=test",
            "tickers": ["AAPL", *a["relatedTickers"], "AAPL"],
            "fetched_at": T0,
        }
        for a in yahoo
    ]
    date, headline = csv_headlines(shared_data, "cnbc", limit=1)[0]
    rows.append(
        {
            "published_at": datetime.fromisoformat(date).replace(tzinfo=UTC),
            "source": "headlines_csv",
            "publisher": "CNBC",
            "title": headline,
        }
    )
    rows.append({"published_at": T0, "source": "rss", "title": "   "})  # no title: dropped
    frame = articles_frame(rows)
    assert frame.schema == pl.Schema(NEWS_SCHEMA)
    assert frame.height == 6
    assert frame["url"][0] == yahoo[0]["url"]  # tracking parameter gone
    assert frame["tickers"][0].to_list() == sorted({"AAPL", *yahoo[0]["relatedTickers"]})
    assert frame["url"][5] is None and frame["tickers"][5].to_list() == []
    assert frame["article_id"].str.len_chars().unique().to_list() == [32]
