"""The news domain in the code location: assets, sensor and resources from the environment,
and the shipped feed list (read, never fetched)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import dagster as dg
import pytest

from trading_assets.definitions import build_definitions
from trading_assets.defs.news.resources import NewsSourcesResource
from trading_assets.defs.news.sensors import news_poll
from trading_assets.errors import ConfigurationError
from trading_assets.news.feedlist import DEFAULT_FEEDS_FILE, load_feed_list

NEWS_KEYS = {"raw/news", "ml/sentiment_model", "ml/sentiment_scores", "features/sentiment_agg"}


def test_news_assets_sensor_and_resources_are_wired(home):
    defs = build_definitions()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys >= NEWS_KEYS
    assert defs.resolve_sensor_def("news_poll") is not None
    sources = defs.resources["news_sources"]
    assert sources.feeds_enabled is False and sources.alpaca_enabled is False  # demo: offline
    assert defs.resources["sentiment_settings"].methods == ["lexicon", "ml"]
    assert defs.resources["mlflow"].tracking_uri == f"sqlite:///{home / 'mlflow.db'}"


def test_feeds_and_llm_are_enabled_by_environment(home, monkeypatch, tmp_path):
    monkeypatch.setenv("TRADING_NEWS_FEEDS", "on")
    monkeypatch.setenv("TRADING_LLM_PROVIDERS", "local")
    monkeypatch.setenv("TRADING_LLM_LOCAL_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("TRADING_LLM_LOCAL_MODEL", "qwen")
    defs = build_definitions()
    assert defs.resources["news_sources"].feeds_enabled is True
    assert defs.resources["news_sources"].feeds_file is None  # the shipped list
    settings = defs.resources["sentiment_settings"]
    assert settings.methods == ["lexicon", "ml", "llm"]
    assert [p.model for p in settings.llm_providers] == ["qwen"]

    custom = tmp_path / "feeds.toml"
    custom.write_text('[[feed]]\nname = "x"\nurl = "http://127.0.0.1:9/x"\n', encoding="utf-8")
    monkeypatch.setenv("TRADING_NEWS_FEEDS", str(custom))
    assert build_definitions().resources["news_sources"].feeds_file == str(custom)
    monkeypatch.setenv("TRADING_NEWS_FEEDS", "maybe")
    with pytest.raises(ConfigurationError, match="TRADING_NEWS_FEEDS"):
        build_definitions()


def test_requests_in_flight_and_parse_workers_reach_the_resource(home, monkeypatch):
    sources = build_definitions().resources["news_sources"]
    assert (sources.concurrency, sources.parse_workers) == (128, None)
    monkeypatch.setenv("TRADING_NEWS_MAX_IN_FLIGHT", "40")
    monkeypatch.setenv("TRADING_NEWS_PARSE_WORKERS", "0")
    settings = build_definitions().resources["news_sources"].settings()
    assert settings.fetch_options()["concurrency"] == 40 and settings.parse_workers == 0
    monkeypatch.setenv("TRADING_NEWS_PARSE_WORKERS", "two")
    with pytest.raises(ConfigurationError, match="TRADING_NEWS_PARSE_WORKERS='two'"):
        build_definitions()


def test_poll_sensor_skips_without_remote_sources_and_requests_news_with_them():
    for enabled, expect_run in ((False, False), (True, True)):
        context = dg.build_sensor_context(
            resources={"news_sources": NewsSourcesResource(feeds_enabled=enabled)}
        )
        result = news_poll(context)
        if expect_run:
            assert [r.asset_selection for r in result.run_requests] == [
                [dg.AssetKey(["raw", "news"])]
            ]
        else:
            assert isinstance(result, dg.SkipReason)


def test_shipped_feed_list():
    feeds = load_feed_list(DEFAULT_FEEDS_FILE)
    assert len(feeds) >= 40
    assert len({f.url for f in feeds}) == len(feeds) == len({f.name for f in feeds})
    assert all(urlsplit(f.url).scheme in ("http", "https") for f in feeds)
    classes = Counter(f.asset_class for f in feeds)
    assert classes["crypto"] >= 10 and classes["equity"] >= 10 and classes["macro"] >= 3
    assert {"AAPL", "BTC/USD", "ETH/USD"} <= {s for f in feeds for s in f.symbols}
    assert len({urlsplit(f.url).hostname for f in feeds}) >= 20  # many publishers


def test_feed_list_errors_name_the_entry(tmp_path):
    bad = tmp_path / "feeds.toml"
    bad.write_text('[[feed]]\nname = "a"\nurl = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="entry 1 \\(a\\)"):
        load_feed_list(bad)
    bad.write_text('[[feed]]\nname = "a"\nurl = "http://x"\nasset_class = "bonds"\n')
    with pytest.raises(ConfigurationError, match="asset_class"):
        load_feed_list(bad)
