"""Feed parsing: real headlines as RSS 2.0 and Atom, and every kind of bad document."""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.news.feed_server import atom_document, csv_headlines, rss_document, yahoo_articles
from trading_assets.errors import SourceDataError
from trading_assets.news.parse import decode_feed_bytes, parse_feed

FETCHED = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_rss_from_real_yahoo_articles(shared_data):
    articles = yahoo_articles(shared_data, "NVDA")
    parsed = parse_feed(
        rss_document(articles, title="NVDA headlines"),
        "http://127.0.0.1/nvda",
        fetched_at=FETCHED,
        symbols=["NVDA"],
    )
    assert parsed.version == "rss20" and parsed.warnings == []
    assert len(parsed.records) == len(articles)
    for record, article in zip(parsed.records, articles, strict=True):
        assert record["title"] == " ".join(article["title"].split())
        assert record["url"] == article["url"]
        assert record["published_at"] == _utc(article["publishedAt"])
        assert record["publisher"] == article["publisher"]
        assert record["tickers"] == ["NVDA"]


def test_atom_from_real_reuters_headlines(shared_data):
    rows = csv_headlines(shared_data, "reuters", limit=50)
    items = [{"title": t, "publishedAt": f"{d}T15:00:00Z"} for d, t in rows]
    parsed = parse_feed(atom_document(items), "feed.atom", fetched_at=FETCHED, publisher="Reuters")
    assert parsed.version == "atom10"
    assert [r["title"] for r in parsed.records] == [" ".join(t.split()) for _, t in rows]
    assert {r["publisher"] for r in parsed.records} == {"Reuters"}
    assert parsed.records[0]["published_at"] == _utc(f"{rows[0][0]}T15:00:00Z")
    assert all(r["url"] is None for r in parsed.records)


def test_titles_are_plain_text_never_html():
    items = [
        {
            "title": "<b>Apple</b> beats <script>fetch('http://evil')</script>forecasts",
            "summary": '<p>Shares <img src=x onerror="alert(1)">rose</p>',
            "publishedAt": "2025-12-22T10:00:00Z",
        }
    ]
    record = parse_feed(rss_document(items), "x", fetched_at=FETCHED).records[0]
    assert record["title"] == "Apple beats forecasts"
    assert record["summary"] == "Shares rose"


def test_html_descriptions_become_the_same_text_without_feedparser_sanitizing(shared_data):
    # feedparser's sanitizer is off; plain_text alone must drop what it dropped
    article = yahoo_articles(shared_data, "AAPL")[0]
    hostile = (
        f"<p>{article['summary']}</p><script>steal()</script><style>p {{}}</style>"
        "<applet code=x>applet text</applet><!-- a comment --><p>Read &amp; share</p>"
    )
    items = [{**article, "summary": hostile}]
    for document in (rss_document(items), atom_document(items)):
        (record,) = parse_feed(document, "x", fetched_at=FETCHED).records
        assert record["summary"] == " ".join(article["summary"].split()) + " Read & share"
    # items dressed as publisher feeds dress them: HTML description, content, categories
    (dressed,) = parse_feed(rss_document([article], markup=True), "x", fetched_at=FETCHED).records
    assert dressed["summary"] == " ".join(f"{article['summary']} {article['title']}".split())
    assert dressed["title"] == " ".join(article["title"].split())


def test_odd_dates_and_time_zones(shared_data):
    article = yahoo_articles(shared_data, "TSLA")[0]
    published = _utc(article["publishedAt"])
    for date_format, warning in (("est", None), ("iso", None), ("naive", "without a time zone")):
        parsed = parse_feed(
            rss_document([article], date_format=date_format), "x", fetched_at=FETCHED
        )
        assert parsed.records[0]["published_at"] == published, date_format
        assert (warning is None) == (not parsed.warnings), (date_format, parsed.warnings)
        if warning:
            assert warning in parsed.warnings[0]
    undated = {**article, "publishedAt": None}
    future = {**article, "title": "from the future", "publishedAt": "2030-01-01T00:00:00Z"}
    parsed = parse_feed(rss_document([undated, future]), "x", fetched_at=FETCHED)
    assert [r["published_at"] for r in parsed.records] == [FETCHED, FETCHED]
    assert parsed.records[0]["date_known"] is False and parsed.records[1]["date_known"] is True
    assert any("without a readable date" in w for w in parsed.warnings)
    assert any("after the fetch time" in w for w in parsed.warnings)


def test_html_page_instead_of_a_feed_is_refused():
    page = b"<!DOCTYPE html><html><head><title>Consent</title></head><body>Accept</body></html>"
    with pytest.raises(SourceDataError, match="HTML page"):
        parse_feed(page, "http://127.0.0.1/consent", fetched_at=FETCHED)


def test_empty_and_non_feed_bodies_are_refused():
    with pytest.raises(SourceDataError, match="empty"):
        parse_feed(b"  \n", "x", fetched_at=FETCHED)
    with pytest.raises(SourceDataError, match="not an RSS/Atom feed"):
        parse_feed(b'{"json": "instead"}', "x", fetched_at=FETCHED)


def test_entity_expansion_attack_is_refused_fast_and_without_memory():
    lol = [b'<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10)
    ]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [' + b"".join(lol) + b']><rss version="2.0">'
        b"<channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(SourceDataError, match="entit"):
        parse_feed(bomb, "http://127.0.0.1/bomb", fetched_at=FETCHED)
    assert time.perf_counter() - started < 2.0  # 10**9 "lol"s would take far longer
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    external = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>'
    )
    with pytest.raises(SourceDataError, match="entit"):
        parse_feed(external, "x", fetched_at=FETCHED)


def test_plain_rss091_doctype_without_entities_is_accepted():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>Old</title><item><title>Old style item</title></item></channel></rss>"
    )
    parsed = parse_feed(body, "x", fetched_at=FETCHED)
    assert [r["title"] for r in parsed.records] == ["Old style item"]


def test_malformed_xml_is_read_leniently_and_reported(shared_data):
    articles = yahoo_articles(shared_data, "MSFT")[:4]
    body = rss_document(articles)
    cut = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1) + 30
    parsed = parse_feed(body[:cut], "x", fetched_at=FETCHED)  # truncated inside item 3
    assert [r["title"] for r in parsed.records][:2] == [a["title"] for a in articles[:2]]
    assert any("malformed XML" in w for w in parsed.warnings)
    with pytest.raises(SourceDataError):
        parse_feed(b"<rss><channel><title>x</title><item><ti", "x", fetched_at=FETCHED)


def test_wrong_declared_encoding_is_overruled_by_the_bytes():
    items = [{"title": "Nestlé’s profit €3bn — ‘record’", "publishedAt": "2025-12-22T10:00:00Z"}]
    utf8_declared_latin1 = rss_document(items, encoding="utf-8", declared="ISO-8859-1")
    parsed = parse_feed(utf8_declared_latin1, "x", fetched_at=FETCHED)
    assert parsed.records[0]["title"] == items[0]["title"]
    assert parsed.encoding == "utf-8" and "bytes are UTF-8" in parsed.warnings[0]

    latin = [{"title": "Société Générale résultats", "publishedAt": "2025-12-22T10:00:00Z"}]
    latin1_declared_utf8 = rss_document(latin, encoding="latin-1", declared="utf-8")
    parsed = parse_feed(latin1_declared_utf8, "x", fetched_at=FETCHED)
    assert parsed.records[0]["title"] == latin[0]["title"]
    assert parsed.encoding == "cp1252" and "not valid" in parsed.warnings[0]

    # a correct non-UTF-8 declaration is simply used; the HTTP charset is a hint like the prolog
    correct = rss_document(latin, encoding="latin-1")
    parsed = parse_feed(correct, "x", fetched_at=FETCHED)
    assert parsed.records[0]["title"] == latin[0]["title"] and parsed.warnings == []
    text, encoding, warning = decode_feed_bytes(correct, "text/xml; charset=utf-8")
    assert "Société" in text and encoding == "cp1252" and "declared 'utf-8'" in warning


def test_utf16_with_bom():
    doc = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>t</title>'
    doc += "<item><title>Über-Rally in Frankfurt</title></item></channel></rss>"
    parsed = parse_feed(doc.encode("utf-16"), "x", fetched_at=FETCHED)
    assert parsed.records[0]["title"] == "Über-Rally in Frankfurt"
    assert parsed.records[0]["published_at"] == FETCHED - timedelta(0)
