"""News source settings without Dagster: the environment, the files found, the Alpaca window,
tagging and one collection pass over real Yahoo files."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trading_assets import settings
from trading_assets.errors import ConfigurationError
from trading_assets.news.fetch import DEFAULT_MAX_IN_FLIGHT
from trading_assets.news.settings import (
    NewsSourceSettings,
    SourceState,
    collect_configured,
    news_environment,
    parse_feeds_setting,
    parse_flag,
    parse_list,
)

YAHOO = Path("news") / "yahoo_per_symbol_2025-12"
NOW = datetime(2025, 12, 27, 12, tzinfo=UTC)


def test_flags_lists_and_the_feeds_setting(tmp_path):
    assert parse_flag("X", None, True) is True and parse_flag("X", " ON ", False) is True
    assert parse_flag("X", "", True) is False and parse_flag("X", "no", True) is False
    with pytest.raises(ConfigurationError, match="X='maybe'"):
        parse_flag("X", "maybe", False)
    assert parse_list(None) is None and parse_list(" AAPL, ,MSFT ") == ["AAPL", "MSFT"]
    assert parse_feeds_setting(None) == (False, None) == parse_feeds_setting("off")
    assert parse_feeds_setting("on") == (True, None)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("", encoding="utf-8")
    assert parse_feeds_setting(str(feeds)) == (True, str(feeds))
    with pytest.raises(ConfigurationError, match="TRADING_NEWS_FEEDS"):
        parse_feeds_setting(str(tmp_path / "missing.toml"))


def test_environment_enables_alpaca_news_by_default_only_live_with_keys():
    keys = {"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s"}
    assert news_environment(keys, "live").alpaca_enabled is True
    assert news_environment(keys, "demo").alpaca_enabled is False
    assert news_environment({}, "live").alpaca_enabled is False
    assert news_environment({**keys, "TRADING_ALPACA_NEWS": "off"}, "live").alpaca_enabled is False
    env = news_environment(
        {"TRADING_ALPACA_NEWS_SYMBOLS": "AAPL,TSLA", "TRADING_NEWS_SYMBOLS": "AAPL"}, "demo"
    )
    assert env.alpaca_symbols == ["AAPL", "TSLA"] and env.symbols == ["AAPL"]
    assert news_environment({}, "demo").alpaca_symbols == [] and env.feeds_enabled is False
    with pytest.raises(ConfigurationError, match="TRADING_ALPACA_NEWS"):
        news_environment({"TRADING_ALPACA_NEWS": "perhaps"}, "live")


def test_requests_in_flight_and_parse_workers_from_the_environment():
    plain = news_environment({}, "demo")
    assert plain.max_in_flight == DEFAULT_MAX_IN_FLIGHT == NewsSourceSettings().concurrency
    assert settings.NEWS_MAX_IN_FLIGHT.default == str(DEFAULT_MAX_IN_FLIGHT)
    assert plain.parse_workers is None and NewsSourceSettings().parse_workers is None
    env = news_environment(
        {"TRADING_NEWS_MAX_IN_FLIGHT": " 48 ", "TRADING_NEWS_PARSE_WORKERS": "0"}, "demo"
    )
    assert (env.max_in_flight, env.parse_workers) == (48, 0)
    for name, value, message in (
        ("TRADING_NEWS_MAX_IN_FLIGHT", "0", "at least 1"),
        ("TRADING_NEWS_MAX_IN_FLIGHT", "many", "not a whole number"),
        ("TRADING_NEWS_PARSE_WORKERS", "-1", "at least 0"),
    ):
        with pytest.raises(ConfigurationError, match=f"{name}='{value}'.*{message}"):
            news_environment({name: value}, "demo")
    assert NewsSourceSettings(concurrency=48).fetch_options()["concurrency"] == 48


def test_files_from_the_news_folder_and_the_inbox_once_each(tmp_path, shared_data):
    news_dir, inbox = tmp_path / "news", tmp_path / "inbox"
    news_dir.mkdir()
    inbox.mkdir()
    for name in ("AAPL_news_20251223.json", "MSFT_news_20251223.json"):
        shutil.copy(shared_data / YAHOO / name, news_dir / name)
    shutil.copy(shared_data / YAHOO / "NVDA_news_20251224.json", inbox)
    settings = NewsSourceSettings(news_dir=str(news_dir), inbox_dir=str(inbox))
    assert [(p.name, kind) for p, kind in settings.files()] == [
        ("AAPL_news_20251223.json", "yahoo_json"),
        ("MSFT_news_20251223.json", "yahoo_json"),
        ("NVDA_news_20251224.json", "yahoo_json"),
    ]
    # the inbox inside the news folder: its files are not listed twice
    nested = NewsSourceSettings(news_dir=str(tmp_path), inbox_dir=str(inbox))
    assert len(nested.files()) == 3
    assert NewsSourceSettings(inbox_dir=str(tmp_path / "no-inbox")).files() == []
    with pytest.raises(ConfigurationError, match="does not exist"):
        NewsSourceSettings(news_dir=str(tmp_path / "missing")).files()


def test_sources_alpaca_client_and_window():
    assert NewsSourceSettings().sources().configured == 0
    assert NewsSourceSettings().remote_configured is False
    with pytest.raises(ConfigurationError, match="API keys"):
        NewsSourceSettings(alpaca_enabled=True).alpaca_client()
    settings = NewsSourceSettings(
        alpaca_enabled=True,
        alpaca_api_key="key-id",
        alpaca_secret_key="very-secret",
        alpaca_data_url="http://127.0.0.1:9",
        lookback_days=3,
    )
    client = settings.alpaca_client()
    assert client is not None and client.data_url == "http://127.0.0.1:9"
    assert settings.sources().configured == 1 and settings.remote_configured
    assert "very-secret" not in repr(settings) and "very-secret" not in repr(client)
    assert settings.alpaca_start(NOW, None) == NOW - timedelta(days=3)
    recent = NOW - timedelta(hours=5)
    assert settings.alpaca_start(NOW, recent) == recent - timedelta(hours=1)
    assert settings.alpaca_start(NOW, NOW - timedelta(days=30)) == NOW - timedelta(days=3)


def test_tagger_uses_explicit_symbols_or_price_symbols_and_aliases():
    explicit = NewsSourceSettings(symbols=["MSFT"])
    assert not explicit.needs_price_symbols
    assert explicit.tagger(["AAPL"]).tag("Apple and AAPL rally; MSFT flat") == ["MSFT"]
    default = NewsSourceSettings()
    assert default.needs_price_symbols
    assert "AAPL" in default.tagger(["AAPL"]).tag("Apple unveils a new phone")


def test_collect_configured_reads_changed_files_only_unless_forced(tmp_path, shared_data):
    news_dir = tmp_path / "news"
    news_dir.mkdir()
    shutil.copy(shared_data / YAHOO / "AAPL_news_20251223.json", news_dir)
    settings = NewsSourceSettings(news_dir=str(news_dir), symbols=["AAPL"])
    sources = settings.sources()
    first = collect_configured(settings, sources, SourceState(), price_symbols=[], now=NOW)
    assert first.articles.height > 0 and first.status_counts() == {"ok": 1}
    (report,) = first.reports
    seen = SourceState(fingerprints={report.origin: report.fingerprint})
    again = collect_configured(settings, sources, seen, price_symbols=[], now=NOW)
    assert again.articles.height == 0 and again.status_counts() == {"unchanged": 1}
    forced = collect_configured(
        settings, sources, seen, price_symbols=[], now=NOW, force_files=True
    )
    assert forced.articles.height == first.articles.height
    assert forced.report_frame(NOW)["checked_at"].to_list() == [NOW]
