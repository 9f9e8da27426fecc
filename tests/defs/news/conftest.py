"""The news Dagster tests never see a developer's news/LLM/Alpaca settings (no internet)."""

from __future__ import annotations

import os

import pytest

_PREFIXES = ("TRADING_NEWS_", "TRADING_LLM_", "TRADING_SENTIMENT_", "TRADING_ALPACA_NEWS")
_NAMES = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "ALPACA_DATA_URL")


@pytest.fixture(autouse=True)
def _clean_news_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _NAMES:
            monkeypatch.delenv(name)
