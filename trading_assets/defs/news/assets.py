"""News and sentiment assets: ``raw/news``, ``ml/sentiment_model``, ``ml/sentiment_scores`` and
``features/sentiment_agg``, with their checks.

- ``raw/news`` collects every configured source (feeds concurrently, changed local files,
  Alpaca news), deduplicates against the stored rows and writes articles and the per-source
  report (``ops.news_sources``: status, reason, ETag/Last-Modified, file fingerprint) in ONE
  transaction. Its data version is the content hash of ``raw.news``: a poll that finds nothing
  new (304s, unchanged files) keeps it, so nothing downstream becomes stale.
- ``ml/sentiment_model`` trains the ``ml`` classifier on the configured corpus, logs it to
  MLflow and registers it (alias ``champion``). Its data version is the model's content hash:
  the same corpus and code are found in the registry and not trained again.
- ``ml/sentiment_scores`` scores only the articles without a score for (method, model version), in
  one transaction; nothing new to score means nothing written and the same data version.
- ``features/sentiment_agg`` rebuilds the per-symbol hourly/daily sentiment bars from the
  current model version of each method (see :mod:`trading_assets.sentiment.aggregate`).

The assets only read, call the logic and attach metadata. The logic, testable without
Dagster: collection settings and sources in :mod:`trading_assets.news.settings`, the
``raw.news``/``ops.news_sources`` reads and writes in :mod:`trading_assets.news.store`; which
articles each method scores and the scoring in :mod:`trading_assets.sentiment.scoring`, the
LLM cache in :mod:`trading_assets.sentiment.llm_cache`, the ``ml.sentiment`` and
``features.sentiment_agg`` plumbing in :mod:`trading_assets.sentiment.store`, training once
per corpus and code in :mod:`trading_assets.sentiment.training`.

No ``from __future__ import annotations`` here: Dagster reads the annotations at run time.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from trading_assets.defs import keys
from trading_assets.defs.metadata import (
    NO_SOURCE,
    markdown_rows,
    no_source_check,
    preview,
    write_metadata,
)
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.news.resources import NewsSourcesResource, SentimentSettingsResource
from trading_assets.defs.no_source import NO_NEWS_SOURCE
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.errors import TradingAssetsError
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.news import store as news_store
from trading_assets.news.ingest import NewsBatch
from trading_assets.news.settings import collect_configured
from trading_assets.sentiment import aggregate, scoring, training
from trading_assets.sentiment import store as sentiment_store
from trading_assets.warehouse.writes import transaction

# the keys live in defs/keys.py; these names stay for the modules that import them from here
NEWS_KEY = keys.NEWS
SENTIMENT_KEY = keys.SENTIMENT

#: Asset check names.
UNIQUE_ARTICLE_ID = "unique_article_id"
PUBLISHED_NOT_IN_FUTURE = "published_at_not_in_future"
UNTAGGED_SHARE = "untagged_share"
SOURCES_HEALTHY = "news_sources_healthy"
SCORE_IN_RANGE = "score_in_range"
TRAINED = "trained"


class NewsConfig(dg.Config):
    """Per-run knobs of ``raw/news``."""

    force_files: bool = False
    """Re-read local files even when their fingerprint is unchanged."""


def _price_symbols(context: dg.AssetExecutionContext, price_sources: PriceSourcesResource):
    """The symbols the price sources offer (configuration, not what the warehouse holds yet,
    so tagging does not depend on the order assets ran in)."""
    try:
        return price_sources.symbols()
    except TradingAssetsError as exc:
        context.log.warning(f"price symbols unavailable for tagging: {exc}")
        return []


def _no_news_source(configured: int, rows: int) -> str | None:
    """Why ``raw/news`` has no source (no source configured and no article stored), or None."""
    if configured or rows:
        return None
    return NO_NEWS_SOURCE


def _no_source_checks(no_source: str) -> list[dg.AssetCheckResult]:
    """The news checks when no news source is configured: they say so, they do not pass."""
    names = (UNIQUE_ARTICLE_ID, PUBLISHED_NOT_IN_FUTURE, UNTAGGED_SHARE, SOURCES_HEALTHY)
    return [no_source_check(name, no_source, {"rows": 0}) for name in names]


def _news_checks(
    health: news_store.NewsHealth,
    now: datetime,
    max_untagged: float,
    batch: NewsBatch,
    no_source: str | None = None,
) -> list[dg.AssetCheckResult]:
    if no_source:
        return _no_source_checks(no_source)
    failed = batch.problems("failed", with_status=False)
    degraded = batch.problems("degraded", with_status=False)
    share = health.untagged_share
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_ARTICLE_ID,
            passed=health.duplicate_ids == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": health.rows, "duplicate_ids": health.duplicate_ids},
        ),
        dg.AssetCheckResult(
            check_name=PUBLISHED_NOT_IN_FUTURE,
            passed=health.in_future == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_in_future": health.in_future, "now_utc": now.isoformat()},
        ),
        dg.AssetCheckResult(
            check_name=UNTAGGED_SHARE,
            passed=share <= max_untagged,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "untagged_share": dg.MetadataValue.float(round(share, 4)),
                "untagged": health.untagged,
                "rows": health.rows,
                "max_untagged_share": dg.MetadataValue.float(max_untagged),
            },
        ),
        dg.AssetCheckResult(
            check_name=SOURCES_HEALTHY,
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "failed": len(failed),
                "degraded": len(degraded),
                "failures": dg.MetadataValue.json(failed),
                "degraded_sources": dg.MetadataValue.json(degraded),
            },
        ),
    ]


@dg.asset(
    key=keys.NEWS,
    description="Deduplicated news articles (RSS/Atom feeds, Alpaca news, local files), "
    "tagged with tickers. One row per article_id.",
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_ARTICLE_ID, asset=keys.NEWS, description="article_id is unique."),
        dg.AssetCheckSpec(
            PUBLISHED_NOT_IN_FUTURE,
            asset=keys.NEWS,
            description="No article is published after now (+5 min clock skew).",
        ),
        dg.AssetCheckSpec(
            UNTAGGED_SHARE,
            asset=keys.NEWS,
            description="Share of articles without tickers (warns above max_untagged_share).",
        ),
        dg.AssetCheckSpec(
            SOURCES_HEALTHY,
            asset=keys.NEWS,
            description="Every news source of this run was read (failures listed with reasons).",
        ),
    ],
    metadata={"table": "raw.news"},
)
@metered
def news(
    context: dg.AssetExecutionContext,
    config: NewsConfig,
    warehouse: WarehouseResource,
    news_sources: NewsSourcesResource,
    price_sources: PriceSourcesResource,
) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    settings = news_sources.settings()
    sources = settings.sources()
    with warehouse.connect() as con:
        state = news_store.read_source_state(con)
    price_symbols = _price_symbols(context, price_sources) if settings.needs_price_symbols else []
    batch = collect_configured(
        settings,
        sources,
        state,
        price_symbols=price_symbols,
        now=now,
        force_files=config.force_files,
    )
    for report in batch.by_status("failed", "degraded"):
        context.log.warning(f"news source {report.origin}: {report.status}: {report.reason}")
    with warehouse.connect() as con, transaction(con):
        result = news_store.write_batch(con, batch, now)
        health = news_store.news_health(con, now)
        per_source, latest = news_store.per_source(con), news_store.latest_articles(con)
    no_source = _no_news_source(sources.configured, result.rows)
    metadata = {
        **write_metadata(result, no_source),
        "summary": dg.MetadataValue.text(news_store.news_summary(sources.configured, result)),
        "sources_configured": dg.MetadataValue.int(sources.configured),
        "articles_read": dg.MetadataValue.int(batch.records),
        "articles_after_dedup": dg.MetadataValue.int(batch.articles.height),
        "source_status": dg.MetadataValue.json(batch.status_counts()),
        "source_problems": dg.MetadataValue.json(batch.problems("failed", "degraded")),
        "per_source": preview(per_source, n=20),
        "latest": preview(latest),
    }
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(result.data_version),
        check_results=_news_checks(health, now, settings.max_untagged_share, batch, no_source),
    )


def _model_metadata(trained: training.ModelTraining) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "corpus": dg.MetadataValue.path(trained.corpus.origin),
        "corpus_sentences": dg.MetadataValue.int(trained.corpus.frame.height),
        "model_version": dg.MetadataValue.text(trained.model_version),
        "status": dg.MetadataValue.text(trained.status),
    }
    if trained.outcome is not None:
        rows = trained.held_out_rows()
        metadata["held_out"] = markdown_rows(rows)
        for name, value in trained.metric_values().items():
            metadata[name] = dg.MetadataValue.float(value)
    metadata["model_uri"] = dg.MetadataValue.text(trained.registered.model_uri)
    metadata["mlflow_run_id"] = dg.MetadataValue.text(trained.registered.run_id)
    return metadata


@dg.asset(
    key=keys.SENTIMENT_MODEL,
    description="The ml news-sentiment classifier (TF-IDF + linear vs random forest), trained "
    "on the configured labelled corpus, logged to MLflow and registered (alias `champion`).",
    group_name="news",
    kinds={"mlflow", "scikitlearn"},
    check_specs=[
        dg.AssetCheckSpec(
            TRAINED,
            asset=keys.SENTIMENT_MODEL,
            description="A model was trained (or its registered version reused); says "
            "`not trained` with the reason (not a pass) when there is no labelled corpus.",
        )
    ],
)
@metered
def sentiment_model(
    context: dg.AssetExecutionContext,
    sentiment_settings: SentimentSettingsResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    settings = sentiment_settings.settings()
    reason = settings.training_skip_reason()
    if reason is not None:
        status = f"not trained: {reason}; ml scoring off"
        flag = {NO_SOURCE: dg.MetadataValue.text(status)}
        return dg.MaterializeResult(
            metadata={"status": dg.MetadataValue.text(status), **flag},
            data_version=dg.DataVersion("untrained"),
            check_results=[no_source_check(TRAINED, reason, {"trained": 0}, "Not trained")],
        )
    trained = training.train_or_reuse(settings, mlflow.tracking_uri, mlflow.artifact_location)
    if trained.outcome is not None:
        context.log.info("held-out evaluation:\n" + trained.outcome.table())
    return dg.MaterializeResult(
        metadata=_model_metadata(trained),
        data_version=dg.DataVersion(trained.model_version),
        check_results=[
            dg.AssetCheckResult(check_name=TRAINED, passed=True, metadata={"trained": 1})
        ],
    )


@dg.asset(
    key=keys.SENTIMENT,
    description="Sentiment score per article, method (lexicon, ml, llm) and model version; "
    "only unscored (article, method, model version) are scored.",
    deps=[keys.NEWS, keys.SENTIMENT_MODEL],
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            SCORE_IN_RANGE,
            asset=keys.SENTIMENT,
            description="Every score is in [-1, 1] and every confidence in [0, 1].",
        )
    ],
    metadata={"table": "ml.sentiment"},
)
@metered
def sentiment(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sentiment_settings: SentimentSettingsResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    settings = sentiment_settings.settings()
    with warehouse.connect() as con:
        plan = scoring.plan_scoring(con, settings, mlflow.tracking_uri)
    run = scoring.run_scoring(plan, mlflow.tracking_uri, now)
    for note in run.notes:
        context.log.info(note)
    with warehouse.connect() as con, transaction(con):
        result = sentiment_store.write_scores(con, run.scores, run.llm_cache)
        bad = sentiment_store.out_of_range_scores(con)
        versions = sentiment_store.score_versions(con)
    check = dg.AssetCheckResult(
        check_name=SCORE_IN_RANGE,
        passed=bad == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_out_of_range": bad, "rows": result.rows},
    )
    if result.rows == 0:  # nothing scored: say so rather than pass
        why = "no article has been scored on this profile"
        check = no_source_check(SCORE_IN_RANGE, why, {"rows": 0})
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "scored_now": dg.MetadataValue.json(run.scored),
            "llm_tokens": dg.MetadataValue.int(run.llm_tokens),
            "skipped": dg.MetadataValue.json(run.skipped),
            "versions": preview(versions, n=20),
        },
        data_version=dg.DataVersion(result.data_version),
        check_results=[check],
    )


@dg.asset(
    key=keys.SENTIMENT_AGG,
    description="News sentiment per symbol per hour and per day (mean score, count, positive/"
    "negative share, novelty) for the current model version of each method. A bar at ts holds "
    "articles published in [ts, ts + timeframe) and is known at ts + timeframe.",
    deps=[keys.SENTIMENT, keys.NEWS],
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": "features.sentiment_agg"},
)
@metered
def sentiment_agg(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sentiment_settings: SentimentSettingsResource,
) -> dg.MaterializeResult:
    settings = sentiment_settings.settings()
    with warehouse.connect() as con:
        tagged, scores = sentiment_store.read_aggregation_inputs(con)
    bars = aggregate.aggregate_sentiment(
        tagged, scores, timeframes=settings.timeframes, novelty_window=settings.novelty_window
    )
    with warehouse.connect() as con:
        result = sentiment_store.write_bars(con, bars)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "bars": preview(aggregate.bar_summary(bars), n=20),
            "tagged_articles": dg.MetadataValue.int(tagged.height),
        },
        data_version=dg.DataVersion(result.data_version),
    )


NEWS_ASSETS = [news, sentiment_model, sentiment, sentiment_agg]
