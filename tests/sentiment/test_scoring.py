"""Which articles each method scores, the scoring, the LLM cache and the sentiment tables,
without Dagster: a warehouse file, real Yahoo articles, a fake LLM server on 127.0.0.1 and a
throw-away MLflow store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.news.feed_server import yahoo_articles
from tests.sentiment.fake_llm import FakeLlm
from trading_assets import schemas
from trading_assets.errors import ConfigurationError
from trading_assets.news.articles import articles_frame
from trading_assets.news.dedup import dedupe
from trading_assets.sentiment import aggregate, llm_cache, scoring, store, tracking
from trading_assets.sentiment.llm import content_hash
from trading_assets.sentiment.settings import (
    LlmEndpoint,
    SentimentSettings,
    sentiment_environment,
)
from trading_assets.warehouse.connection import connect
from trading_assets.warehouse.writes import transaction, upsert_rows

NOW = datetime(2025, 12, 27, 12, tzinfo=UTC)


def _store_articles(con, articles) -> int:
    frame = dedupe(
        articles_frame(
            [
                {
                    "published_at": datetime.fromisoformat(a["publishedAt"].replace("Z", "+00:00")),
                    "source": "yahoo_json",
                    "publisher": a["publisher"],
                    "title": a["title"],
                    "summary": a.get("summary"),
                    "url": a["url"],
                    "tickers": [a["symbol"]],
                    "fetched_at": NOW,
                }
                for a in articles
            ]
        )
    )
    return upsert_rows(con, "raw.news", frame, schemas.NEWS_KEY).rows


def _score_once(con, settings: SentimentSettings, uri: str, now: datetime = NOW):
    plan = scoring.plan_scoring(con, settings, uri)
    run = scoring.run_scoring(plan, uri, now)
    with transaction(con):
        written = store.write_scores(con, run.scores, run.llm_cache)
    return plan, run, written


@pytest.fixture
def warehouse(tmp_path: Path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        yield con


def test_texts_scored():
    frame = pl.DataFrame(
        {"title": ["Up", "Down", "Flat"], "summary": ["Up and away", "Sales fell", None]}
    )
    assert scoring.article_texts(frame, "title") == ["Up", "Down", "Flat"]
    assert scoring.article_texts(frame, "title_summary") == [
        "Up and away",
        "Down. Sales fell",
        "Flat",
    ]


def test_no_articles_skips_every_method_without_touching_mlflow(warehouse, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = SentimentSettings(methods=("lexicon", "ml", "llm"))
    plan, run, written = _score_once(warehouse, settings, uri)
    assert plan.skipped == dict.fromkeys(("lexicon", "ml", "llm"), "no articles")
    assert plan.methods == [] and run.scored == {} and written.rows == 0
    assert not (tmp_path / "mlflow.db").exists()
    assert store.out_of_range_scores(warehouse) == 0


def test_lexicon_scores_only_unscored_articles_and_other_methods_say_why_not(
    warehouse, tmp_path, shared_data
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    stored = _store_articles(warehouse, yahoo_articles(shared_data, "AAPL")[:8])
    settings = SentimentSettings(methods=("lexicon", "ml", "llm", "vibes"))
    plan, run, written = _score_once(warehouse, settings, uri)
    assert plan.skipped == {
        "ml": "no registered model (materialize ml/sentiment_model)",
        "llm": "no LLM provider configured",
        "vibes": "unknown method",
    }
    assert run.scored == {"lexicon": stored} and written.inserted == stored
    assert run.scores.schema == pl.Schema(schemas.SENTIMENT_SCHEMA)
    assert run.scores["scored_at"].to_list() == [NOW] * stored
    assert run.llm_cache.height == 0 and not (tmp_path / "mlflow.db").exists()

    _store_articles(warehouse, yahoo_articles(shared_data, "AAPL")[8:9])
    plan, run, again = _score_once(warehouse, settings, uri, NOW + timedelta(hours=1))
    assert [job.todo.height for job in plan.methods] == [1] and run.scored == {"lexicon": 1}
    assert again.inserted == 1 and again.rows == stored + 1
    versions = store.score_versions(warehouse)
    assert versions["method"].to_list() == ["lexicon"]
    assert versions["articles"].to_list() == [stored + 1]


def test_llm_answers_are_cached_by_text_across_runs(warehouse, tmp_path, shared_data):
    articles = yahoo_articles(shared_data, "MSFT")[:5]
    _store_articles(warehouse, articles)
    with FakeLlm("ok") as llm:
        settings = SentimentSettings(
            methods=("llm",), llm_providers=(LlmEndpoint("fake", llm.base_url, "m"),)
        )
        plan, run, written = _score_once(warehouse, settings, "sqlite:///unused.db")
        sent = len(llm.texts_sent())
        assert run.scored == {"llm": 5} and written.rows == 5 and run.llm_tokens > 0
        assert 0 < sent <= 5 and run.llm_cache.height == sent
        assert run.notes and run.notes[0].startswith("llm: 0 from cache")
        texts = scoring.article_texts(plan.methods[0].todo, "title")
        known = llm_cache.read_cache(warehouse, texts)
        assert set(known) == {content_hash(t) for t in texts}

        # a copy of an article under a new URL: scored from the cache, nothing sent
        copy = {**articles[0], "url": articles[0]["url"] + "-copy", "title": articles[0]["title"]}
        _store_articles(warehouse, [copy])
        _, again, _ = _score_once(warehouse, settings, "sqlite:///unused.db")
        assert again.scored == {"llm": 1} and again.llm_cache.height == 0
        assert len(llm.texts_sent()) == sent
    with FakeLlm("error") as broken:
        down = SentimentSettings(
            methods=("llm",), llm_providers=(LlmEndpoint("down", broken.base_url, "m"),)
        )
        _store_articles(warehouse, yahoo_articles(shared_data, "NVDA")[:1])
        _, failed, _ = _score_once(warehouse, down, "sqlite:///unused.db")
    # a new chain is a new model version: every article is to do, the cached ones answered
    assert failed.scored == {"llm": 6} and "1 texts unscored" in failed.skipped["llm"]


def test_ml_scores_with_the_registered_champion(
    warehouse, tmp_path, shared_data, allagree_outcome, allagree
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered = tracking.log_training(
        allagree_outcome,
        tracking_uri=uri,
        artifact_location=str(tmp_path / "artifacts"),
        corpus=allagree.origin,
    )
    stored = _store_articles(warehouse, yahoo_articles(shared_data, "NVDA")[:4])
    plan, run, _ = _score_once(warehouse, SentimentSettings(methods=("ml",)), uri)
    assert plan.methods[0].scorer.model_version == registered.model_version
    assert run.scored == {"ml": stored}
    assert set(run.scores["model_version"]) == {registered.model_version}
    assert run.scores["score"].is_between(-1, 1).all()
    assert plan.methods[0].domains is None  # no source kind routed
    # routed by source kind: the plan carries each article's domain; a single-domain model
    # scores the same whatever the domain
    store.ensure_scoring_tables(warehouse)
    warehouse.execute("DELETE FROM ml.sentiment")
    routed = SentimentSettings(methods=("ml",), source_domains={"yahoo_json": "tweets"})
    plan, again, _ = _score_once(warehouse, routed, uri)
    assert plan.methods[0].domains == ["tweets"] * stored
    assert again.scores["score"].to_list() == run.scores["score"].to_list()


def test_aggregation_reads_the_current_version_of_each_method(warehouse, tmp_path, shared_data):
    _store_articles(warehouse, yahoo_articles(shared_data, "AAPL")[:6])
    settings = SentimentSettings(methods=("lexicon",))
    _score_once(warehouse, settings, "sqlite:///unused.db")
    newer = SentimentSettings(methods=("lexicon",), lexicon_threshold=0.5)
    _score_once(warehouse, newer, "sqlite:///unused.db", NOW + timedelta(days=1))
    tagged, scores = store.read_aggregation_inputs(warehouse)
    assert tagged.height == 6 and scores.height == 6
    current = scoring.resolve_method("lexicon", newer, "sqlite:///unused.db")
    assert set(scores["model_version"]) == {current.model_version}
    bars = aggregate.aggregate_sentiment(tagged, scores, timeframes=settings.timeframes)
    first = store.write_bars(warehouse, bars)
    assert first.rows == bars.height > 0
    assert store.write_bars(warehouse, bars).data_version == first.data_version
    summary = aggregate.bar_summary(bars)
    assert summary["timeframe"].to_list() == ["1d", "1h"]
    assert summary["symbols"].to_list() == [1, 1]


def test_settings_environment_training_and_chain():
    env = sentiment_environment({})
    assert env.methods == ["lexicon", "ml"] and env.llm_providers == []
    env = sentiment_environment(
        {
            "TRADING_SENTIMENT_METHODS": "lexicon",
            "TRADING_LLM_PROVIDERS": "local",
            "TRADING_LLM_LOCAL_BASE_URL": "http://127.0.0.1:8000/v1",
            "TRADING_LLM_LOCAL_MODEL": "qwen",
        }
    )
    assert env.methods == ["lexicon", "llm"]
    assert env.llm_providers[0]["api_key_env"] == "TRADING_LLM_LOCAL_API_KEY"
    assert env.source_domains == {}
    routed = sentiment_environment(
        {"TRADING_SENTIMENT_SOURCE_DOMAINS": "stocktwits=tweets, rss = headlines"}
    )
    assert routed.source_domains == {"stocktwits": "tweets", "rss": "headlines"}
    with pytest.raises(ConfigurationError, match="'stocktwits' is not source_kind=domain"):
        sentiment_environment({"TRADING_SENTIMENT_SOURCE_DOMAINS": "stocktwits"})
    routing = SentimentSettings(source_domains={"stocktwits": "tweets"})
    assert routing.domains_of(["stocktwits", "rss", None]) == ["tweets", "", ""]
    assert SentimentSettings().domains_of(["stocktwits"]) is None

    assert SentimentSettings().training_skip_reason() == (
        "no labelled corpus configured (set TRADING_SENTIMENT_CORPUS)"
    )
    assert SentimentSettings(methods=("lexicon",)).training_skip_reason() == (
        "ml method not selected"
    )
    assert SentimentSettings(corpus_path="x.txt").training_skip_reason() is None
    assert SentimentSettings(seed=7).training_config().seed == 7
    assert SentimentSettings().novelty_window == timedelta(hours=24)
    assert SentimentSettings().llm_chain() is None
    # a bad endpoint is refused when the chain is built, not before
    bad = SentimentSettings(llm_providers=(LlmEndpoint("x", "ftp://h", "m", api_key="sk-1"),))
    assert "sk-1" not in repr(bad)
    with pytest.raises(ConfigurationError, match="base_url"):
        bad.llm_chain()
