"""The news resources carry configuration only: each has the fields and defaults of its plain
settings class, and ``settings()`` hands them over (secrets resolved, never shown)."""

from __future__ import annotations

from dataclasses import MISSING, fields

import dagster as dg
import pytest

from trading_assets.defs.news.resources import (
    LlmProviderConfig,
    NewsSourcesResource,
    SentimentSettingsResource,
)
from trading_assets.news.settings import NewsSourceSettings
from trading_assets.sentiment.settings import LlmEndpoint, SentimentSettings


def _defaults(settings_class) -> dict:
    out = {}
    for f in fields(settings_class):
        value = f.default if f.default is not MISSING else f.default_factory()
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


@pytest.mark.parametrize(
    ("resource_class", "settings_class"),
    [(NewsSourcesResource, NewsSourceSettings), (SentimentSettingsResource, SentimentSettings)],
)
def test_resource_fields_and_defaults_match_the_plain_settings(resource_class, settings_class):
    resource_defaults = {
        name: field.get_default(call_default_factory=True)
        for name, field in resource_class.model_fields.items()
    }
    assert resource_defaults == _defaults(settings_class)


def test_settings_hand_over_every_field(monkeypatch):
    monkeypatch.setenv("TEST_ALPACA_SECRET", "very-secret")
    resource = NewsSourcesResource(
        alpaca_enabled=True,
        alpaca_api_key="key-id",
        alpaca_secret_key=dg.EnvVar("TEST_ALPACA_SECRET"),
        symbols=["AAPL"],
        lookback_days=9,
    )
    resolved = resource.process_config_and_initialize().settings()
    assert resolved.alpaca_secret_key == "very-secret" and resolved.lookback_days == 9
    assert resolved.symbols == ["AAPL"] and "very-secret" not in repr(resolved)

    sentiment = SentimentSettingsResource(
        methods=["lexicon", "llm"],
        llm_providers=[LlmProviderConfig(name="a", base_url="http://127.0.0.1:1", model="m")],
    ).settings()
    assert sentiment.methods == ["lexicon", "llm"]
    assert sentiment.llm_providers == (LlmEndpoint("a", "http://127.0.0.1:1", "m"),)
