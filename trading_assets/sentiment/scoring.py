"""Which articles each sentiment method scores, and the scoring itself (no Dagster).

A method is scored under a model version: ``lexicon`` under the dictionary's
(:class:`~trading_assets.sentiment.lexicon.LexiconScorer`), ``ml`` under the registered
champion's (:mod:`~trading_assets.sentiment.tracking`), ``llm`` under the provider chain's
(:class:`~trading_assets.sentiment.llm.LlmSentimentChain`). Only articles without a score for
(method, model version) are scored, so a run that finds nothing new scores nothing.

Two steps, so the warehouse connection is not held while models run or LLMs answer:
:func:`plan_scoring` reads what is to do (and the LLM answers already cached),
:func:`run_scoring` scores it. The caller writes the result
(:func:`trading_assets.sentiment.store.write_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from trading_assets import schemas
from trading_assets.sentiment import lexicon, llm_cache, ml, store, tracking
from trading_assets.sentiment.llm import LlmAnswer
from trading_assets.sentiment.settings import SentimentSettings

#: Columns of one method's scores, in order.
SCORE_SCHEMA: dict[str, pl.DataType] = {
    "score": pl.Float64(),
    "label": pl.String(),
    "confidence": pl.Float64(),
}


def article_texts(frame: pl.DataFrame, how: str) -> list[str]:
    """The text scored per row of ``frame`` (``title``, ``summary``): ``title_summary`` ->
    ``"<title>. <summary>"`` (the summary alone when it starts with the title, the title
    alone without a summary); anything else -> the title."""
    if how == "title_summary":
        return [
            f"{t}. {s}" if s and not s.startswith(t) else (s or t)
            for t, s in zip(frame["title"].to_list(), frame["summary"].to_list(), strict=True)
        ]
    return frame["title"].to_list()


@dataclass(frozen=True)
class MethodScorer:
    """A method ready to score.

    Attributes:
        method: ``lexicon``, ``ml`` or ``llm``.
        model_version: the version its scores are stored under.
        scorer: a :class:`~trading_assets.sentiment.lexicon.LexiconScorer`, the champion's
            :class:`~trading_assets.sentiment.tracking.RegisteredModel` (loaded when used) or
            an :class:`~trading_assets.sentiment.llm.LlmSentimentChain`.
    """

    method: str
    model_version: str
    scorer: Any


def resolve_method(
    method: str, settings: SentimentSettings, tracking_uri: str
) -> MethodScorer | str:
    """The scorer of ``method``, or why it is skipped (no registered ``ml`` model, no LLM
    provider, an unknown method). The MLflow store is only opened when it exists.

    Raises:
        ConfigurationError: a bad LLM provider (see
            :meth:`~trading_assets.sentiment.settings.SentimentSettings.llm_chain`).
    """
    if method == "lexicon":
        scorer = lexicon.LexiconScorer(settings.lexicon_threshold)
        return MethodScorer(method, scorer.model_version, scorer)
    if method == "ml":
        best = (
            tracking.champion(tracking_uri, settings.model_name)
            if tracking.store_exists(tracking_uri)
            else None
        )
        if best is None:
            return "no registered model (materialize ml/sentiment_model)"
        return MethodScorer(method, best.model_version, best)
    if method == "llm":
        chain = settings.llm_chain()
        if chain is None:
            return "no LLM provider configured"
        return MethodScorer(method, chain.model_version, chain)
    return "unknown method"


@dataclass
class MethodPlan:
    """One method's work: the articles to score (``article_id``, ``title``, ``summary``,
    ``source``), their texts, for ``llm`` the answers already cached (content hash ->
    answer), and for ``ml`` the domain each article is scored as (None: the model's first;
    :meth:`~trading_assets.sentiment.settings.SentimentSettings.domains_of`)."""

    scorer: MethodScorer
    todo: pl.DataFrame
    texts: list[str]
    cache: dict[str, LlmAnswer] = field(default_factory=dict)
    domains: list[str] | None = None


@dataclass
class ScoringPlan:
    """What :func:`run_scoring` does.

    Attributes:
        methods: the methods with articles to score, in the settings' order.
        skipped: method -> why it is not scored.
        scored: method -> 0 for every method that resolved (filled in by the run).
    """

    methods: list[MethodPlan] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)


def plan_scoring(
    con: duckdb.DuckDBPyConnection, settings: SentimentSettings, tracking_uri: str
) -> ScoringPlan:
    """The unscored articles of each configured method (tables created when missing). With
    no article stored every method is skipped before its scorer is built (MLflow is not
    touched).

    Raises:
        ConfigurationError: a bad LLM provider.
    """
    store.ensure_scoring_tables(con)
    plan = ScoringPlan()
    articles_stored = store.count_articles(con)
    for method in settings.methods:
        if articles_stored == 0:
            plan.skipped[method] = "no articles"
            continue
        resolved = resolve_method(method, settings, tracking_uri)
        if isinstance(resolved, str):
            plan.skipped[method] = resolved
            continue
        todo = store.unscored_articles(con, method, resolved.model_version)
        plan.scored[method] = 0
        if todo.height:
            texts = article_texts(todo, settings.text)
            cache = llm_cache.read_cache(con, texts) if method == "llm" else {}
            domains = settings.domains_of(todo["source"].to_list()) if method == "ml" else None
            plan.methods.append(MethodPlan(resolved, todo, texts, cache, domains))
    return plan


@dataclass
class ScoringRun:
    """What :func:`run_scoring` produced.

    Attributes:
        scores: new ``ml.sentiment`` rows (schema
            :data:`~trading_assets.schemas.SENTIMENT_SCHEMA`, ``scored_at`` UTC).
        llm_cache: new ``ml.llm_sentiment_cache`` rows (may be empty).
        scored: method -> articles scored now.
        skipped: method -> why it was not (fully) scored.
        llm_tokens: LLM tokens billed.
        notes: lines worth logging (LLM cache hits and requests).
    """

    scores: pl.DataFrame
    llm_cache: pl.DataFrame
    scored: dict[str, int]
    skipped: dict[str, str]
    llm_tokens: int = 0
    notes: list[str] = field(default_factory=list)


def _score_llm(
    job: MethodPlan, run: ScoringRun, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores of ``job``'s articles the chain answered, and those articles."""
    answers, new, stats = job.scorer.scorer.score(job.texts, job.cache)
    run.llm_tokens += stats.tokens
    run.llm_cache = llm_cache.cache_rows(new, now)
    keep = [i for i, a in enumerate(answers) if a is not None]
    result = pl.DataFrame(
        {
            "score": [answers[i].score for i in keep],
            "label": [answers[i].label for i in keep],
            "confidence": [answers[i].confidence for i in keep],
        },
        schema=SCORE_SCHEMA,
    )
    if stats.unscored:
        run.skipped[job.scorer.method] = (
            f"{stats.unscored} texts unscored, every provider failed: {stats.failures}"
        )
    run.notes.append(
        f"llm: {stats.cached} from cache, {stats.sent} sent, requests {stats.requests}"
    )
    return result, job.todo[keep]


def run_scoring(plan: ScoringPlan, tracking_uri: str, now: datetime) -> ScoringRun:
    """Score ``plan``'s articles: ``lexicon`` in process, ``ml`` with the champion loaded
    from MLflow (each article as the domain its source kind is routed to), ``llm`` through
    the chain (cached answers reused; texts every provider failed on stay unscored and are
    tried again next run).

    Args:
        plan: from :func:`plan_scoring`.
        tracking_uri: the MLflow store of the ``ml`` model.
        now: the ``scored_at`` and cache ``created_at`` stamp (aware UTC).

    Raises:
        ValueError: the registered ``ml`` model lacks a sentiment class.
    """
    run = ScoringRun(
        scores=pl.DataFrame(schema=schemas.SENTIMENT_SCHEMA),
        llm_cache=pl.DataFrame(schema=schemas.LLM_CACHE_SCHEMA),
        scored=dict(plan.scored),
        skipped=dict(plan.skipped),
    )
    frames: list[pl.DataFrame] = []
    for job in plan.methods:
        method, version, todo = job.scorer.method, job.scorer.model_version, job.todo
        if method == "ml":
            model = tracking.load_model(tracking_uri, job.scorer.scorer)
            result = ml.MlScorer(model, version).score(job.texts, job.domains)
        elif method == "llm":
            result, todo = _score_llm(job, run, now)
        else:
            result = job.scorer.scorer.score(job.texts)
        frames.append(
            pl.concat([todo.select("article_id"), result], how="horizontal").with_columns(
                pl.lit(method).alias("method"),
                pl.lit(version).alias("model_version"),
                pl.lit(now, dtype=schemas.UTC_TS).alias("scored_at"),
            )
        )
        run.scored[method] = todo.height
    if frames:
        run.scores = pl.concat(frames).select(list(schemas.SENTIMENT_SCHEMA))
    return run
