"""Local news files: the real Yahoo JSON and Kaggle headline CSVs load with the right counts
after deduplication (expected counts computed here from the raw files, independently)."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime

import polars as pl
import pytest

from trading_assets.errors import SourceDataError
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.news.files import (
    HEADLINES_CSV,
    YAHOO_JSON,
    discover_news_files,
    end_of_day_utc,
    read_headlines_csv,
    read_news_file,
    read_yahoo_news_json,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _norm(title: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", title.casefold()))


def test_discovery_finds_every_news_file(shared_data):
    found = discover_news_files(shared_data / "news")
    kinds = [kind for _, kind in found]
    assert kinds.count(YAHOO_JSON) == 35 and kinds.count(HEADLINES_CSV) == 3
    assert len(found) == 38
    with pytest.raises(FileNotFoundError):
        discover_news_files(shared_data / "no-such-folder")
    # the whole data folder: Alpaca's recorded news responses are not a news file
    everything = discover_news_files(shared_data)
    assert [p for p, _ in everything] == [p for p, _ in found]


def test_yahoo_json_dedups_across_symbols_and_days_and_merges_tickers(shared_data):
    paths = sorted((shared_data / "news/yahoo_per_symbol_2025-12").glob("*.json"))
    records = [r for p in paths for r in read_yahoo_news_json(p).records]
    raw = [
        (json.loads(p.read_text())["symbol"], a)
        for p in paths
        for a in json.loads(p.read_text())["articles"]
    ]
    assert len(records) == len(raw) == 207
    frame = dedupe(articles_frame(records))
    expected_urls = {a["url"] for _, a in raw}
    assert frame.height == len(expected_urls) == 148
    assert frame["article_id"].n_unique() == 148

    # an article listed under several symbols is one row tagged with all of them
    symbols_by_url: dict[str, set[str]] = {}
    for symbol, article in raw:
        symbols_by_url.setdefault(article["url"], set()).update(
            [symbol, *article["relatedTickers"]]
        )
    multi = {
        u: s for u, s in symbols_by_url.items() if len({sym for sym, a in raw if a["url"] == u}) > 1
    }
    assert multi, "the files do list articles under several symbols"
    stored = dict(zip(frame["url"].to_list(), frame["tickers"].to_list(), strict=True))
    for url, symbols in symbols_by_url.items():
        assert set(stored[url]) == symbols, url

    # the same page re-titled a day later keeps its first-seen title and time
    guru = frame.filter(pl.col("title").str.contains("Wedbush Names MSFT"))
    assert guru.height == 1
    assert guru["published_at"][0] == datetime(2025, 12, 22, 18, 2, 36, tzinfo=UTC)
    assert frame.filter(pl.col("title").str.contains("Biggest AI Winner in 2026")).height == 0


def test_yahoo_json_fetched_at_comes_from_the_file(shared_data):
    parsed = read_yahoo_news_json(
        shared_data / "news/yahoo_per_symbol_2025-12/AAPL_news_20251222.json"
    )
    assert {r["fetched_at"] for r in parsed.records} == {
        datetime(2025, 12, 22, 21, 58, 5, 803000, tzinfo=UTC)
    }
    assert all(r["tickers"][0] == "AAPL" for r in parsed.records)


@pytest.mark.parametrize(
    ("name", "has_header", "publisher", "known"),
    [
        # SOURCES.md: 2,800 rows with 9 exact duplicates; 17,760; 32,770 with 79 duplicates
        # (and 8 more that differ only in punctuation spacing or case)
        ("cnbc", True, "CNBC", 2_791),
        ("guardian", False, "The Guardian", 17_760),
        ("reuters", False, "Reuters", 32_683),
    ],
)
def test_headline_csvs_load_with_the_right_counts(shared_data, name, has_header, publisher, known):
    path = shared_data / f"news/kaggle_headlines_2017-2020/{name}_headlines.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if has_header:
        assert rows[0] == ["date", "headlines"]
        rows = rows[1:]
    expected = len({(d, _norm(t)) for d, t in rows})
    parsed = read_headlines_csv(path, fetched_at=NOW)
    assert len(parsed.records) == len(rows)  # every row read, header not taken as a row
    assert parsed.warnings == []
    frame = dedupe(articles_frame(parsed.records))
    assert frame.height == expected == known
    assert set(frame["publisher"].unique()) == {publisher}
    # newest first in the file; stamped at the end of the (New York) day, in UTC
    newest = date.fromisoformat(rows[0][0])
    assert frame["published_at"].max() == end_of_day_utc(newest)
    assert frame["published_at"].min() == end_of_day_utc(
        min(date.fromisoformat(d) for d, _ in rows)
    )


def test_end_of_day_is_after_the_whole_day_everywhere():
    stamp = end_of_day_utc(date(2020, 7, 17))
    assert stamp == datetime(2020, 7, 18, 3, 59, 59, 999999, tzinfo=UTC)  # EDT = UTC-4
    assert end_of_day_utc(date(2020, 1, 17)).hour == 4  # EST = UTC-5


def test_bad_rows_are_counted_and_a_file_without_rows_fails(tmp_path):
    path = tmp_path / "x_headlines.csv"
    path.write_text("2020-01-02,Good headline\nnot-a-date,Bad row\n2020-01-03,\n", encoding="utf-8")
    parsed = read_headlines_csv(path, fetched_at=NOW)
    assert [r["title"] for r in parsed.records] == ["Good headline"]
    assert any("without a YYYY-MM-DD date (first: line 2)" in w for w in parsed.warnings)
    assert any("without a headline" in w for w in parsed.warnings)
    empty = tmp_path / "empty_headlines.csv"
    empty.write_text("date,headlines\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="no row"):
        read_headlines_csv(empty, fetched_at=NOW)
    broken = tmp_path / "AAPL_news_1.json"
    broken.write_text('{"articles": 5}', encoding="utf-8")
    with pytest.raises(SourceDataError, match="articles"):
        read_yahoo_news_json(broken)


def test_rss_and_atom_files_are_read_like_feeds(shared_data, tmp_path):
    from tests.news.feed_server import atom_document, csv_headlines, rss_document, yahoo_articles

    rows = csv_headlines(shared_data, "guardian", limit=30)
    (tmp_path / "guardian.atom").write_bytes(
        atom_document([{"title": t, "publishedAt": f"{d}T08:00:00Z"} for d, t in rows])
    )
    (tmp_path / "tsla.xml").write_bytes(rss_document(yahoo_articles(shared_data, "TSLA")))
    found = discover_news_files(tmp_path)
    assert [(p.name, kind) for p, kind in found] == [
        ("guardian.atom", "feed_file"),
        ("tsla.xml", "feed_file"),
    ]
    atom = read_news_file(found[0][0], "feed_file", fetched_at=NOW)
    assert [r["title"] for r in atom.records] == [" ".join(t.split()) for _, t in rows]
    assert {r["source"] for r in atom.records} == {"feed_file"}
    rss = read_news_file(found[1][0], "feed_file", fetched_at=NOW)
    assert len(rss.records) == len(yahoo_articles(shared_data, "TSLA"))
