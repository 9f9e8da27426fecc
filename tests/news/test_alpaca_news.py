"""Alpaca news against a local server replaying alpaca-py's recorded news responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.sources.alpaca_replay import ReplayServer, Route
from trading_assets.errors import ConfigurationError, SourceUnavailableError
from trading_assets.news.alpaca_news import NEWS_PATH, AlpacaNewsClient
from trading_assets.news.articles import articles_frame

KEY, SECRET = "test-key-PKNEWS", "test-secret-SKNEWS"
NOW = datetime(2024, 11, 8, tzinfo=UTC)


def news_pages(shared_data) -> list[dict]:
    path = shared_data / "alpaca" / "alpaca_py_historical_news_data_responses.json"
    return [entry["response_body"] for entry in json.loads(path.read_text())]


def client(server: ReplayServer, **changes) -> AlpacaNewsClient:
    options = {
        "api_key": KEY,
        "secret_key": SECRET,
        "data_url": server.url,
        "backoff_s": 0.001,
        "max_backoff_s": 0.01,
        "timeout_s": 5,
    }
    return AlpacaNewsClient(**{**options, **changes})


def test_paginated_news_become_records(shared_data):
    pages = news_pages(shared_data)
    with ReplayServer() as server:
        route = server.add(Route(path=NEWS_PATH, pages=pages, statuses=[429]))
        records = client(server).records(
            ["AAPL", "CWAN"], datetime(2024, 8, 1, tzinfo=UTC), NOW, fetched_at=NOW
        )
        requests = server.requests_to(route.path)
    assert len(records) == 2
    # one 429 retried, then page 1, then page 2 asked for with page 1's token
    assert len(requests) == 3
    assert requests[2].page_token == pages[0]["next_page_token"]
    first = requests[1]
    assert first.query["symbols"] == "AAPL,CWAN" and first.query["limit"] == "50"
    assert first.query["start"] == "2024-08-01T00:00:00Z"
    assert first.headers["apca-api-key-id"] == KEY
    assert first.headers["apca-api-secret-key"] == SECRET
    real = records[1]
    assert real["title"].startswith("Piper Sandler Maintains Neutral on Clearwater Analytics")
    assert real["publisher"] == "benzinga" and real["tickers"] == ["CWAN"]
    assert real["published_at"] == datetime(2024, 11, 7, 9, 16, 41, tzinfo=UTC)
    frame = articles_frame(records)
    # the placeholder page has url "https://": no URL, so keyed by title + publisher + day
    assert frame["url"].to_list() == [None, real["url"]]
    assert frame["tickers"][0].to_list() == ["AAPL", "QCOM"]


def test_keys_are_required_and_never_shown(shared_data):
    with pytest.raises(ConfigurationError, match="ALPACA_API_KEY"):
        AlpacaNewsClient(api_key=None, secret_key=None)
    with ReplayServer() as server:
        server.add(Route(path=NEWS_PATH, pages=[{}], always_status=503))
        news = client(server, retries=1)
        assert SECRET not in repr(news) and KEY not in repr(news)
        with pytest.raises(SourceUnavailableError, match="HTTP 503") as info:
            news.records(fetched_at=NOW)
        assert SECRET not in str(info.value)
        assert len(server.requests) == 2
        server.routes.clear()
        server.add(Route(path=NEWS_PATH, pages=[{}], always_status=403))
        with pytest.raises(ConfigurationError, match="403"):
            news.records(fetched_at=NOW)
