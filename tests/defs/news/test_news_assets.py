"""The news assets end to end through Dagster, against servers on 127.0.0.1 only.

Sources: real Yahoo articles served as RSS 2.0 and real Reuters headlines as Atom by a local
feed server (next to an HTML page, a 404 and an entity bomb), a folder with real Yahoo JSON
files and the CNBC headline CSV, and Alpaca news replayed from alpaca-py's recorded responses.
Sentiment: the lexicon, an ml model trained by the asset on a slice of the Financial
PhraseBank (logged to a throw-away MLflow store), and an LLM chain on a fake server.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.news.conftest import guard_loopback
from tests.news.feed_server import (
    FeedRoute,
    FeedServer,
    atom_document,
    csv_headlines,
    rss_document,
    yahoo_articles,
)
from tests.sentiment.fake_llm import FakeLlm
from tests.sources.alpaca_replay import ReplayServer, Route
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.news.assets import NEWS_ASSETS, news
from trading_assets.defs.news.resources import (
    LlmProviderConfig,
    NewsSourcesResource,
    SentimentSettingsResource,
)
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.news.alpaca_news import NEWS_PATH

YAHOO_FILES = ("AAPL_news_20251223.json", "MSFT_news_20251223.json", "NVDA_news_20251224.json")
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>'
)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    guard_loopback(monkeypatch)


def _norm(title: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", title.casefold()))


def _version(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> str:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.materialization.asset_key == key
    ]
    return event.materialization.tags["dagster/data_version"]


def _metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.materialization.asset_key == key
    ]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture
def setup(tmp_path: Path, shared_data: Path):
    """Servers, folders and resources of one end-to-end scenario."""
    feeds = FeedServer().start()
    alpaca = ReplayServer().start()
    llm = FakeLlm("ok").__enter__()
    aapl = yahoo_articles(shared_data, "AAPL")
    reuters = [
        {"title": t, "publishedAt": f"{d}T12:00:00Z"}
        for d, t in csv_headlines(shared_data, "reuters", 60)
    ]
    routes = {
        "/aapl.rss": FeedRoute(rss_document(aapl, title="AAPL headlines")),
        "/reuters.atom": FeedRoute(atom_document(reuters), content_type="application/atom+xml"),
        "/consent": FeedRoute(b"<!doctype html><html><body>cookies?</body></html>"),
        "/gone": FeedRoute(b"", status=404),
        "/bomb": FeedRoute(BOMB),
    }
    feed_list = tmp_path / "feeds.toml"
    lines = []
    for path, route in routes.items():
        url = feeds.add(path, route)
        symbols = '["AAPL"]' if path == "/aapl.rss" else "[]"
        lines.append(
            f'[[feed]]\nname = "{path}"\nurl = "{url}"\nasset_class = "equity"\n'
            f"symbols = {symbols}\n"
        )
    feed_list.write_text("\n".join(lines), encoding="utf-8")
    news_dir = tmp_path / "news"
    news_dir.mkdir()
    for name in YAHOO_FILES:
        shutil.copy(shared_data / "news/yahoo_per_symbol_2025-12" / name, news_dir / name)
    shutil.copy(
        shared_data / "news/kaggle_headlines_2017-2020/cnbc_headlines.csv",
        news_dir / "cnbc_headlines.csv",
    )
    capture = json.loads(
        (shared_data / "alpaca/alpaca_py_historical_news_data_responses.json").read_text()
    )
    alpaca.add(Route(path=NEWS_PATH, pages=[c["response_body"] for c in capture]))
    # a stratified slice of the PhraseBank keeps training quick (the full-size targets are
    # tested in tests/sentiment)
    corpus = tmp_path / "phrasebank_slice.txt"
    source = shared_data / "sentiment/financial_phrasebank/Sentences_AllAgree.txt"
    corpus.write_bytes(b"\n".join(source.read_bytes().splitlines()[::4]))
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "price_sources": PriceSourcesResource(),
        "news_sources": NewsSourcesResource(
            feeds_enabled=True,
            feeds_file=str(feed_list),
            news_dir=str(news_dir),
            alpaca_enabled=True,
            alpaca_api_key="test-key",
            alpaca_secret_key="test-secret",
            alpaca_data_url=alpaca.url,
            lookback_days=5000,
            symbols=["AAPL", "MSFT", "NVDA", "SPY"],
            timeout_s=2.0,
            retries=0,
        ),
        "sentiment_settings": SentimentSettingsResource(
            methods=["lexicon", "ml", "llm"],
            corpus_path=str(corpus),
            forest_trees=20,
            llm_providers=[LlmProviderConfig(name="fake", base_url=llm.base_url, model="m")],
            llm_batch_size=64,
        ),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            artifact_location=str(tmp_path / "mlartifacts"),
        ),
    }
    expected_urls = {a["url"] for a in aapl}
    for name in YAHOO_FILES:
        expected_urls |= {a["url"] for a in json.loads((news_dir / name).read_text())["articles"]}
    with open(news_dir / "cnbc_headlines.csv", encoding="utf-8", newline="") as handle:
        cnbc = {(d, _norm(t)) for d, t in list(csv.reader(handle))[1:]}
    expected = (
        len(expected_urls) + len(cnbc) + len({(r["publishedAt"], r["title"]) for r in reuters}) + 2
    )
    yield {
        "resources": resources,
        "feeds": feeds,
        "alpaca": alpaca,
        "llm": llm,
        "expected_articles": expected,
        "aapl": aapl,
        "db": tmp_path / "warehouse.duckdb",
    }
    llm.__exit__()
    alpaca.stop()
    feeds.stop()


def test_news_to_sentiment_bars_end_to_end_and_incremental(setup):
    instance = dg.DagsterInstance.ephemeral()
    run = {"instance": instance, "resources": setup["resources"]}
    first = dg.materialize(NEWS_ASSETS, **run)
    assert first.success

    with duckdb.connect(str(setup["db"]), read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM raw.news").fetchall()[0][0]
        sources = {
            origin.rsplit("/", 1)[-1]: (status, reason)
            for origin, status, reason in con.execute(
                "SELECT origin, status, reason FROM ops.news_sources"
            ).fetchall()
        }
        per_method = dict(
            con.execute("SELECT method, count(*) FROM ml.sentiment GROUP BY ALL").fetchall()
        )
        aapl_tickers = con.execute(
            "SELECT tickers FROM raw.news WHERE title = ?", [setup["aapl"][0]["title"]]
        ).fetchall()
        bars = con.execute(
            "SELECT timeframe, method, count(*), count(DISTINCT symbol) "
            "FROM features.sentiment_agg GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert articles == setup["expected_articles"]
    assert sources["aapl.rss"] == ("ok", None) and sources["news"] == ("ok", None)
    assert sources["consent"] == ("failed", "the URL returned an HTML page, not an RSS/Atom feed")
    assert sources["gone"] == ("failed", "HTTP 404")
    assert sources["bomb"][0] == "failed" and "entit" in sources["bomb"][1]
    assert sources["cnbc_headlines.csv"] == ("ok", None)
    assert per_method == {"lexicon": articles, "ml": articles, "llm": articles}
    # the AAPL feed and the AAPL file list the same pages: one row, tickers merged
    assert len(aapl_tickers) == 1 and "AAPL" in aapl_tickers[0][0]
    assert {(tf, m) for tf, m, _, _ in bars} == {
        (tf, m) for tf in ("1d", "1h") for m in ("lexicon", "llm", "ml")
    }

    checks = _checks(first)
    assert checks["unique_article_id"] and checks["published_at_not_in_future"]
    assert checks["score_in_range"]
    assert checks["news_sources_healthy"] is False  # three bad feeds, listed with reasons
    meta = _metadata(first, news.key)
    assert {p["origin"].rsplit("/", 1)[-1] for p in meta["source_problems"]} == {
        "consent",
        "gone",
        "bomb",
    }
    model_meta = _metadata(first, dg.AssetKey(["ml", "sentiment_model"]))
    assert model_meta["status"].startswith("trained")
    assert 0.5 < model_meta["linear_accuracy"] <= 1.0
    llm_texts_first = len(setup["llm"].texts_sent())
    # the fake server bills tokens like OpenAI; the asset reports them (priced by cost_metrics)
    assert _metadata(first, dg.AssetKey(["ml", "sentiment_scores"]))["llm_tokens"] > 0
    assert llm_texts_first <= articles  # identical titles are sent once

    # second poll: 304s, unchanged files, nothing new from Alpaca -> nothing written or
    # scored, every data version kept, the model not retrained, no LLM call
    second = dg.materialize(NEWS_ASSETS, **run)
    assert second.success
    for good in ("/aapl.rss", "/reuters.atom"):
        served = setup["feeds"].served_to(good)
        assert [s.status for s in served] == [200, 304]
        assert served[1].body_bytes == 0
    # feeds that failed to parse kept no validators: they are fetched in full again
    assert [s.status for s in setup["feeds"].served_to("/consent")] == [200, 200]
    for asset in NEWS_ASSETS:
        assert _version(second, asset.key) == _version(first, asset.key), asset.key
    assert _metadata(second, dg.AssetKey(["ml", "sentiment_scores"]))["scored_now"] == {
        "lexicon": 0,
        "ml": 0,
        "llm": 0,
    }
    assert _metadata(second, news.key)["rows_inserted"] == 0
    assert "not retrained" in _metadata(second, dg.AssetKey(["ml", "sentiment_model"]))["status"]
    assert len(setup["llm"].texts_sent()) == llm_texts_first

    # one new article in the AAPL feed: exactly it is stored and scored by each method
    fresh = {
        "title": "Apple shares rose after record iPhone sales",
        "url": "https://finance.yahoo.com/news/apple-record-iphone-sales-test.html",
        "publishedAt": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
    }
    setup["feeds"].routes["/aapl.rss"].body = rss_document([fresh, *setup["aapl"]])
    third = dg.materialize(NEWS_ASSETS, **run)
    assert third.success
    assert _metadata(third, news.key)["rows_inserted"] == 1
    assert _metadata(third, dg.AssetKey(["ml", "sentiment_scores"]))["scored_now"] == {
        "lexicon": 1,
        "ml": 1,
        "llm": 1,
    }
    assert setup["llm"].texts_sent()[llm_texts_first:] == [fresh["title"]]
    assert _version(third, news.key) != _version(first, news.key)
    with duckdb.connect(str(setup["db"]), read_only=True) as con:
        row = con.execute(
            "SELECT tickers, source FROM raw.news WHERE url = ?", [fresh["url"]]
        ).fetchall()
        hourly = con.execute(
            "SELECT count(*) FROM features.sentiment_agg WHERE symbol = 'AAPL' "
            "AND timeframe = '1h' AND ts = date_trunc('hour', ?::TIMESTAMPTZ)",
            [fresh["publishedAt"]],
        ).fetchall()[0][0]
    assert row == [(["AAPL"], "rss")]
    assert hourly == 3  # one bar per method for the new article's hour

    # the AAPL feed breaks: it is reported, and nothing it delivered before is lost
    setup["feeds"].routes["/aapl.rss"].status = 500
    fourth = dg.materialize([news], **run)
    assert _metadata(fourth, news.key)["rows"] == articles + 1
    assert _version(fourth, news.key) == _version(third, news.key)
    problems = _metadata(fourth, news.key)["source_problems"]
    assert {
        "origin": setup["feeds"].url("/aapl.rss"),
        "kind": "rss",
        "status": "failed",
        "reason": "HTTP 500 after 1 attempt",
    } in problems


def test_no_configured_source_is_zero_articles_said_plainly(tmp_path):
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "price_sources": PriceSourcesResource(),
        "news_sources": NewsSourcesResource(),
        "sentiment_settings": SentimentSettingsResource(),
        "mlflow": MlflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
    }
    result = dg.materialize(NEWS_ASSETS, resources=resources)
    assert result.success
    meta = _metadata(result, news.key)
    assert meta["rows"] == 0 and "zero articles" in meta["summary"]
    # no source, no corpus: every check says so instead of passing
    assert not any(_checks(result).values())
    said = [e.description for e in result.get_asset_check_evaluations()]
    assert all(d.startswith(("No source:", "Not trained:")) for d in said), said
    assert "not trained" in _metadata(result, dg.AssetKey(["ml", "sentiment_model"]))["status"]
    assert not (tmp_path / "mlflow.db").exists()  # nothing to score: MLflow never touched

    # the checks read the stored table: bad rows that got in make them fail
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        future = datetime.now(UTC) + timedelta(days=2)
        for article_id, when, tickers in (
            ("a1", future, []),
            ("a1", future, []),
            ("a2", future, ["X"]),
        ):
            con.execute(
                "INSERT INTO raw.news VALUES (?, ?, 'rss', 'P', 'T', NULL, NULL, ?, ?)",
                [article_id, when, tickers, when],
            )
    checks = _checks(dg.materialize([news], resources=resources))
    assert checks == {
        "unique_article_id": False,
        "published_at_not_in_future": False,
        "untagged_share": True,  # 2 of 3 untagged is under the default 0.9
        "news_sources_healthy": True,
    }
    strict = {**resources, "news_sources": NewsSourcesResource(max_untagged_share=0.5)}
    assert _checks(dg.materialize([news], resources=strict))["untagged_share"] is False
