"""News and sentiment assets: ``raw/news``, ``ml/sentiment_model``, ``ml/sentiment`` and
``features/sentiment_agg``, with their checks.

- ``raw/news`` collects every configured source (feeds concurrently, changed local files,
  Alpaca news), deduplicates against the stored rows and writes articles and the per-source
  report (``ops.news_sources``: status, reason, ETag/Last-Modified, file fingerprint) in ONE
  transaction. Its data version is the content hash of ``raw.news``: a poll that finds nothing
  new (304s, unchanged files) keeps it, so nothing downstream becomes stale.
- ``ml/sentiment_model`` trains the ``ml`` classifier on the configured corpus, logs it to
  MLflow and registers it (alias ``champion``). Its data version is the model's content hash:
  the same corpus and code are found in the registry and not trained again.
- ``ml/sentiment`` scores only the articles without a score for (method, model version), in
  one transaction; nothing new to score means nothing written and the same data version.
- ``features/sentiment_agg`` rebuilds the per-symbol hourly/daily sentiment bars from the
  current model version of each method (see :mod:`trading_assets.sentiment.aggregate`).

No ``from __future__ import annotations`` here: Dagster reads the annotations at run time.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import polars as pl

from trading_assets import schemas
from trading_assets.defs import keys
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.mlflow_resource import MlflowResource
from trading_assets.defs.news.resources import NewsSourcesResource, SentimentSettingsResource
from trading_assets.defs.prices.resources import PriceSourcesResource
from trading_assets.defs.resources import WarehouseResource
from trading_assets.errors import TradingAssetsError
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.news.dedup import merge_stored
from trading_assets.news.ingest import NewsBatch, collect_news
from trading_assets.sentiment import aggregate, corpus, lexicon, llm, ml, tracking
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import replace_scope, transaction, upsert_rows

NEWS_KEY = keys.NEWS
MODEL_KEY = keys.SENTIMENT_MODEL
SENTIMENT_KEY = keys.SENTIMENT
AGG_KEY = keys.SENTIMENT_AGG

#: Asset check names.
UNIQUE_ARTICLE_ID = "unique_article_id"
PUBLISHED_NOT_IN_FUTURE = "published_at_not_in_future"
UNTAGGED_SHARE = "untagged_share"
SOURCES_HEALTHY = "news_sources_healthy"
SCORE_IN_RANGE = "score_in_range"

#: Clock skew allowed before a publication time counts as "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)


class NewsConfig(dg.Config):
    """Per-run knobs of ``raw/news``."""

    force_files: bool = False
    """Re-read local files even when their fingerprint is unchanged."""


def _md_table(rows: list[dict[str, Any]], columns: list[str]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _state(con) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str]]:
    rows = con.execute(
        "SELECT origin, etag, last_modified, fingerprint FROM ops.news_sources"
    ).fetchall()
    validators = {origin: (etag, modified) for origin, etag, modified, _ in rows}
    fingerprints = {origin: fp for origin, _, _, fp in rows if fp}
    return validators, fingerprints


def _price_symbols(context: dg.AssetExecutionContext, price_sources: PriceSourcesResource):
    """The symbols the price sources offer (configuration, not what the warehouse holds yet,
    so tagging does not depend on the order assets ran in)."""
    try:
        return price_sources.symbols()
    except TradingAssetsError as exc:
        context.log.warning(f"price symbols unavailable for tagging: {exc}")
        return []


def _news_checks(con, now: datetime, max_untagged: float, batch: NewsBatch):
    total, distinct, future, untagged = con.execute(
        "SELECT count(*), count(DISTINCT article_id), "
        "count(*) FILTER (WHERE published_at > ?), "
        "count(*) FILTER (WHERE len(tickers) = 0) FROM raw.news",
        [now + FUTURE_TOLERANCE],
    ).fetchall()[0]
    share = (untagged / total) if total else 0.0
    failed = [
        {"origin": r.origin, "kind": r.kind, "reason": r.reason} for r in batch.by_status("failed")
    ]
    degraded = [
        {"origin": r.origin, "kind": r.kind, "reason": r.reason}
        for r in batch.by_status("degraded")
    ]
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_ARTICLE_ID,
            passed=total == distinct,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": total, "duplicate_ids": total - distinct},
        ),
        dg.AssetCheckResult(
            check_name=PUBLISHED_NOT_IN_FUTURE,
            passed=future == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_in_future": future, "now_utc": now.isoformat()},
        ),
        dg.AssetCheckResult(
            check_name=UNTAGGED_SHARE,
            passed=share <= max_untagged,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "untagged_share": dg.MetadataValue.float(round(share, 4)),
                "untagged": untagged,
                "rows": total,
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
    key=NEWS_KEY,
    description="Deduplicated news articles (RSS/Atom feeds, Alpaca news, local files), "
    "tagged with tickers. One row per article_id.",
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_ARTICLE_ID, asset=NEWS_KEY, description="article_id is unique."),
        dg.AssetCheckSpec(
            PUBLISHED_NOT_IN_FUTURE,
            asset=NEWS_KEY,
            description="No article is published after now (+5 min clock skew).",
        ),
        dg.AssetCheckSpec(
            UNTAGGED_SHARE,
            asset=NEWS_KEY,
            description="Share of articles without tickers (warns above max_untagged_share).",
        ),
        dg.AssetCheckSpec(
            SOURCES_HEALTHY,
            asset=NEWS_KEY,
            description="Every news source of this run was read (failures listed with reasons).",
        ),
    ],
    metadata={"table": "raw.news"},
)
def news(
    context: dg.AssetExecutionContext,
    config: NewsConfig,
    warehouse: WarehouseResource,
    news_sources: NewsSourcesResource,
    price_sources: PriceSourcesResource,
) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    feeds = news_sources.feeds()
    news_files = news_sources.files()
    alpaca = news_sources.alpaca_client()
    with warehouse.connect() as con:
        for table in ("raw.news", "ops.news_sources"):
            ensure_table(con, table)
        validators, fingerprints = _state(con)
        latest_alpaca = con.execute(
            "SELECT max(published_at) FROM raw.news WHERE source = 'alpaca'"
        ).fetchall()[0][0]
    start = now - timedelta(days=news_sources.lookback_days)
    if latest_alpaca is not None:
        start = max(start, latest_alpaca.astimezone(UTC) - timedelta(hours=1))
    batch = collect_news(
        feeds=feeds,
        feed_state=validators,
        fetch_options=news_sources.fetch_options(),
        files=news_files,
        known_fingerprints={} if config.force_files else fingerprints,
        alpaca=alpaca,
        alpaca_symbols=news_sources.alpaca_symbols,
        alpaca_start=start,
        tagger=news_sources.tagger(
            [] if news_sources.symbols is not None else _price_symbols(context, price_sources)
        ),
        now=now,
    )
    for report in batch.by_status("failed", "degraded"):
        context.log.warning(f"news source {report.origin}: {report.status}: {report.reason}")
    reports = pl.DataFrame(
        [r.as_row(now) for r in batch.reports], schema=schemas.NEWS_SOURCES_SCHEMA
    )
    with warehouse.connect() as con, transaction(con):
        con.register("__news_batch_ids", batch.articles.select("article_id"))
        try:
            stored = con.sql(
                "SELECT * FROM raw.news WHERE article_id IN "
                "(SELECT article_id FROM __news_batch_ids)"
            ).pl()
        finally:
            con.unregister("__news_batch_ids")
        merged = merge_stored(batch.articles, stored)
        result = upsert_rows(con, "raw.news", merged, schemas.NEWS_KEY)
        if reports.height:
            upsert_rows(con, "ops.news_sources", reports, schemas.NEWS_SOURCES_KEY)
        checks = _news_checks(con, now, news_sources.max_untagged_share, batch)
        per_source = con.sql(
            "SELECT source, count(*) AS articles, min(published_at) AS first, "
            "max(published_at) AS last FROM raw.news GROUP BY ALL ORDER BY source"
        ).pl()
        latest = con.sql(
            "SELECT published_at, publisher, title, tickers FROM raw.news "
            "ORDER BY published_at DESC, article_id LIMIT 5"
        ).pl()
    statuses = reports.group_by("status").len().sort("status") if reports.height else None
    configured = len(feeds) + len(news_files) + (alpaca is not None)
    if configured == 0:
        summary = (
            "No news source is configured (feeds off, no news folder, no Alpaca keys): "
            "zero articles. Enable feeds with TRADING_NEWS_FEEDS=on or point "
            "TRADING_NEWS_DIR at a folder of news files."
        )
    elif result.rows == 0:
        summary = f"{configured} news sources configured, but none delivered an article yet."
    else:
        summary = (
            f"{result.inserted} new and {result.updated} updated articles from "
            f"{configured} sources; {result.rows} stored."
        )
    problems = [
        {"origin": r.origin, "kind": r.kind, "status": r.status, "reason": r.reason}
        for r in batch.by_status("failed", "degraded")
    ]
    metadata = {
        **write_metadata(result),
        "summary": dg.MetadataValue.text(summary),
        "sources_configured": dg.MetadataValue.int(configured),
        "articles_read": dg.MetadataValue.int(batch.records),
        "articles_after_dedup": dg.MetadataValue.int(batch.articles.height),
        "source_status": dg.MetadataValue.json(
            dict(statuses.iter_rows()) if statuses is not None else {}
        ),
        "source_problems": dg.MetadataValue.json(problems),
        "per_source": preview(per_source, n=20),
        "latest": preview(latest.sort("published_at")),
    }
    return dg.MaterializeResult(
        metadata=metadata, data_version=dg.DataVersion(result.data_version), check_results=checks
    )


def _mlflow_store_exists(mlflow: MlflowResource) -> bool:
    uri = mlflow.tracking_uri
    if uri.startswith("sqlite:///"):
        from pathlib import Path

        return Path(uri.removeprefix("sqlite:///")).exists()
    return True


def _evaluation_md(outcome: Any) -> dg.MetadataValue:
    rows = [
        {
            "model": name + (" (registered)" if name == outcome.winner else ""),
            "accuracy": f"{ev.accuracy:.4f}",
            "macro_f1": f"{ev.macro_f1:.4f}",
            "confusion (rows true neg/neu/pos)": str(ev.confusion),
        }
        for name, ev in outcome.held_out.items()
    ]
    return _md_table(rows, list(rows[0]))


@dg.asset(
    key=MODEL_KEY,
    description="The ml news-sentiment classifier (TF-IDF + linear vs random forest), trained "
    "on the configured labelled corpus, logged to MLflow and registered (alias champion).",
    group_name="news",
    kinds={"mlflow", "scikitlearn"},
)
def sentiment_model(
    context: dg.AssetExecutionContext,
    sentiment_settings: SentimentSettingsResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    if "ml" not in sentiment_settings.methods or not sentiment_settings.corpus_path:
        reason = (
            "ml method not selected"
            if "ml" not in sentiment_settings.methods
            else "no labelled corpus configured (set TRADING_SENTIMENT_CORPUS)"
        )
        return dg.MaterializeResult(
            metadata={"status": dg.MetadataValue.text(f"not trained: {reason}; ml scoring off")},
            data_version=dg.DataVersion("untrained"),
        )
    labelled = corpus.load_corpus(sentiment_settings.corpus_path)
    config = sentiment_settings.training_config()
    version = ml.model_version(labelled.content_hash, config)
    name = sentiment_settings.model_name
    registered = tracking.find_registered(mlflow.tracking_uri, version, name)
    metadata: dict[str, Any] = {
        "corpus": dg.MetadataValue.path(labelled.origin),
        "corpus_sentences": dg.MetadataValue.int(labelled.frame.height),
        "model_version": dg.MetadataValue.text(version),
    }
    if registered is not None:
        tracking.promote(mlflow.tracking_uri, registered)
        metadata["status"] = dg.MetadataValue.text(
            f"already trained and registered as {registered.model_uri}; not retrained"
        )
    else:
        scorer = lexicon.LexiconScorer(sentiment_settings.lexicon_threshold)
        outcome = ml.train_sentiment_models(
            labelled.texts,
            labelled.labels,
            corpus_hash=labelled.content_hash,
            config=config,
            baseline=scorer.predict,
        )
        registered = tracking.log_training(
            outcome,
            tracking_uri=mlflow.tracking_uri,
            artifact_location=mlflow.artifact_location,
            corpus=labelled.origin,
            model_name=name,
        )
        context.log.info("held-out evaluation:\n" + outcome.table())
        metadata["status"] = dg.MetadataValue.text(f"trained; winner {outcome.winner}")
        metadata["held_out"] = _evaluation_md(outcome)
        for cand, ev in outcome.held_out.items():
            metadata[f"{cand}_accuracy"] = dg.MetadataValue.float(round(ev.accuracy, 4))
            metadata[f"{cand}_macro_f1"] = dg.MetadataValue.float(round(ev.macro_f1, 4))
    metadata["model_uri"] = dg.MetadataValue.text(registered.model_uri)
    metadata["mlflow_run_id"] = dg.MetadataValue.text(registered.run_id)
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(version))


def _texts(frame: pl.DataFrame, how: str) -> list[str]:
    if how == "title_summary":
        return [
            f"{t}. {s}" if s and not s.startswith(t) else (s or t)
            for t, s in zip(frame["title"].to_list(), frame["summary"].to_list(), strict=True)
        ]
    return frame["title"].to_list()


def _unscored(con, method: str, model_version: str) -> pl.DataFrame:
    return con.sql(
        "SELECT n.article_id, n.title, n.summary FROM raw.news n "
        "WHERE NOT EXISTS (SELECT 1 FROM ml.sentiment s WHERE s.article_id = n.article_id "
        "AND s.method = ? AND s.model_version = ?) ORDER BY n.article_id",
        params=[method, model_version],
    ).pl()


def _llm_cache(con, texts: list[str]) -> dict[str, Any]:
    """Known LLM answers (content hash -> LlmAnswer) for ``texts``."""
    hashes = sorted({llm.content_hash(t) for t in texts})
    con.register(
        "__llm_hashes", pl.DataFrame({"content_hash": hashes}, schema={"content_hash": pl.String})
    )
    try:
        known = con.execute(
            "SELECT content_hash, score, label, confidence, provider, model "
            "FROM ml.llm_sentiment_cache WHERE prompt_version = ? AND content_hash IN "
            "(SELECT content_hash FROM __llm_hashes)",
            [llm.PROMPT_VERSION],
        ).fetchall()
    finally:
        con.unregister("__llm_hashes")
    return {h: llm.LlmAnswer(s, lab, c, p, m) for h, s, lab, c, p, m in known}


def _cache_rows(new: dict[str, Any], now: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "content_hash": h,
                "prompt_version": llm.PROMPT_VERSION,
                "score": a.score,
                "label": a.label,
                "confidence": a.confidence,
                "provider": a.provider,
                "model": a.model,
                "created_at": now,
            }
            for h, a in new.items()
        ],
        schema=schemas.LLM_CACHE_SCHEMA,
    )


_SCORES = {"score": pl.Float64, "label": pl.String, "confidence": pl.Float64}


@dg.asset(
    key=SENTIMENT_KEY,
    description="Sentiment score per article, method (lexicon, ml, llm) and model version; "
    "only unscored (article, method, model version) are scored.",
    deps=[NEWS_KEY, MODEL_KEY],
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            SCORE_IN_RANGE,
            asset=SENTIMENT_KEY,
            description="Every score is in [-1, 1] and every confidence in [0, 1].",
        )
    ],
    metadata={"table": "ml.sentiment"},
)
def sentiment(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sentiment_settings: SentimentSettingsResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    skipped: dict[str, str] = {}
    scored: dict[str, int] = {}
    plans: list[tuple[str, str, Any, pl.DataFrame, dict[str, Any]]] = []
    with warehouse.connect() as con:
        for table in ("raw.news", "ml.sentiment", "ml.llm_sentiment_cache"):
            ensure_table(con, table)
        articles_stored = con.execute("SELECT count(*) FROM raw.news").fetchall()[0][0]
        for method in sentiment_settings.methods:
            if articles_stored == 0:
                skipped[method] = "no articles"
                continue
            scorer: Any = None
            if method == "lexicon":
                scorer = lexicon.LexiconScorer(sentiment_settings.lexicon_threshold)
                version = scorer.model_version
            elif method == "ml":
                best = (
                    tracking.champion(mlflow.tracking_uri, sentiment_settings.model_name)
                    if _mlflow_store_exists(mlflow)
                    else None
                )
                if best is None:
                    skipped[method] = "no registered model (materialize ml/sentiment_model)"
                    continue
                scorer, version = best, best.model_version
            elif method == "llm":
                scorer = sentiment_settings.llm_chain()
                if scorer is None:
                    skipped[method] = "no LLM provider configured"
                    continue
                version = scorer.model_version
            else:
                skipped[method] = "unknown method"
                continue
            todo = _unscored(con, method, version)
            scored[method] = 0
            if todo.height:
                texts = _texts(todo, sentiment_settings.text)
                cache = _llm_cache(con, texts) if method == "llm" else {}
                plans.append((method, version, scorer, todo, cache))
    frames: list[pl.DataFrame] = []
    cache_rows: pl.DataFrame | None = None
    llm_tokens = 0
    for method, version, scorer, todo, cache in plans:
        texts = _texts(todo, sentiment_settings.text)
        if method == "ml":
            model = tracking.load_model(mlflow.tracking_uri, scorer)
            result = ml.MlScorer(model, version).score(texts)
        elif method == "llm":
            answers, new, stats = scorer.score(texts, cache)
            llm_tokens += stats.tokens
            cache_rows = _cache_rows(new, now)
            keep = [i for i, a in enumerate(answers) if a is not None]
            result = pl.DataFrame(
                {
                    "score": [answers[i].score for i in keep],
                    "label": [answers[i].label for i in keep],
                    "confidence": [answers[i].confidence for i in keep],
                },
                schema=_SCORES,
            )
            todo = todo[keep]
            if stats.unscored:
                skipped[method] = (
                    f"{stats.unscored} texts unscored, every provider failed: {stats.failures}"
                )
            context.log.info(
                f"llm: {stats.cached} from cache, {stats.sent} sent, requests {stats.requests}"
            )
        else:
            result = scorer.score(texts)
        frames.append(
            pl.concat([todo.select("article_id"), result], how="horizontal").with_columns(
                pl.lit(method).alias("method"),
                pl.lit(version).alias("model_version"),
                pl.lit(now, dtype=schemas.UTC_TS).alias("scored_at"),
            )
        )
        scored[method] = todo.height
    incoming = (
        pl.concat(frames).select(list(schemas.SENTIMENT_SCHEMA))
        if frames
        else pl.DataFrame(schema=schemas.SENTIMENT_SCHEMA)
    )
    with warehouse.connect() as con, transaction(con):
        result_write = upsert_rows(con, "ml.sentiment", incoming, schemas.SENTIMENT_KEY)
        if cache_rows is not None and cache_rows.height:
            upsert_rows(con, "ml.llm_sentiment_cache", cache_rows, schemas.LLM_CACHE_KEY)
        bad = con.execute(
            "SELECT count(*) FROM ml.sentiment WHERE NOT (score BETWEEN -1 AND 1) "
            "OR isnan(score) OR NOT (confidence BETWEEN 0 AND 1) OR isnan(confidence)"
        ).fetchall()[0][0]
        versions = con.sql(
            "SELECT method, model_version, count(*) AS articles, avg(score) AS mean_score "
            "FROM ml.sentiment GROUP BY ALL ORDER BY ALL"
        ).pl()
    check = dg.AssetCheckResult(
        check_name=SCORE_IN_RANGE,
        passed=bad == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_out_of_range": bad},
    )
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result_write),
            "scored_now": dg.MetadataValue.json(scored),
            "llm_tokens": dg.MetadataValue.int(llm_tokens),
            "skipped": dg.MetadataValue.json(skipped),
            "versions": preview(versions, n=20),
        },
        data_version=dg.DataVersion(result_write.data_version),
        check_results=[check],
    )


@dg.asset(
    key=AGG_KEY,
    description="News sentiment per symbol per hour and per day (mean score, count, positive/"
    "negative share, novelty) for the current model version of each method. A bar at ts holds "
    "articles published in [ts, ts + timeframe) and is known at ts + timeframe.",
    deps=[SENTIMENT_KEY, NEWS_KEY],
    group_name="news",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": "features.sentiment_agg"},
)
def sentiment_agg(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sentiment_settings: SentimentSettingsResource,
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        for table in ("raw.news", "ml.sentiment", "features.sentiment_agg"):
            ensure_table(con, table)
        tagged = con.sql(
            "SELECT article_id, published_at, title, tickers FROM raw.news WHERE len(tickers) > 0"
        ).pl()
        scores = con.sql(
            "WITH current AS (SELECT method, arg_max(model_version, scored_at) AS model_version "
            "FROM ml.sentiment GROUP BY method) "
            "SELECT s.article_id, s.method, s.model_version, s.score, s.label "
            "FROM ml.sentiment s JOIN current USING (method, model_version)"
        ).pl()
    bars = aggregate.aggregate_sentiment(
        tagged,
        scores,
        timeframes=sentiment_settings.timeframes,
        novelty_window=timedelta(hours=sentiment_settings.novelty_window_hours),
    )
    with warehouse.connect() as con:
        result = replace_scope(con, "features.sentiment_agg", bars, {})
    summary = (
        bars.group_by("timeframe", "method")
        .agg(
            pl.len().alias("bars"),
            pl.col("symbol").n_unique().alias("symbols"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
        )
        .sort("timeframe", "method")
    )
    return dg.MaterializeResult(
        metadata={
            **write_metadata(result),
            "bars": preview(summary, n=20),
            "tagged_articles": dg.MetadataValue.int(tagged.height),
        },
        data_version=dg.DataVersion(result.data_version),
    )


NEWS_ASSETS = [news, sentiment_model, sentiment, sentiment_agg]
