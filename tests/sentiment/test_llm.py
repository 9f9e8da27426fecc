"""The LLM chain against fake OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.sentiment.fake_llm import FakeLlm
from trading_assets.errors import ConfigurationError
from trading_assets.sentiment.llm import (
    LlmProvider,
    LlmSentimentChain,
    content_hash,
    providers_from_env,
)

TEXTS = [
    "Operating profit rose to EUR 13.1 mn",
    "Net loss widened as sales fell",
    "The company is based in Espoo",
    "Shares hit a record high",
    "Operating profit rose to EUR 13.1 mn",  # the same text again
    "Guidance cut for 2021",
    "Annual general meeting on Tuesday",
]


def test_fallback_batching_and_cache():
    with FakeLlm("error") as broken, FakeLlm("garbage") as babbling, FakeLlm("ok") as good:
        chain = LlmSentimentChain(
            [
                LlmProvider("primary", broken.base_url, "big-model", api_key="sk-secret-1"),
                LlmProvider("secondary", babbling.base_url, "mid-model"),
                LlmProvider("local", good.base_url, "small-model", api_key="sk-secret-3"),
            ],
            batch_size=3,
            retries=1,
            backoff_s=0.01,
        )
        answers, new, stats = chain.score(TEXTS)
        assert [a.label for a in answers] == [
            "positive",
            "negative",
            "neutral",
            "positive",
            "positive",
            "negative",
            "neutral",
        ]
        assert {a.provider for a in answers} == {"local"} and answers[0].model == "small-model"
        assert len(new) == 6  # the repeated text was sent once
        assert sorted(good.texts_sent()) == sorted(set(TEXTS))
        assert stats.requests == {"primary": 2, "secondary": 2, "local": 2}  # 6 texts / 3
        # tokens billed by the two servers that answered (the garbage answers cost too)
        billed = sum(
            len(json.dumps(r["body"]).encode()) // 4 for r in good.requests + babbling.requests
        )
        assert billed / 2 < stats.tokens < billed * 2
        assert len(broken.requests) == 4  # one retry per batch on HTTP 500
        assert good.requests[0]["headers"]["authorization"] == "Bearer sk-secret-3"
        assert "authorization" not in babbling.requests[0]["headers"]
        assert good.requests[0]["body"]["model"] == "small-model"
        assert good.requests[0]["path"] == "/v1/chat/completions"

        # a second run with the cache sends nothing at all
        before = len(good.requests) + len(broken.requests) + len(babbling.requests)
        again, fresh, stats2 = chain.score(TEXTS, cache=new)
        assert [a.label for a in again] == [a.label for a in answers]
        assert fresh == {} and stats2.cached == len(TEXTS) and stats2.sent == 0
        assert len(good.requests) + len(broken.requests) + len(babbling.requests) == before
        assert set(new) == {content_hash(t) for t in TEXTS}
    assert "sk-secret" not in repr(chain.providers)


def test_incomplete_answers_fall_back_and_total_failure_leaves_texts_unscored():
    with FakeLlm("partial") as partial, FakeLlm("error") as broken:
        chain = LlmSentimentChain(
            [LlmProvider("p", partial.base_url, "m"), LlmProvider("b", broken.base_url, "m")],
            retries=0,
        )
        answers, new, stats = chain.score(TEXTS[:3])
    assert answers == [None, None, None] and new == {} and stats.unscored == 3
    assert "1 of 3 items unanswered" in stats.failures["p"][0]
    assert stats.failures["b"] == ["HTTP 500"]


def test_model_version_and_configuration():
    a = LlmSentimentChain([LlmProvider("a", "http://127.0.0.1:1/v1", "m1")])
    b = LlmSentimentChain([LlmProvider("a", "http://127.0.0.1:1/v1", "m2")])
    assert a.model_version != b.model_version and a.model_version.startswith("llm-p1-")
    with pytest.raises(ConfigurationError):
        LlmSentimentChain([])
    with pytest.raises(ConfigurationError):
        LlmProvider("x", "ftp://host", "m")
    env = {
        "TRADING_LLM_PROVIDERS": "openai, local-vllm",
        "TRADING_LLM_OPENAI_BASE_URL": "https://api.openai.com/v1",
        "TRADING_LLM_OPENAI_MODEL": "gpt-4o-mini",
        "TRADING_LLM_LOCAL_VLLM_BASE_URL": "http://127.0.0.1:8000/v1",
        "TRADING_LLM_LOCAL_VLLM_MODEL": "qwen",
    }
    providers = providers_from_env(env)
    assert [p["name"] for p in providers] == ["openai", "local-vllm"]
    assert providers[1]["api_key_env"] == "TRADING_LLM_LOCAL_VLLM_API_KEY"
    with pytest.raises(ConfigurationError, match="TRADING_LLM_OPENAI_MODEL"):
        providers_from_env({**env, "TRADING_LLM_OPENAI_MODEL": ""})
